// Strided operand views without a GPU: the kernel parameters BSHD, BHSD and packed-QKV slices
// produce, the layout rules every family shares (named operand, the rule), the tensor-map rules
// can_implement adds for TMA families, `auto` passing over a family the layout rules out, and
// the checks a launch makes before touching the driver.
#include <catch2/catch.hpp>

#include "flashcore/can_implement.hpp"
#include "flashcore/error.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/selection/auto.hpp"
#include "flashcore/tensor_views.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

// Fake device addresses: nothing is dereferenced.
constexpr CUdeviceptr kBase = 0x7f0000000000ull;

TensorView view(CUdeviceptr data, std::int64_t B, std::int64_t H, std::int64_t S, std::int64_t D,
                std::initializer_list<std::int64_t> strides, DType dtype = DType::f16) {
    TensorView v = TensorView::contiguous(data, dtype, B, H, S, D);
    int i = 0;
    for (std::int64_t s : strides) v.stride[i++] = s;
    return v;
}

// A packed [B, S, H, D] (flash-attn) layout for all four operands.
AttentionTensors bshd(const AttentionProblem& p) {
    const std::int64_t q_row = std::int64_t(p.Hq) * p.D, kv_row = std::int64_t(p.Hkv) * p.D;
    AttentionTensors t;
    t.q = view(kBase, p.B, p.Hq, p.Sq, p.D, {q_row * p.Sq, p.D, q_row, 1}, p.dtype);
    t.k = view(kBase + 0x10000000, p.B, p.Hkv, p.Skv, p.D, {kv_row * p.Skv, p.D, kv_row, 1}, p.dtype);
    t.v = view(kBase + 0x20000000, p.B, p.Hkv, p.Skv, p.D, {kv_row * p.Skv, p.D, kv_row, 1}, p.dtype);
    t.o = view(kBase + 0x30000000, p.B, p.Hq, p.Sq, p.D, {q_row * p.Sq, p.D, q_row, 1}, p.dtype);
    return t;
}

std::string issue_of(const AttentionProblem& p, const AttentionTensors& t) { return find_tensor_issue(p, t).message; }

DeviceInfo hopper() {
    DeviceInfo d = test::fake_h100();
    d.driver_version = 13000;
    return d;
}

}  // namespace

TEST_CASE("packed buffers and their views give the same kernel parameters", "[tensor_views]") {
    AttentionProblem p = AttentionProblem::from_shape("2,8,2,100,70,64");
    AttentionBuffers b{kBase, kBase + 0x100000, kBase + 0x200000, kBase + 0x300000, 0, 0};
    FcAttentionParams packed = make_attention_params(p, b, 0);
    CHECK(packed.q_stride[0] == 8 * 100 * 64);
    CHECK(packed.q_stride[1] == 100 * 64);
    CHECK(packed.q_stride[2] == 64);
    CHECK(packed.k_stride[0] == 2 * 70 * 64);
    CHECK(packed.k_stride[1] == 70 * 64);
    AttentionTensors t = AttentionTensors::contiguous(p, b);
    CHECK_FALSE(find_tensor_issue(p, t));
    CHECK(layout_of(t) == layout_of(AttentionTensors::contiguous(p, b)));
    CHECK(layout_of(t).q.base_alignment == 16);
}

TEST_CASE("BSHD views and packed-QKV slices reach the kernel as strides, no copy", "[tensor_views]") {
    AttentionProblem p = AttentionProblem::from_shape("2,8,2,100,70,64");
    AttentionTensors t = bshd(p);
    REQUIRE_FALSE(find_tensor_issue(p, t));
    FcAttentionParams params = make_attention_params(p, t, 0);
    CHECK(params.q == reinterpret_cast<const void*>(kBase));
    CHECK(params.q_stride[0] == 100 * 8 * 64);  // batch
    CHECK(params.q_stride[1] == 64);            // head: next D elements of the same row
    CHECK(params.q_stride[2] == 8 * 64);        // row: all heads of one position
    CHECK(params.k_stride[2] == 2 * 64);

    // qkv = [B, S, 3, H, D]; q = qkv[:, :, 0], k = qkv[:, :, 1], v = qkv[:, :, 2] (transposed to B, H, S, D).
    AttentionProblem mha = AttentionProblem::from_shape("2,4,4,33,33,64");
    const std::int64_t row = 3 * 4 * 64, plane = 4 * 64;
    AttentionTensors qkv;
    qkv.q = view(kBase, 2, 4, 33, 64, {33 * row, 64, row, 1});
    qkv.k = view(kBase + plane * 2, 2, 4, 33, 64, {33 * row, 64, row, 1});
    qkv.v = view(kBase + 2 * plane * 2, 2, 4, 33, 64, {33 * row, 64, row, 1});
    qkv.o = TensorView::contiguous(kBase + 0x1000000, DType::f16, 2, 4, 33, 64);
    CHECK(issue_of(mha, qkv).empty());
    params = make_attention_params(mha, qkv, 0);
    CHECK(params.v == reinterpret_cast<const void*>(kBase + 1024));
    CHECK(params.v_stride[2] == row);
}

