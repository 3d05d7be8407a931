// The launch layer's guarantees on a real GPU: shared-memory limits are checked with the
// arithmetic in the error, the dynamic limit is raised when needed, and a kernel fault
// poisons the context so later calls fail fast with the reason.
#include <catch2/catch.hpp>

#include "flashcore/tools/attention_harness.hpp"
#include "flashcore/error.hpp"
#include "test_support.hpp"

using namespace flashcore;

TEST_CASE("dynamic shared memory above 48 KB is raised and launches", "[gpu][launch]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    AttentionProblem p = AttentionProblem::from_shape("1,2,2,33,33,64");
    AttentionHarness harness(rt, p, fresh_seed());
    for (const char* v : {"toy_attention:smem_kb=0", "toy_attention:smem_kb=40", "toy_attention:smem_kb=100"}) {
        INFO(v);
        RunOptions options;
        options.verify = false;
        RunReport r = harness.run(rt.variant(v), options);
        CHECK(harness.output() == harness.inputs().q);  // toy kernel: o = q, every element written
        CHECK(r.dims.dynamic_smem == std::size_t(rt.variant(v).int_value("smem_kb")) * 1024);
    }
}

TEST_CASE("a shared-memory over-request is refused before launch with the arithmetic", "[gpu][launch]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    AttentionProblem p = AttentionProblem::from_shape("1,2,2,33,33,64");
    AttentionHarness harness(rt, p, fresh_seed());
    Error e = test::error_from([&] { harness.run(rt.variant("toy_attention:smem_kb=300"), RunOptions{}); });
    CHECK(e.code() == ErrorCode::resource_exceeded);
    CHECK(e.info().variant == "toy_attention:threads=128,smem_kb=300,mode=plain");
    CHECK_THAT(e.info().message, Catch::Contains("requested 300.0 KB (static 0.0 + dynamic 300.0) > opt-in max") &&
                                     Catch::Contains(rt.device().info().name));
    // Nothing was launched, so the context is still healthy.
    CHECK_FALSE(rt.device().poisoned());
    RunOptions options;
    options.verify = false;
    harness.run(rt.variant("toy_attention"), options);
}

TEST_CASE("a planted out-of-bounds kernel poisons the context and the next call fails fast", "[gpu][launch]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    AttentionProblem p = AttentionProblem::from_shape("1,2,2,33,33,64");
    AttentionHarness harness(rt, p, fresh_seed());
    RunOptions options;
    options.verify = false;
    Error fault = test::error_from([&] { harness.run(rt.variant("toy_attention:fault=oob"), options); });
    CHECK(fault.code() == ErrorCode::launch_fault);
    CHECK(fault.info().variant == "toy_attention:threads=128,smem_kb=0,mode=plain,fault=oob");
    CHECK_THAT(fault.info().message, Catch::Contains("CUDA_ERROR_"));
    CHECK(rt.device().poisoned());
    CHECK_THAT(rt.device().poison_reason(), Catch::Contains("fault=oob"));
    Error refused = test::error_from([&] { harness.run(rt.variant("toy_attention"), options); });
    CHECK(refused.code() == ErrorCode::context_poisoned);
    CHECK_THAT(refused.info().message, Catch::Contains("fault=oob") && Catch::Contains("Restart the process"));
}
