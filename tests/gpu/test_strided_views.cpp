// Strided operands, caller-owned workspaces and the caller's CUDA context on a real GPU: a BSHD
// call gives exactly the packed call's output, a split-KV plan's workspace can be the caller's
// (garbage in it is zeroed on the stream, also inside a graph capture), a capture that would have
// to allocate says so, and the thread's current context is what it was before the call.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/driver_api.hpp"
#include "flashcore/error.hpp"
#include "flashcore/selection/auto.hpp"
#include "flashcore/tensor_views.hpp"
#include "flashcore/tools/host_numeric.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

// [B, H, S, D] bytes -> [B, S, H, D] bytes (and back with `inverse`).
std::vector<unsigned char> to_bshd(const std::vector<unsigned char>& bhsd, int B, int H, int S, int D, std::size_t elem,
                                   bool inverse = false) {
    std::vector<unsigned char> out(bhsd.size());
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int s = 0; s < S; ++s) {
                const std::size_t packed = ((std::size_t(b) * H + h) * S + s) * D * elem;
                const std::size_t strided = ((std::size_t(b) * S + s) * H + h) * D * elem;
                if (inverse) std::memcpy(&out[packed], &bhsd[strided], D * elem);
                else std::memcpy(&out[strided], &bhsd[packed], D * elem);
            }
    return out;
}

TensorView bshd_view(CUdeviceptr data, DType dtype, int B, int H, int S, int D) {
    TensorView v = TensorView::contiguous(data, dtype, B, H, S, D);
    v.stride[0] = std::int64_t(S) * H * D;
    v.stride[1] = D;
    v.stride[2] = std::int64_t(H) * D;
    return v;
}

struct Operands {
    DeviceBuffer q, k, v, o;
};

Operands upload(Device& dev, const AttentionProblem& p, const AttentionInputs& in, bool bshd) {
    const std::size_t elem = dtype_bytes(p.dtype);
    Operands b{DeviceBuffer(dev, in.q_bytes.size()), DeviceBuffer(dev, in.k_bytes.size()),
               DeviceBuffer(dev, in.v_bytes.size()), DeviceBuffer(dev, in.q_bytes.size())};
    auto put = [&](DeviceBuffer& d, const std::vector<unsigned char>& bytes, int H, int S) {
        std::vector<unsigned char> host = bshd ? to_bshd(bytes, p.B, H, S, p.D, elem) : bytes;
        d.upload(host.data(), host.size());
    };
    put(b.q, in.q_bytes, p.Hq, p.Sq);
    put(b.k, in.k_bytes, p.Hkv, p.Skv);
    put(b.v, in.v_bytes, p.Hkv, p.Skv);
    b.o.fill_u16(0x7e00);  // NaN: an unwritten element cannot pass
    return b;
}

std::vector<unsigned char> download(const DeviceBuffer& d) {
    std::vector<unsigned char> out(d.bytes());
    d.download(out.data(), out.size());
    return out;
}

}  // namespace

TEST_CASE("a BSHD call gives exactly the packed call's output", "[gpu][tensor_views]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    Device& dev = rt.device();
    for (const char* variant : {"auto", "reference_attention", "attention_wmma", "attention_mma"}) {
        AttentionProblem p = AttentionProblem::from_shape("2,8,2,77,130,64");
        p.causal = true;
        INFO(variant << " on " << p.to_string());
        AttentionInputs in = make_random_inputs(p, 11);
        Operands packed = upload(dev, p, in, false), strided = upload(dev, p, in, true);
        flashcore::attention(rt, p, AttentionBuffers{packed.q.get(), packed.k.get(), packed.v.get(), packed.o.get()},
                             nullptr, variant);
        AttentionTensors t;
        t.q = bshd_view(strided.q.get(), p.dtype, p.B, p.Hq, p.Sq, p.D);
        t.k = bshd_view(strided.k.get(), p.dtype, p.B, p.Hkv, p.Skv, p.D);
        t.v = bshd_view(strided.v.get(), p.dtype, p.B, p.Hkv, p.Skv, p.D);
        t.o = bshd_view(strided.o.get(), p.dtype, p.B, p.Hq, p.Sq, p.D);
        flashcore::attention(rt, p, t, nullptr, variant);
        dev.synchronize();
        CHECK(to_bshd(download(strided.o), p.B, p.Hq, p.Sq, p.D, 2, true) == download(packed.o));
    }
}

