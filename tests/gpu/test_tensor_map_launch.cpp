// Tensor-map kernel arguments and cluster launches on a real sm_90+ GPU, through the test-only
// tma_copy template (o = q by TMA): every element is copied exactly on shapes that are no tile
// multiple, in clusters of 1 and 2, and the one-call API re-encodes the maps when a pointer
// changes.
#include <catch2/catch.hpp>

#include "flashcore/error.hpp"
#include "flashcore/tools/attention_harness.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

bool hopper_or_newer(Runtime& rt) {
    if (rt.device().info().sm >= 90) return true;
    WARN("tma_copy needs sm_90 or newer; this GPU is sm_" << rt.device().info().sm << ": nothing to check");
    return false;
}

}  // namespace

TEST_CASE("tma_copy copies q to o through tensor maps, with and without clusters", "[gpu][tensor_map]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    if (!hopper_or_newer(rt)) return;
    struct Case {
        const char* shape;
        DType dtype;
        const char* variant;
    };
    for (const Case& c : {Case{"2,3,3,100,100,64", DType::f16, "tma_copy:block_m=32,cluster=1"},
                          Case{"2,3,3,100,100,64", DType::f16, "tma_copy:block_m=32,cluster=2"},
                          Case{"1,2,2,70,70,128", DType::bf16, "tma_copy:block_m=16,cluster=2"},
                          Case{"3,1,1,1,1,64", DType::f32, "tma_copy:block_m=64,cluster=2"}}) {
        AttentionProblem p = AttentionProblem::from_shape(c.shape);
        p.dtype = c.dtype;
        INFO(c.variant << " on " << p.to_string());
        AttentionHarness harness(rt, p, fresh_seed());
        RunOptions options;
        options.verify = false;  // a copy, not attention: checked against q below
        RunReport r = harness.run(rt.variant(c.variant, &p), options);
        CHECK(harness.output() == harness.inputs().q);
        CHECK(r.dims.cluster[0] == rt.variant(c.variant, &p).int_value("cluster"));
        CHECK(r.dims.grid[0] % r.dims.cluster[0] == 0);
    }
    CHECK_FALSE(rt.device().poisoned());
}

TEST_CASE("the one-call API keeps encoded maps and re-encodes them for new pointers", "[gpu][tensor_map]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    if (!hopper_or_newer(rt)) return;
    Device& dev = rt.device();
    AttentionProblem p = AttentionProblem::from_shape("1,4,4,77,77,64");
    AttentionInputs in = make_random_inputs(p, 7);
    const std::size_t bytes = in.q_bytes.size();
    DeviceBuffer q(dev, bytes), k(dev, bytes), v(dev, bytes), o1(dev, bytes), o2(dev, bytes);
    q.upload(in.q_bytes.data(), bytes);
    Stream stream(dev);
    auto output = [&](DeviceBuffer& o) {
        std::vector<unsigned char> out(bytes);
        o.download(out.data(), bytes);
        return decode(out, p.dtype);
    };
    for (DeviceBuffer* o : {&o1, &o2, &o1}) {  // warm call, new pointer, old pointer again
        o->fill_u16(0x7e00);                   // NaN
        dev.synchronize("poison o");           // the memset is on the default stream, the launch on `stream`
        rt.attention(p, {q.get(), k.get(), v.get(), o->get()}, stream.get(), "tma_copy:cluster=2");
        stream.synchronize();
        CHECK(output(*o) == in.q);
    }
}
