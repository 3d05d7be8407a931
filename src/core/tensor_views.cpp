#include "flashcore/tensor_views.hpp"

#include <cstdio>
#include <numeric>

#include "flashcore/error.hpp"

namespace flashcore {

namespace {

constexpr std::uint8_t kVectorBytes = 16;  // the widest load a family issues (uint4, cp.async 16, TMA)
const char* const kDimNames[] = {"batch", "head", "row", "head-dim"};

std::uint8_t alignment_of(CUdeviceptr address) {
    if (address == 0) return 0;
    std::uint8_t a = 1;
    while (a < kVectorBytes && address % (2 * a) == 0) a *= 2;
    return a;
}

// Size-1 dimensions take the stride a packed tensor would give them: no index reads it, and a
// tensor map or an alignment rule should not trip over what a framework left there.
void normalised_strides(const TensorView& view, std::int64_t (&out)[4]) {
    for (int i = 0; i < 4; ++i) out[i] = view.stride[i];
    if (view.shape[3] == 1) out[3] = 1;
    for (int i = 2; i >= 0; --i)
        if (view.shape[i] == 1) out[i] = out[i + 1] * view.shape[i + 1];
}

std::string shape_text(const std::int64_t (&shape)[4]) {
    std::string text = "[";
    for (int i = 0; i < 4; ++i) text.append(i ? ", " : "").append(std::to_string(shape[i]));
    return text.append("]");
}

std::string hex(CUdeviceptr address) {
    char text[32];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(address));
    return text;
}

TensorIssue value_issue(std::string message) { return {TensorIssue::Kind::value, std::move(message)}; }

TensorIssue operand_issue(const char* name, const TensorView& view, const AttentionProblem& p, int heads, int rows) {
    const std::string who = std::string(name) + ": ";  // short: fits the small-string buffer
    if (view.data == 0) return value_issue(who + "the pointer is null (pass the " + name + " tensor)");
    if (view.dtype != p.dtype)
        return {TensorIssue::Kind::type, who + "dtype " + to_string(view.dtype) + " differs from the problem's " +
                                             to_string(p.dtype) + " (q, k, v and o share one dtype)"};
    const std::int64_t expected[4] = {p.B, heads, rows, p.D};
    for (int i = 0; i < 4; ++i)
        if (view.shape[i] != expected[i])
            return value_issue(who + "shape " + shape_text(view.shape) + " (B, H, S, D) does not match the problem's " +
                               shape_text(expected) + " (" + p.to_string() + ")");
    std::int64_t stride[4];
    normalised_strides(view, stride);
    if (stride[3] != 1)
        return value_issue(who + "the head dimension must be contiguous (stride 1), it has stride " +
                           std::to_string(stride[3]) + "; make the tensor contiguous in its last dimension");
    for (int i = 0; i < 3; ++i)
        if (stride[i] < 1)
            return value_issue(who + "the " + kDimNames[i] + " stride is " + std::to_string(stride[i]) +
                               "; zero (broadcast) and negative strides are not supported (GQA/MQA take Hkv < Hq "
                               "heads directly, no expand needed)");
    // Rows are read as whole 16-byte vectors when a packed row is a whole number of them.
    const std::int64_t elem = static_cast<std::int64_t>(dtype_bytes(p.dtype));
    const std::int64_t align = std::gcd<std::int64_t>(kVectorBytes, p.D * elem);
    auto why = [&] {  // built only for a refusal: the check runs on every launch
        return " (a row of D=" + std::to_string(p.D) + " " + to_string(p.dtype) + " elements is " +
               std::to_string(p.D * elem) + " bytes, read in " + std::to_string(align) +
               "-byte units; copy the tensor, e.g. .contiguous(), or slice at a " + std::to_string(align) +
               "-byte boundary)";
    };
    if (view.data % align != 0)
        return value_issue(who + "the base address " + hex(view.data) + " is not " + std::to_string(align) +
                           "-byte aligned" + why());
    for (int i = 0; i < 3; ++i)
        if ((stride[i] * elem) % align != 0)
            return value_issue(who + "the " + kDimNames[i] + " stride of " + std::to_string(stride[i]) +
                               " elements (" + std::to_string(stride[i] * elem) + " bytes) is not a multiple of " +
                               std::to_string(align) + " bytes" + why());
    return {};
}

}  // namespace

TensorView TensorView::contiguous(CUdeviceptr data, DType dtype, std::int64_t B, std::int64_t H, std::int64_t S,
                                  std::int64_t D) {
    TensorView v;
    v.data = data;
    v.dtype = dtype;
    const std::int64_t shape[4] = {B, H, S, D};
    const std::int64_t stride[4] = {H * S * D, S * D, D, 1};
    for (int i = 0; i < 4; ++i) v.shape[i] = shape[i], v.stride[i] = stride[i];
    return v;
}