TEST_CASE("a split-KV plan runs on a caller workspace, eagerly and in a graph", "[gpu][tensor_views][workspace]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    Device& dev = rt.device();
    AttentionProblem p = AttentionProblem::from_shape("1,2,2,64,1024,64");
    AttentionInputs in = make_random_inputs(p, 5);
    const std::string variant = "attention_mma:splits=4,block_m=64";
    Operands reference = upload(dev, p, in, false), mine = upload(dev, p, in, false);
    flashcore::attention(rt, p, AttentionBuffers{reference.q.get(), reference.k.get(), reference.v.get(), reference.o.get()},
                         nullptr, variant);
    AttentionTensors t = AttentionTensors::contiguous(p, {mine.q.get(), mine.k.get(), mine.v.get(), mine.o.get()});
    const Runtime::AttentionPlan& plan = prepare(rt, p, t, variant);
    REQUIRE(plan.workspace_bytes() > 0);
    REQUIRE(plan.dims.workspace_zero_bytes > 0);

    DeviceBuffer scratch(dev, plan.workspace_bytes());
    scratch.fill_u8(0xff);  // garbage counters: the runtime must zero them on first sight
    Workspace ws{scratch.get(), scratch.bytes()};
    Stream stream(dev);
    flashcore::attention(rt, p, t, stream.get(), variant, 0, &ws);
    stream.synchronize();
    const std::vector<unsigned char> expected = download(reference.o);
    CHECK(download(mine.o) == expected);

    // Too small a workspace is refused before launching.
    Workspace small{scratch.get(), plan.workspace_bytes() - 1};
    CHECK(test::error_from([&] { flashcore::attention(rt, p, t, stream.get(), variant, 0, &small); }).code() ==
          ErrorCode::bad_input);

    // A capture with a caller workspace allocates nothing; a fresh garbage workspace is zeroed by
    // a memset node inside the graph.
    DeviceBuffer fresh(dev, plan.workspace_bytes());
    fresh.fill_u8(0xff);
    for (DeviceBuffer* buffer : {&scratch, &fresh}) {
        Workspace w{buffer->get(), buffer->bytes()};
        Stream capture(dev);
        mine.o.fill_u16(0x7e00);
        GraphExec graph(dev, capture.get(), [&] { flashcore::attention(rt, p, t, capture.get(), variant, 0, &w); });
        for (int i = 0; i < 3; ++i) graph.launch(capture.get());
        capture.synchronize();
        CHECK(download(mine.o) == expected);
    }

    // Without a workspace, a capture on a stream the runtime has no workspace for must allocate:
    // refused with what to do, and the capture is aborted cleanly.
    Stream capture(dev);
    Error e = test::error_from([&] {
        GraphExec graph(dev, capture.get(), [&] { flashcore::attention(rt, p, t, capture.get(), variant); });
    });
    CHECK(e.code() == ErrorCode::bad_input);
    CHECK_THAT(e.info().message, Catch::Contains("captured into a graph") && Catch::Contains("pass a Workspace"));
    flashcore::attention(rt, p, t, capture.get(), variant);  // the stream still works
    capture.synchronize();
    CHECK_FALSE(dev.poisoned());
}

TEST_CASE("the caller's current context is what it was after a call", "[gpu][context]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    Device& dev = rt.device();
    const auto& api = detail::driver_api();
    AttentionProblem p = AttentionProblem::from_shape("1,2,2,64,64,64");
    AttentionInputs in = make_random_inputs(p, 3);
    Operands b = upload(dev, p, in, false);
    dev.synchronize();
    REQUIRE(api.cuCtxSetCurrent(nullptr) == CUDA_SUCCESS);
    flashcore::attention(rt, p, AttentionBuffers{b.q.get(), b.k.get(), b.v.get(), b.o.get()}, nullptr, "auto");
    CUcontext current = reinterpret_cast<CUcontext>(0x1);
    REQUIRE(api.cuCtxGetCurrent(&current) == CUDA_SUCCESS);
    CHECK(current == nullptr);
    dev.synchronize();  // makes the primary context current again
    std::vector<double> expected = cpu_reference_attention(p, in);
    std::vector<float> got = decode(download(b.o), p.dtype);
    REQUIRE(got.size() == expected.size());
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - expected[i]));
    CHECK(worst < 1e-2);  // NaN fails too
}
