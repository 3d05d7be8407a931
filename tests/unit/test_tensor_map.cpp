// The launch contract's kernel arguments beyond FcAttentionParams (TMA tensor maps) and cluster
// dimensions, without a GPU: schema fields, the exact cuTensorMapEncodeTiled arguments, the
// rules checked before encoding, and the test-only tma_copy template compiling for sm_90.
#include <catch2/catch.hpp>

#include "flashcore/error.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/tensor_map.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

TemplateSchema schema_with(const std::string& launch_extra) {
    return TemplateSchema::from_json(R"js({"template": "t", "kernel": "k", "signature": "attention",
        "params": [{"name": "rows", "type": "int", "values": [16, 64], "default": 64}],
        "launch": {"block": "128", "grid": ["ceil_div(problem.Sq, rows)", "problem.Hq", "problem.B"])js" +
                                         launch_extra + "}}",
                                     "inline");
}

// Fake device pointers: TMA checks alignment, nothing is dereferenced.
AttentionBuffers buffers() { return {0x10000, 0x20000, 0x30000, 0x40000, 0, 0}; }

TensorMapSpec spec(TensorOperand tensor, std::uint32_t d, std::uint32_t rows) {
    TensorMapSpec s;
    s.tensor = tensor;
    s.box[0] = d;
    s.box[1] = rows;
    return s;
}

}  // namespace

TEST_CASE("schemas carry kernel arguments and cluster dimensions", "[tensor_map][schema]") {
    TemplateSchema plain = schema_with("");
    REQUIRE(plain.launch.args.size() == 1);
    CHECK(plain.launch.args[0].kind == KernelArgSpec::Kind::params);
    CHECK(plain.launch.cluster.empty());
    CHECK_FALSE(plain.launch.has_tensor_maps());

    TemplateSchema tma = schema_with(R"(, "cluster": ["2", "1"], "args": [{"kind": "params"},
        {"kind": "tensor_map", "tensor": "k", "box": ["64", "rows"], "swizzle": "128B"},
        {"kind": "tensor_map", "tensor": "o", "box": ["32"], "swizzle": "64B", "l2_promotion": "256B"}])");
    REQUIRE(tma.launch.args.size() == 3);
    CHECK(tma.launch.has_tensor_maps());
    CHECK(tma.launch.cluster.size() == 2);
    const KernelArgSpec& k = tma.launch.args[1];
    CHECK(k.tensor == TensorOperand::k);
    CHECK(k.box.size() == 2);
    CHECK(k.swizzle == TensorSwizzle::b128);
    CHECK(k.l2_promotion == L2Promotion::b128);  // the default
    CHECK(tma.launch.args[2].l2_promotion == L2Promotion::b256);

    auto refused = [](const std::string& extra) {
        try {
            schema_with(extra);
        } catch (const Error& e) {
            return e.info().message;
        }
        return std::string("accepted");
    };
    CHECK_THAT(refused(R"(, "args": [{"kind": "tensor_map", "tensor": "q", "box": ["8"]}])"),
               Catch::Contains("exactly one {\"kind\": \"params\"}"));
    CHECK_THAT(refused(R"(, "args": [{"kind": "params"}, {"kind": "params"}])"), Catch::Contains("not 2"));
    CHECK_THAT(refused(R"(, "args": [{"kind": "params"}, {"kind": "tensor_map", "tensor": "x", "box": ["8"]}])"),
               Catch::Contains("tensor must be one of: q, k, v, o"));
    CHECK_THAT(refused(R"(, "args": [{"kind": "params"}, {"kind": "tensor_map", "tensor": "q", "box": ["8"], "swizzle": "16B"}])"),
               Catch::Contains("swizzle must be one of: none, 32B, 64B, 128B"));
    CHECK_THAT(refused(R"(, "args": [{"kind": "params"}, {"kind": "tensor_map", "tensor": "q", "box": ["1","1","1","1","1"]}])"),
               Catch::Contains("box must be a list of one to four expressions"));
    CHECK_THAT(refused(R"(, "args": [{"kind": "bytes"}])"), Catch::Contains("kind must be \"params\" or \"tensor_map\""));
    CHECK_THAT(refused(R"(, "cluster": ["nope"])"), Catch::Contains("unknown name 'nope'"));
}

