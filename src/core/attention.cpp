#include "flashcore/attention.hpp"

#include <cmath>
#include <cstring>
#include <sstream>
#include <vector>

#include "core/enum_names.hpp"
#include "flashcore/error.hpp"
#include "flashcore/tensor_views.hpp"

namespace flashcore {

namespace {
const detail::EnumName<DType> kDTypes[] = {{DType::f16, "f16"}, {DType::bf16, "bf16"}, {DType::f32, "f32"}};
// torch's names, as ../shared/bench/sdpa_anchor.py prints them.
const detail::EnumName<DType> kTorchNames[] = {{DType::f16, "float16"}, {DType::bf16, "bfloat16"}, {DType::f32, "float32"}};
}  // namespace

const char* to_string(DType dtype) { return detail::name_of(dtype, kDTypes); }
const char* torch_dtype_name(DType dtype) { return detail::name_of(dtype, kTorchNames); }

DType parse_dtype(const std::string& text) {
    if (auto d = detail::value_of(text, kDTypes)) return *d;
    if (auto d = detail::value_of(text, kTorchNames)) return *d;
    if (text == "fp16" || text == "half") return DType::f16;
    if (text == "fp32" || text == "float") return DType::f32;
    fail(Stage::validate, ErrorCode::bad_input, "dtype '" + text + "' is not one of: " + detail::names_of(kDTypes));
}

std::size_t dtype_bytes(DType dtype) { return dtype == DType::f32 ? 4 : 2; }

float AttentionProblem::effective_scale() const { return scale != 0.f ? scale : 1.f / std::sqrt(float(D)); }

double AttentionProblem::flops() const {
    return 4.0 * B * Hq * double(Sq) * Skv * D * (causal ? 0.5 : 1.0);
}

std::string AttentionProblem::to_string() const {
    std::ostringstream out;
    out << "B=" << B << ",Hq=" << Hq << ",Hkv=" << Hkv << ",Sq=" << Sq << ",Skv=" << Skv << ",D=" << D
        << ",causal=" << causal << ",dtype=" << flashcore::to_string(dtype);
    return out.str();
}

std::string AttentionProblem::invalid_reason() const {
    if (B < 1 || Hq < 1 || Hkv < 1 || Sq < 1 || Skv < 1 || D < 1) return "every size must be at least 1";
    if (Hq % Hkv != 0) return "Hq must be a multiple of Hkv (grouped-query attention)";
    if (D > 256) return "head dim above 256 is not supported";
    if (!std::isfinite(effective_scale())) return "scale must be finite";
    if (double(B) * Hq * Sq * D > double(1ll << 40)) return "tensors too large";
    return {};
}

void AttentionProblem::validate() const {
    if (std::string why = invalid_reason(); !why.empty())
        fail(Stage::validate, ErrorCode::bad_problem, "attention problem " + to_string() + ": " + why);
}

bool AttentionProblem::operator==(const AttentionProblem& o) const {
    return B == o.B && Hq == o.Hq && Hkv == o.Hkv && Sq == o.Sq && Skv == o.Skv && D == o.D && causal == o.causal &&
           dtype == o.dtype && scale == o.scale && with_lse == o.with_lse;
}

FcAttentionParams make_attention_params(const AttentionProblem& p, const AttentionBuffers& b, CUdeviceptr workspace) {
    return make_attention_params(p, AttentionTensors::contiguous(p, b), workspace);
}

}  // namespace flashcore

std::size_t std::hash<flashcore::AttentionProblem>::operator()(const flashcore::AttentionProblem& p) const noexcept {
    // -0 and 0 compare equal, so they must hash alike.
    std::uint32_t scale_bits = 0;
    if (p.scale != 0.f) std::memcpy(&scale_bits, &p.scale, sizeof scale_bits);
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::uint64_t v : {std::uint64_t(p.B), std::uint64_t(p.Hq), std::uint64_t(p.Hkv), std::uint64_t(p.Sq),
                            std::uint64_t(p.Skv), std::uint64_t(p.D), std::uint64_t(p.causal), std::uint64_t(p.dtype),
                            std::uint64_t(scale_bits), std::uint64_t(p.with_lse)})
        h = (h ^ v) * 0x100000001b3ull;
    return static_cast<std::size_t>(h);
}