TEST_CASE("size-1 dimensions get the strides a packed tensor would have", "[tensor_views]") {
    AttentionProblem p = AttentionProblem::from_shape("1,1,1,1,5,64");
    AttentionTensors t = bshd(p);
    t.q.stride[0] = 0;   // frameworks leave anything in a size-1 dimension's stride
    t.q.stride[1] = -7;
    t.q.stride[2] = 3;
    REQUIRE(issue_of(p, t).empty());
    FcAttentionParams params = make_attention_params(p, t, 0);
    CHECK(params.q_stride[2] == 64);
    CHECK(params.q_stride[1] == 64);
    CHECK(params.q_stride[0] == 64);
    CHECK(layout_of(t).q.stride[1] == 64);
}

TEST_CASE("views that break a layout rule are refused, naming the operand and the rule", "[tensor_views]") {
    AttentionProblem p = AttentionProblem::from_shape("2,8,2,100,70,64");
    auto refused = [&](auto edit) {
        AttentionTensors t = bshd(p);
        edit(t);
        TensorIssue issue = find_tensor_issue(p, t);
        CHECK(issue.kind != TensorIssue::Kind::none);
        return issue;
    };
    CHECK_THAT(refused([](AttentionTensors& t) { t.v.data = 0; }).message,
               Catch::StartsWith("v: the pointer is null"));
    TensorIssue dtype = refused([](AttentionTensors& t) { t.k.dtype = DType::bf16; });
    CHECK(dtype.kind == TensorIssue::Kind::type);
    CHECK(dtype.message == "k: dtype bf16 differs from the problem's f16 (q, k, v and o share one dtype)");
    TensorIssue shape = refused([](AttentionTensors& t) { t.o.shape[2] = 99; });
    CHECK(shape.kind == TensorIssue::Kind::value);
    CHECK_THAT(shape.message, Catch::StartsWith("o: shape [2, 8, 99, 64] (B, H, S, D) does not match the problem's "
                                                "[2, 8, 100, 64]"));
    CHECK_THAT(refused([](AttentionTensors& t) { t.q.stride[3] = 2; }).message,
               Catch::StartsWith("q: the head dimension must be contiguous (stride 1), it has stride 2"));
    CHECK_THAT(refused([](AttentionTensors& t) { t.k.stride[1] = 0; }).message,
               Catch::StartsWith("k: the head stride is 0; zero (broadcast) and negative strides"));
    CHECK_THAT(refused([](AttentionTensors& t) { t.o.stride[2] = -512; }).message,
               Catch::StartsWith("o: the row stride is -512"));
    CHECK_THAT(refused([](AttentionTensors& t) { t.q.data += 2; }).message,
               Catch::StartsWith("q: the base address 0x7f0000000002 is not 16-byte aligned (a row of D=64 f16 "
                                 "elements is 128 bytes, read in 16-byte units"));
    CHECK_THAT(refused([](AttentionTensors& t) { t.v.stride[2] = 132; }).message,
               Catch::StartsWith("v: the row stride of 132 elements (264 bytes) is not a multiple of 16 bytes"));

    // A row that is no whole number of 16-byte loads (D=33 f16, as a packed tensor has it) only
    // needs element alignment: the families that take such D read it element by element.
    AttentionProblem odd = AttentionProblem::from_shape("1,2,2,10,10,33");
    AttentionTensors t = AttentionTensors::contiguous(odd, {kBase + 2, kBase + 0x1000, kBase + 0x2000, kBase + 0x3000});
    CHECK(issue_of(odd, t).empty());
    t.q.data += 1;
    CHECK_THAT(issue_of(odd, t), Catch::Contains("is not 2-byte aligned"));

    AttentionProblem with_lse = p;
    with_lse.with_lse = true;
    CHECK_THAT(issue_of(with_lse, bshd(p)), Catch::StartsWith("lse: the pointer is null"));
    Error e = test::error_from([&] {
        AttentionTensors bad = bshd(p);
        bad.q.stride[3] = 3;
        check_tensors(p, bad, "reference_attention:dtype=f16");
    });
    CHECK(e.code() == ErrorCode::bad_input);
    CHECK(e.info().variant == "reference_attention:dtype=f16");
}