TEST_CASE("cluster dimensions are derived and the grid must hold whole clusters", "[tensor_map][launch]") {
    auto schema = std::make_shared<const TemplateSchema>(schema_with(R"(, "cluster": ["2"])"));
    Variant v = Variant::resolve(VariantRequest{"t", {}}, schema);
    LaunchDims dims = derive_launch(v, problem_names(AttentionProblem::from_shape("1,3,3,256,256,64")));
    CHECK(dims.grid[0] == 4);
    CHECK(dims.cluster[0] == 2);
    CHECK(dims.cluster[1] == 1);
    CHECK(dims.clustered());
    CHECK(launch_call_name(dims) == "cuLaunchKernelEx(cluster 2x1x1)");
    dims.programmatic = true;
    CHECK(launch_call_name(dims) == "cuLaunchKernelEx(programmatic stream serialization, cluster 2x1x1)");
    // grid.x = 3 CTAs cannot form clusters of 2.
    Error e = test::error_from([&] { derive_launch(v, problem_names(AttentionProblem::from_shape("1,3,3,192,192,64"))); });
    CHECK(e.code() == ErrorCode::bad_problem);
    CHECK_THAT(e.info().message, Catch::Contains("grid.x = 3 is not a multiple of cluster.x = 2"));
    auto too_big = std::make_shared<const TemplateSchema>(schema_with(R"(, "cluster": ["4", "4"])"));
    CHECK_THROWS_WITH(derive_launch(Variant::resolve(VariantRequest{"t", {}}, too_big),
                                    problem_names(AttentionProblem::from_shape("1,4,4,256,256,64"))),
                      Catch::Contains("more than the portable maximum of 8"));
    LaunchDims plain = derive_launch(Variant::resolve(VariantRequest{"t", {}},
                                                      std::make_shared<const TemplateSchema>(schema_with(""))),
                                     problem_names(AttentionProblem::from_shape("1,1,1,64,64,64")));
    CHECK_FALSE(plain.clustered());
    CHECK(launch_call_name(plain) == "cuLaunchKernel");
}

TEST_CASE("tensor map arguments: rank-4 views (D, S, H, B) with byte strides from the params", "[tensor_map]") {
    AttentionProblem p = AttentionProblem::from_shape("2,8,2,100,300,64");
    FcAttentionParams params = make_attention_params(p, buffers(), 0);

    TensorMapArguments q = tensor_map_arguments(p, params, spec(TensorOperand::q, 64, 32));
    CHECK(q.data_type == CU_TENSOR_MAP_DATA_TYPE_FLOAT16);
    CHECK(q.rank == 4);
    CHECK(q.global_address == reinterpret_cast<void*>(0x10000));
    CHECK(std::vector<cuuint64_t>(q.global_dim, q.global_dim + 4) == std::vector<cuuint64_t>{64, 100, 8, 2});
    CHECK(std::vector<cuuint64_t>(q.global_strides, q.global_strides + 3) ==
          std::vector<cuuint64_t>{64 * 2, 100 * 64 * 2, 8 * 100 * 64 * 2});
    CHECK(std::vector<cuuint32_t>(q.box_dim, q.box_dim + 4) == std::vector<cuuint32_t>{64, 32, 1, 1});
    CHECK(std::vector<cuuint32_t>(q.element_strides, q.element_strides + 4) == std::vector<cuuint32_t>{1, 1, 1, 1});
    CHECK(q.interleave == CU_TENSOR_MAP_INTERLEAVE_NONE);
    CHECK(q.swizzle == CU_TENSOR_MAP_SWIZZLE_NONE);
    CHECK(q.l2_promotion == CU_TENSOR_MAP_L2_PROMOTION_L2_128B);
    CHECK(q.oob_fill == CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);

    // k and v are (D, Skv, Hkv, B); o is q's shape at o's address.
    TensorMapSpec k_spec = spec(TensorOperand::k, 64, 64);
    k_spec.swizzle = TensorSwizzle::b128;
    k_spec.l2_promotion = L2Promotion::b256;
    TensorMapArguments k = tensor_map_arguments(p, params, k_spec);
    CHECK(k.global_address == reinterpret_cast<void*>(0x20000));
    CHECK(std::vector<cuuint64_t>(k.global_dim, k.global_dim + 4) == std::vector<cuuint64_t>{64, 300, 2, 2});
    CHECK(k.global_strides[1] == 300 * 64 * 2);
    CHECK(k.swizzle == CU_TENSOR_MAP_SWIZZLE_128B);
    CHECK(k.l2_promotion == CU_TENSOR_MAP_L2_PROMOTION_L2_256B);
    CHECK(tensor_map_arguments(p, params, spec(TensorOperand::v, 64, 64)).global_address == reinterpret_cast<void*>(0x30000));
    CHECK(tensor_map_arguments(p, params, spec(TensorOperand::o, 64, 64)).global_dim[1] == 100);

    // Strides come from the params, not the shape: a padded row stride is used as given.
    params.q_stride[2] = 72;
    CHECK(tensor_map_arguments(p, params, spec(TensorOperand::q, 64, 32)).global_strides[0] == 72 * 2);

    // Element types follow the problem.
    p.dtype = DType::bf16;
    CHECK(tensor_map_arguments(p, params, spec(TensorOperand::k, 64, 16)).data_type == CU_TENSOR_MAP_DATA_TYPE_BFLOAT16);
    p.dtype = DType::f32;
    params = make_attention_params(p, buffers(), 0);
    CHECK(tensor_map_arguments(p, params, spec(TensorOperand::k, 32, 16)).data_type == CU_TENSOR_MAP_DATA_TYPE_FLOAT32);
}

