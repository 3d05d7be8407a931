#include "flashcore/attention.hpp"

#include <cmath>
#include <sstream>
#include <vector>

#include "flashcore/driver.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

const char* to_string(DType dtype) {
    switch (dtype) {
        case DType::f16: return "f16";
        case DType::bf16: return "bf16";
        case DType::f32: return "f32";
    }
    return "?";
}

DType parse_dtype(const std::string& text) {
    if (text == "f16" || text == "fp16" || text == "half" || text == "float16") return DType::f16;
    if (text == "bf16" || text == "bfloat16") return DType::bf16;
    if (text == "f32" || text == "fp32" || text == "float" || text == "float32") return DType::f32;
    fail(Stage::validate, ErrorCode::bad_input, "dtype '" + text + "' is not one of: f16, bf16, f32");
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

void AttentionProblem::validate() const {
    auto bad = [&](const std::string& why) {
        fail(Stage::validate, ErrorCode::bad_problem, "attention problem " + to_string() + ": " + why);
    };
    if (B < 1 || Hq < 1 || Hkv < 1 || Sq < 1 || Skv < 1 || D < 1) bad("every size must be at least 1");
    if (Hq % Hkv != 0) bad("Hq must be a multiple of Hkv (grouped-query attention)");
    if (D > 256) bad("head dim above 256 is not supported");
    if (!std::isfinite(effective_scale())) bad("scale must be finite");
    double elements = double(B) * Hq * Sq * D;
    if (elements > double(1ll << 40)) bad("tensors too large");
}

AttentionProblem AttentionProblem::from_shape(const std::string& shape) {
    std::vector<int> parts;
    std::stringstream in(shape);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            size_t used = 0;
            parts.push_back(std::stoi(item, &used));
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            fail(Stage::validate, ErrorCode::bad_input, "shape '" + shape + "': '" + item + "' is not an integer");
        }
    }
    AttentionProblem p;
    if (parts.size() == 6) {
        p.B = parts[0], p.Hq = parts[1], p.Hkv = parts[2], p.Sq = parts[3], p.Skv = parts[4], p.D = parts[5];
    } else if (parts.size() == 4) {
        p.B = parts[0], p.Hq = p.Hkv = parts[1], p.Sq = p.Skv = parts[2], p.D = parts[3];
    } else {
        fail(Stage::validate, ErrorCode::bad_input, "shape '" + shape + "' must be B,Hq,Hkv,Sq,Skv,D or B,H,S,D");
    }
    return p;
}

NameLookup problem_names(const AttentionProblem& p, const DeviceInfo* device) {
    int sm = device ? device->sm : -1;
    int sms = device ? device->num_sms : -1;
    int optin = device ? device->smem_per_block_optin : -1;
    return [p, sm, sms, optin](const std::string& name) -> std::optional<Value> {
        if (name == "problem.B") return Value{std::int64_t{p.B}};
        if (name == "problem.Hq") return Value{std::int64_t{p.Hq}};
        if (name == "problem.Hkv") return Value{std::int64_t{p.Hkv}};
        if (name == "problem.Sq") return Value{std::int64_t{p.Sq}};
        if (name == "problem.Skv") return Value{std::int64_t{p.Skv}};
        if (name == "problem.D") return Value{std::int64_t{p.D}};
        if (name == "problem.causal") return Value{std::int64_t{p.causal}};
        if (name == "problem.dtype") return Value{std::string(flashcore::to_string(p.dtype))};
        if (name == "problem.has_lse") return Value{std::int64_t{p.with_lse}};
        if (name == "problem.sm" && sm >= 0) return Value{std::int64_t{sm}};
        if (name == "problem.num_sms" && sms >= 0) return Value{std::int64_t{sms}};
        if (name == "problem.smem_optin" && optin >= 0) return Value{std::int64_t{optin}};
        return std::nullopt;
    };
}

FcAttentionParams make_attention_params(const AttentionProblem& p, const AttentionBuffers& b, CUdeviceptr workspace) {
    FcAttentionParams params{};
    params.q = reinterpret_cast<const void*>(b.q);
    params.k = reinterpret_cast<const void*>(b.k);
    params.v = reinterpret_cast<const void*>(b.v);
    params.o = reinterpret_cast<void*>(b.o);
    auto strides = [&](long long* out, int heads, int rows) {
        out[2] = p.D;
        out[1] = static_cast<long long>(rows) * p.D;
        out[0] = static_cast<long long>(heads) * rows * p.D;
    };
    strides(params.q_stride, p.Hq, p.Sq);
    strides(params.o_stride, p.Hq, p.Sq);
    strides(params.k_stride, p.Hkv, p.Skv);
    strides(params.v_stride, p.Hkv, p.Skv);
    params.lse = reinterpret_cast<float*>(b.lse);
    params.debug = reinterpret_cast<float*>(b.debug);
    params.workspace = reinterpret_cast<void*>(workspace);
    params.B = p.B, params.Hq = p.Hq, params.Hkv = p.Hkv, params.Sq = p.Sq, params.Skv = p.Skv, params.D = p.D;
    params.causal = p.causal ? 1 : 0;
    params.scale = p.effective_scale();
    params.scale_log2 = params.scale * 1.4426950408889634f;
    return params;
}

}  // namespace flashcore
