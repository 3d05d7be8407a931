#include "flashcore/tensor_map.hpp"

#include <cstdio>
#include <cstring>

#include "core/driver_api.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

namespace {

constexpr std::uint32_t kMaxBox = 256;
constexpr std::uint64_t kStrideLimit = 1ull << 40;
constexpr std::uint64_t kDimLimit = 1ull << 32;

std::uint32_t swizzle_span(TensorSwizzle swizzle) {
    switch (swizzle) {
        case TensorSwizzle::b32: return 32;
        case TensorSwizzle::b64: return 64;
        case TensorSwizzle::b128: return 128;
        case TensorSwizzle::none: break;
    }
    return 0;
}

CUtensorMapSwizzle driver_swizzle(TensorSwizzle swizzle) {
    switch (swizzle) {
        case TensorSwizzle::b32: return CU_TENSOR_MAP_SWIZZLE_32B;
        case TensorSwizzle::b64: return CU_TENSOR_MAP_SWIZZLE_64B;
        case TensorSwizzle::b128: return CU_TENSOR_MAP_SWIZZLE_128B;
        case TensorSwizzle::none: break;
    }
    return CU_TENSOR_MAP_SWIZZLE_NONE;
}

CUtensorMapL2promotion driver_promotion(L2Promotion promotion) {
    switch (promotion) {
        case L2Promotion::b64: return CU_TENSOR_MAP_L2_PROMOTION_L2_64B;
        case L2Promotion::b128: return CU_TENSOR_MAP_L2_PROMOTION_L2_128B;
        case L2Promotion::b256: return CU_TENSOR_MAP_L2_PROMOTION_L2_256B;
        case L2Promotion::none: break;
    }
    return CU_TENSOR_MAP_L2_PROMOTION_NONE;
}

CUtensorMapDataType driver_type(DType dtype) {
    switch (dtype) {
        case DType::bf16: return CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
        case DType::f32: return CU_TENSOR_MAP_DATA_TYPE_FLOAT32;
        case DType::f16: break;
    }
    return CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
}

// The operand's base pointer and element strides ([0] batch, [1] head, [2] row) in the params.
struct Operand {
    const void* base;
    const long long* strides;
    int rows, heads;
};

Operand operand_of(TensorOperand tensor, const FcAttentionParams& p) {
    switch (tensor) {
        case TensorOperand::k: return {p.k, p.k_stride, p.Skv, p.Hkv};
        case TensorOperand::v: return {p.v, p.v_stride, p.Skv, p.Hkv};
        case TensorOperand::o: return {p.o, p.o_stride, p.Sq, p.Hq};
        case TensorOperand::q: break;
    }
    return {p.q, p.q_stride, p.Sq, p.Hq};
}

}  // namespace

std::optional<std::vector<KernelArg>> try_derive_kernel_args(const Variant& variant, const NameLookup& problem,
                                                             std::string* why) {
    NameLookup names = variant.names(problem);
    std::vector<KernelArg> out;
    for (const KernelArgSpec& spec : variant.schema().launch.args) {
        KernelArg arg;
        arg.is_params = spec.kind == KernelArgSpec::Kind::params;
        if (!arg.is_params) {
            arg.map.tensor = spec.tensor;
            arg.map.swizzle = spec.swizzle;
            arg.map.l2_promotion = spec.l2_promotion;
            for (size_t i = 0; i < spec.box.size(); ++i) {
                std::int64_t v = 0;
                try {
                    v = spec.box[i].evaluate_int(names);
                } catch (const Error& e) {
                    if (why) *why = e.info().message;
                    return std::nullopt;
                }
                if (v < 1 || v > kMaxBox) {
                    if (why)
                        *why = std::string("tensor map for ") + to_string(spec.tensor) + ": box[" + std::to_string(i) +
                               "] = " + std::to_string(v) + " (from '" + spec.box[i].text() + "') is outside 1.." +
                               std::to_string(kMaxBox);
                    return std::nullopt;
                }
                arg.map.box[i] = static_cast<std::uint32_t>(v);
            }
        }
        out.push_back(arg);
    }
    return out;
}

std::vector<KernelArg> derive_kernel_args(const Variant& variant, const NameLookup& problem) {
    std::string why;
    if (auto args = try_derive_kernel_args(variant, problem, &why)) return std::move(*args);
    fail(Stage::launch, ErrorCode::bad_input, why, variant.to_string());
}

