// Host-side numerics for checking kernels: fp16/bf16 conversions, random inputs, the CPU
// fp64 reference attention and error statistics.
#pragma once

#include <cstdint>
#include <vector>

#include "flashcore/attention.hpp"

namespace flashcore {

std::uint16_t float_to_half_bits(float value);  // round to nearest even
float half_bits_to_float(std::uint16_t bits);
std::uint16_t float_to_bf16_bits(float value);  // round to nearest even
float bf16_bits_to_float(std::uint16_t bits);

// Inputs of one problem: the exact values the GPU sees (already rounded to the dtype),
// as floats, plus their encoded bytes for upload.
struct AttentionInputs {
    std::vector<float> q, k, v;
    std::vector<unsigned char> q_bytes, k_bytes, v_bytes;
};

// N(0,1) samples rounded to the problem's dtype, from `seed`.
AttentionInputs make_random_inputs(const AttentionProblem& problem, std::uint64_t seed);
// Encodes floats in `dtype` / decodes device bytes back to floats.
std::vector<unsigned char> encode(const std::vector<float>& values, DType dtype);
std::vector<float> decode(const std::vector<unsigned char>& bytes, DType dtype);

// Reference attention in fp64 on the CPU (threads over batch x head). `lse` may be null.
// Rows with no visible key give O = 0 and lse = -inf.
std::vector<double> cpu_reference_attention(const AttentionProblem& problem, const AttentionInputs& inputs,
                                            std::vector<double>* lse = nullptr);
// Scores S = scale * q.k (masked: -inf) and probabilities P, [B, Hq, Sq, Skv], fp64.
void cpu_reference_intermediates(const AttentionProblem& problem, const AttentionInputs& inputs,
                                 std::vector<double>* scores, std::vector<double>* probabilities);

struct ErrorStats {
    double max_abs = 0;
    double mean_abs = 0;
    std::size_t compared = 0;
    std::size_t non_finite = 0;  // NaN/inf where the reference is finite (unwritten or broken output)
    std::size_t worst_index = 0;

    bool within(double tolerance) const { return non_finite == 0 && compared > 0 && max_abs <= tolerance; }
};

// Element-wise |actual - expected|; positions where both are the same infinity match.
ErrorStats compare(const std::vector<float>& actual, const std::vector<double>& expected);
ErrorStats compare(const std::vector<float>& actual, const std::vector<float>& expected);

// The middle value (the upper one of an even count; -1 for none): how timings are reported.
double median(std::vector<double> values);

// The accuracy bar of the project: 2e-3 (f16), 1.6e-2 (bf16), 1e-4 (f32) max abs error.
double tolerance_for(DType dtype);

}  // namespace flashcore