AttentionTensors AttentionTensors::contiguous(const AttentionProblem& p, const AttentionBuffers& b) {
    AttentionTensors t;
    t.q = TensorView::contiguous(b.q, p.dtype, p.B, p.Hq, p.Sq, p.D);
    t.k = TensorView::contiguous(b.k, p.dtype, p.B, p.Hkv, p.Skv, p.D);
    t.v = TensorView::contiguous(b.v, p.dtype, p.B, p.Hkv, p.Skv, p.D);
    t.o = TensorView::contiguous(b.o, p.dtype, p.B, p.Hq, p.Sq, p.D);
    t.lse = b.lse;
    t.debug = b.debug;
    return t;
}

AttentionLayout layout_of(const AttentionTensors& t) {
    auto one = [](const TensorView& view) {
        OperandLayout l;
        normalised_strides(view, l.stride);
        l.base_alignment = alignment_of(view.data);
        return l;
    };
    return {one(t.q), one(t.k), one(t.v), one(t.o)};
}

std::size_t hash_value(const AttentionLayout& layout) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const OperandLayout* o : {&layout.q, &layout.k, &layout.v, &layout.o}) {
        for (std::int64_t s : o->stride) h = (h ^ static_cast<std::uint64_t>(s)) * 0x100000001b3ull;
        h = (h ^ o->base_alignment) * 0x100000001b3ull;
    }
    return static_cast<std::size_t>(h);
}

AttentionProblem problem_from_views(const AttentionTensors& t, bool causal, float scale, bool with_lse) {
    auto narrow = [](std::int64_t v) { return v > 0x7fffffff ? 0x7fffffff : v < 0 ? 0 : static_cast<int>(v); };
    AttentionProblem p;
    p.B = narrow(t.q.shape[0]);
    p.Hq = narrow(t.q.shape[1]);
    p.Sq = narrow(t.q.shape[2]);
    p.D = narrow(t.q.shape[3]);
    p.Hkv = narrow(t.k.shape[1]);
    p.Skv = narrow(t.k.shape[2]);
    p.dtype = t.q.dtype;
    p.causal = causal;
    p.scale = scale;
    p.with_lse = with_lse;
    return p;
}

TensorIssue find_tensor_issue(const AttentionProblem& p, const AttentionTensors& t) {
    if (TensorIssue i = operand_issue("q", t.q, p, p.Hq, p.Sq)) return i;
    if (TensorIssue i = operand_issue("k", t.k, p, p.Hkv, p.Skv)) return i;
    if (TensorIssue i = operand_issue("v", t.v, p, p.Hkv, p.Skv)) return i;
    if (TensorIssue i = operand_issue("o", t.o, p, p.Hq, p.Sq)) return i;
    if (p.with_lse && t.lse == 0)
        return value_issue("lse: the pointer is null (with_lse needs a packed [B, Hq, Sq] fp32 buffer)");
    if (t.lse % 4 != 0) return value_issue("lse: the base address " + hex(t.lse) + " is not 4-byte aligned (fp32)");
    return {};
}

void check_tensors(const AttentionProblem& problem, const AttentionTensors& tensors, const std::string& variant) {
    if (TensorIssue issue = find_tensor_issue(problem, tensors))
        fail(Stage::validate, ErrorCode::bad_input, issue.message, variant);
}

FcAttentionParams make_attention_params(const AttentionProblem& p, const AttentionTensors& t, CUdeviceptr workspace) {
    FcAttentionParams params{};
    params.q = reinterpret_cast<const void*>(t.q.data);
    params.k = reinterpret_cast<const void*>(t.k.data);
    params.v = reinterpret_cast<const void*>(t.v.data);
    params.o = reinterpret_cast<void*>(t.o.data);
    auto strides = [](long long* out, const TensorView& view) {
        std::int64_t s[4];
        normalised_strides(view, s);
        for (int i = 0; i < 3; ++i) out[i] = s[i];
    };
    strides(params.q_stride, t.q);
    strides(params.k_stride, t.k);
    strides(params.v_stride, t.v);
    strides(params.o_stride, t.o);
    params.lse = reinterpret_cast<float*>(t.lse);
    params.debug = reinterpret_cast<float*>(t.debug);
    params.workspace = reinterpret_cast<void*>(workspace);
    params.B = p.B, params.Hq = p.Hq, params.Hkv = p.Hkv, params.Sq = p.Sq, params.Skv = p.Skv, params.D = p.D;
    params.causal = p.causal ? 1 : 0;
    params.scale = p.effective_scale();
    params.scale_log2 = params.scale * 1.4426950408889634f;
    return params;
}

}  // namespace flashcore