TEST_CASE("tensor map arguments are refused before encoding, naming the operand and the rule", "[tensor_map]") {
    AttentionProblem p = AttentionProblem::from_shape("1,2,2,64,64,64");
    auto refusal = [&](FcAttentionParams params, TensorMapSpec s) {
        try {
            tensor_map_arguments(p, params, s, "t:rows=64");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::bad_input);
            CHECK(e.stage() == Stage::launch);
            CHECK(e.info().variant == "t:rows=64");
            return e.info().message;
        }
        return std::string("accepted");
    };
    const FcAttentionParams good = make_attention_params(p, buffers(), 0);
    CHECK(refusal(good, spec(TensorOperand::q, 64, 64)) == "accepted");

    FcAttentionParams params = good;
    params.k = nullptr;
    CHECK_THAT(refusal(params, spec(TensorOperand::k, 64, 64)), Catch::StartsWith("tensor map for k: the base address is null"));
    params = good;
    params.v = reinterpret_cast<const void*>(0x30008);
    CHECK_THAT(refusal(params, spec(TensorOperand::v, 64, 64)), Catch::Contains("0x30008 is not 16-byte aligned"));
    params = good;
    params.q_stride[2] = 60;  // 120 bytes
    CHECK_THAT(refusal(params, spec(TensorOperand::q, 64, 64)),
               Catch::Contains("row stride 60 elements = 120 bytes must be a positive multiple of 16"));
    params = good;
    params.o_stride[0] = (1ll << 40) / 2;
    CHECK_THAT(refusal(params, spec(TensorOperand::o, 64, 64)), Catch::Contains("batch stride") && Catch::Contains("below 2^40"));
    CHECK_THAT(refusal(good, spec(TensorOperand::q, 4, 64)),
               Catch::Contains("box[0] * element size = 4 * 2 = 8 bytes is not a multiple of 16"));
    CHECK_THAT(refusal(good, spec(TensorOperand::q, 64, 257)), Catch::Contains("box[1] = 257 is outside 1..256"));
    TensorMapSpec swizzled = spec(TensorOperand::q, 128, 64);  // 256 bytes per row of the box
    swizzled.swizzle = TensorSwizzle::b128;
    CHECK_THAT(refusal(good, swizzled), Catch::Contains("256 bytes exceeds the 128B swizzle span of 128 bytes"));
    swizzled.box[0] = 64;
    CHECK(refusal(good, swizzled) == "accepted");
}

TEST_CASE("tma_copy derives its kernel arguments and compiles for sm_90", "[tensor_map][compile]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    AttentionProblem p = AttentionProblem::from_shape("2,3,3,100,100,128");
    p.dtype = DType::bf16;
    Variant v = rt.variant("tma_copy:block_m=16,cluster=2", &p);
    CHECK(v.to_string() == "tma_copy:block_m=16,cluster=2,head_dim=128,dtype=bf16");

    std::vector<KernelArg> args = derive_kernel_args(v, problem_names(p));
    REQUIRE(args.size() == 3);
    CHECK(args[0].is_params);
    CHECK_FALSE(args[1].is_params);
    CHECK(args[1].map.tensor == TensorOperand::q);
    CHECK(std::vector<std::uint32_t>(args[1].map.box, args[1].map.box + 4) == std::vector<std::uint32_t>{128, 16, 1, 1});
    CHECK(args[2].map.tensor == TensorOperand::o);
    LaunchDims dims = derive_launch(v, problem_names(p));
    CHECK(dims.grid[0] == 8);  // ceil(100 / 16) = 7 tiles, rounded up to whole clusters of 2
    CHECK(dims.cluster[0] == 2);

    for (const char* text : {"tma_copy", "tma_copy:block_m=64,cluster=2", "tma_copy:dtype=f32,head_dim=128"}) {
        INFO(text);
        CacheLookup built = rt.build(rt.variant(text), Target::parse("sm_90"));
        CHECK(built.entry->compiled.resources.spill_store_bytes == 0);
        CHECK_THAT(built.entry->compiled.lowered_name, Catch::Contains("tma_copy"));
    }
    // Its schema keeps it off older GPUs (TMA and clusters are sm_90+).
    CHECK_THROWS_WITH(rt.build(v, Target::parse("sm_89")), Catch::Contains("needs sm_90 or newer"));
}