TEST_CASE("can_implement applies the layout rules, and a TMA family's own", "[tensor_views][can_implement]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    const DeviceInfo h100 = hopper();
    AttentionProblem p = AttentionProblem::from_shape("2,2,2,64,64,64");
    AttentionTensors t = bshd(p);
    Variant reference = rt.variant("reference_attention", &p);
    Variant tma = rt.variant("tma_copy", &p);
    CHECK(can_implement(reference, FitQuery{&p, &h100, 0, &t}).ok());
    CHECK(can_implement(tma, FitQuery{&p, &h100, 0, &t}).ok());

    AttentionTensors misaligned = t;
    misaligned.k.data += 8;
    Fit fit = can_implement(reference, FitQuery{&p, &h100, 0, &misaligned});
    CHECK(fit.check == FitCheck::tensors);
    CHECK(fit.code == ErrorCode::bad_input);
    CHECK_THAT(fit.message, Catch::StartsWith("k: the base address"));

    // Every family can address a batch stride of 2^40 elements; a tensor map cannot (< 2^40 bytes).
    AttentionTensors far = t;
    far.q.stride[0] = far.o.stride[0] = std::int64_t(1) << 40;
    CHECK(can_implement(reference, FitQuery{&p, &h100, 0, &far}).ok());
    fit = can_implement(tma, FitQuery{&p, &h100, 0, &far});
    CHECK(fit.check == FitCheck::kernel_args);
    CHECK_THAT(fit.message, Catch::Contains("tensor map for q: batch stride") && Catch::Contains("below 2^40"));

    // `auto` passes over the TMA family for that layout and takes the next one.
    std::vector<AutoFamily> families = {
        {"tma_copy", 3, [](const AttentionProblem&, const DeviceInfo&) { return std::vector<VariantRequest>{{"tma_copy", {}}}; }},
        {"reference_attention", 2,
         [](const AttentionProblem&, const DeviceInfo&) { return std::vector<VariantRequest>{{"reference_attention", {}}}; }},
    };
    CHECK_THAT(select_variant(rt, p, h100, &t, families).variant, Catch::StartsWith("tma_copy:"));
    CHECK_THAT(select_variant(rt, p, h100, &far, families).variant, Catch::StartsWith("reference_attention:"));
}

TEST_CASE("the layout keys plans: strides and alignment class, never the pointer itself", "[tensor_views]") {
    AttentionProblem p = AttentionProblem::from_shape("2,8,2,100,70,64");
    AttentionTensors a = bshd(p), b = bshd(p);
    b.q.data += 0x100000;  // another buffer, same alignment
    CHECK(layout_of(a) == layout_of(b));
    CHECK(hash_value(layout_of(a)) == hash_value(layout_of(b)));
    b.q.data += 8;
    CHECK_FALSE(layout_of(a) == layout_of(b));
    CHECK(layout_of(b).q.base_alignment == 8);
    AttentionTensors c = AttentionTensors::contiguous(p, {kBase, kBase, kBase, kBase});
    CHECK_FALSE(layout_of(a) == layout_of(c));
}

TEST_CASE("a launch with unusable views fails before any driver call", "[tensor_views]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    AttentionProblem p = AttentionProblem::from_shape("1,2,2,16,16,64");
    AttentionTensors t = bshd(p);
    t.o.stride[3] = 2;
    // Fake addresses: on a machine with a GPU too, nothing may reach the driver.
    for (const char* request : {"auto", "reference_attention"}) {
        Error e = test::error_from([&] { flashcore::attention(rt, p, t, nullptr, request); });
        CHECK(e.code() == ErrorCode::bad_input);
        CHECK_THAT(e.info().message, Catch::StartsWith("o: the head dimension must be contiguous"));
    }
    // check_problem asks can_implement with the views.
    Error e = test::error_from([&] { rt.check_problem(rt.variant("reference_attention", &p), p, 0, &t); });
    CHECK(e.code() == ErrorCode::bad_input);
    CHECK_THAT(e.info().message, Catch::Contains("o: the head dimension must be contiguous"));
}