std::string tensor_map_box_problem(const TensorMapSpec& spec, DType dtype) {
    const std::string who = std::string("tensor map for ") + to_string(spec.tensor) + ": ";
    for (int i = 0; i < 4; ++i)
        if (spec.box[i] < 1 || spec.box[i] > kMaxBox)
            return who + "box[" + std::to_string(i) + "] = " + std::to_string(spec.box[i]) + " is outside 1..256";
    const std::uint64_t inner = std::uint64_t(spec.box[0]) * dtype_bytes(dtype);
    if (inner % 16 != 0)
        return who + "box[0] * element size = " + std::to_string(spec.box[0]) + " * " +
               std::to_string(dtype_bytes(dtype)) + " = " + std::to_string(inner) +
               " bytes is not a multiple of 16 (TMA moves 16-byte units)";
    if (std::uint32_t span = swizzle_span(spec.swizzle); span && inner > span)
        return who + "box[0] * element size = " + std::to_string(inner) + " bytes exceeds the " +
               to_string(spec.swizzle) + " swizzle span of " + std::to_string(span) +
               " bytes (use a narrower box or a wider swizzle)";
    return {};
}

TensorMapArguments tensor_map_arguments(const AttentionProblem& problem, const FcAttentionParams& params,
                                        const TensorMapSpec& spec, const std::string& variant) {
    const std::string who = std::string("tensor map for ") + to_string(spec.tensor) + ": ";
    auto refuse = [&](const std::string& rule) { fail(Stage::launch, ErrorCode::bad_input, rule, variant); };
    if (std::string box = tensor_map_box_problem(spec, problem.dtype); !box.empty()) refuse(box);

    const Operand op = operand_of(spec.tensor, params);
    const std::uint64_t elem = dtype_bytes(problem.dtype);
    TensorMapArguments a;
    a.data_type = driver_type(problem.dtype);
    a.global_address = const_cast<void*>(op.base);
    const auto address = reinterpret_cast<std::uintptr_t>(op.base);
    if (address == 0) refuse(who + "the base address is null (pass the " + to_string(spec.tensor) + " buffer)");
    if (address % 16 != 0) {
        char hex[32];
        std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(address));
        refuse(who + "the base address " + hex + " is not 16-byte aligned (TMA needs 16 B)");
    }
    const std::int64_t dims[4] = {problem.D, op.rows, op.heads, problem.B};
    for (int i = 0; i < 4; ++i) {
        if (dims[i] < 1 || std::uint64_t(dims[i]) > kDimLimit)
            refuse(who + "dim " + std::to_string(i) + " = " + std::to_string(dims[i]) + " is outside 1..2^32");
        a.global_dim[i] = static_cast<cuuint64_t>(dims[i]);
    }
    // Element strides [2] row, [1] head, [0] batch become byte strides of dims S, H, B.
    static const char* const kStrideNames[] = {"row", "head", "batch"};
    for (int i = 0; i < 3; ++i) {
        const long long elements = op.strides[2 - i];
        const std::uint64_t bytes = elements > 0 ? std::uint64_t(elements) * elem : 0;
        if (elements <= 0 || bytes % 16 != 0 || bytes >= kStrideLimit)
            refuse(who + kStrideNames[i] + " stride " + std::to_string(elements) + " elements = " +
                   std::to_string(bytes) + " bytes must be a positive multiple of 16 bytes below 2^40");
        a.global_strides[i] = bytes;
    }
    for (int i = 0; i < 4; ++i) a.box_dim[i] = spec.box[i];
    a.swizzle = driver_swizzle(spec.swizzle);
    a.l2_promotion = driver_promotion(spec.l2_promotion);
    return a;
}

CUtensorMap encode_tensor_map(const TensorMapArguments& a, const Device& device, const std::string& what,
                              const std::string& variant) {
    CUtensorMap map{};
    device.check(detail::driver_api().cuTensorMapEncodeTiled(&map, a.data_type, a.rank, a.global_address, a.global_dim,
                                                             a.global_strides, a.box_dim, a.element_strides,
                                                             a.interleave, a.swizzle, a.l2_promotion, a.oob_fill),
                 what, variant, Stage::launch);
    return map;
}

KernelArguments::KernelArguments(std::vector<KernelArg> layout, std::string variant)
    : layout_(std::move(layout)), variant_(std::move(variant)), args_(layout_.size(), nullptr) {
    for (const auto& arg : layout_)
        if (!arg.is_params) maps_.push_back(Map{arg.map});
}

void** KernelArguments::bind(const FcAttentionParams& params, const AttentionProblem& problem, const Device& device) {
    size_t next_map = 0;
    for (size_t i = 0; i < layout_.size(); ++i) {
        if (layout_[i].is_params) {
            args_[i] = const_cast<FcAttentionParams*>(&params);
            continue;
        }
        Map& map = maps_[next_map++];
        const Operand op = operand_of(map.spec.tensor, params);
        if (!map.valid || map.base != op.base || std::memcmp(map.strides, op.strides, sizeof map.strides) != 0) {
            TensorMapArguments arguments = tensor_map_arguments(problem, params, map.spec, variant_);
            map.encoded = encode_tensor_map(arguments, device,
                                            std::string("cuTensorMapEncodeTiled(") + to_string(map.spec.tensor) + ")",
                                            variant_);
            map.base = op.base;
            std::memcpy(map.strides, op.strides, sizeof map.strides);
            map.valid = true;
        }
        args_[i] = &map.encoded;
    }
    return args_.data();
}

}  // namespace flashcore
