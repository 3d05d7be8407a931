#include "flashcore/tools/host_numeric.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "flashcore/tools/parallel.hpp"

namespace flashcore {

std::uint16_t float_to_half_bits(float value) {
    std::uint32_t x;
    std::memcpy(&x, &value, 4);
    std::uint32_t sign = (x >> 16) & 0x8000u;
    std::uint32_t exp = (x >> 23) & 0xffu;
    std::uint32_t mant = x & 0x7fffffu;
    if (exp == 0xffu) return static_cast<std::uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
    int e = static_cast<int>(exp) - 127 + 15;
    if (e >= 0x1f) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (e <= 0) {
        if (e < -10) return static_cast<std::uint16_t>(sign);  // underflow -> signed zero
        mant |= 0x800000u;
        int shift = 14 - e;
        std::uint32_t half = mant >> shift;
        std::uint32_t rest = mant & ((1u << shift) - 1);
        std::uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
        return static_cast<std::uint16_t>(sign | half);
    }
    std::uint32_t half = sign | (static_cast<std::uint32_t>(e) << 10) | (mant >> 13);
    std::uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // may carry into the exponent: correct
    return static_cast<std::uint16_t>(half);
}

float half_bits_to_float(std::uint16_t bits) {
    std::uint32_t sign = (bits & 0x8000u) << 16;
    std::uint32_t exp = (bits >> 10) & 0x1fu;
    std::uint32_t mant = bits & 0x3ffu;
    std::uint32_t out;
    if (exp == 0) {
        if (mant == 0) out = sign;
        else {
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while (!(mant & 0x400u));
            out = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 0x1f) {
        out = sign | 0x7f800000u | (mant << 13);
    } else {
        out = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &out, 4);
    return f;
}

std::uint16_t float_to_bf16_bits(float value) {
    std::uint32_t x;
    std::memcpy(&x, &value, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
    return static_cast<std::uint16_t>((x + rounding) >> 16);
}

float bf16_bits_to_float(std::uint16_t bits) {
    std::uint32_t x = static_cast<std::uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

std::vector<unsigned char> encode(const std::vector<float>& values, DType dtype) {
    std::vector<unsigned char> out(values.size() * dtype_bytes(dtype));
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (dtype == DType::f32) {
            std::memcpy(&out[i * 4], &values[i], 4);
            continue;
        }
        std::uint16_t bits = dtype == DType::f16 ? float_to_half_bits(values[i]) : float_to_bf16_bits(values[i]);
        std::memcpy(&out[i * 2], &bits, 2);
    }
    return out;
}

std::vector<float> decode(const std::vector<unsigned char>& bytes, DType dtype) {
    std::size_t n = bytes.size() / dtype_bytes(dtype);
    std::vector<float> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (dtype == DType::f32) {
            std::memcpy(&out[i], &bytes[i * 4], 4);
            continue;
        }
        std::uint16_t bits;
        std::memcpy(&bits, &bytes[i * 2], 2);
        out[i] = dtype == DType::f16 ? half_bits_to_float(bits) : bf16_bits_to_float(bits);
    }
    return out;
}

namespace {

std::vector<float> random_rounded(std::size_t n, DType dtype, std::mt19937_64& rng) {
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> out(n);
    for (auto& x : out) {
        float r = normal(rng);
        if (dtype == DType::f16) r = half_bits_to_float(float_to_half_bits(r));
        else if (dtype == DType::bf16) r = bf16_bits_to_float(float_to_bf16_bits(r));
        x = r;
    }
    return out;
}

int visible_keys(const AttentionProblem& p, int i) {
    if (!p.causal) return p.Skv;
    long last = static_cast<long>(i) + p.Skv - p.Sq;
    if (last < 0) return 0;
    return static_cast<int>(std::min<long>(last + 1, p.Skv));
}

// Runs fn(b, h) for every (batch, head) on a few threads.
template <class Fn>
void for_each_head(const AttentionProblem& p, Fn fn) {
    const int heads = p.Hq;
    parallel_for(std::size_t(p.B) * heads, [&](std::size_t bh) { fn(int(bh / heads), int(bh % heads)); },
                 hardware_threads(16));
}

// Scaled scores of query row i of head (b, h) against its visible keys, into s[0..keys);
// returns the number of visible keys and their maximum score in `max`.
int row_scores(const AttentionProblem& p, const AttentionInputs& in, int b, int h, int i, std::vector<double>& s,
               double& max) {
    const int hk = h / (p.Hq / p.Hkv);
    const double scale = p.effective_scale();
    const float* q = &in.q[((std::size_t(b) * p.Hq + h) * p.Sq + i) * p.D];
    const int keys = visible_keys(p, i);
    max = -std::numeric_limits<double>::infinity();
    for (int j = 0; j < keys; ++j) {
        const float* k = &in.k[((std::size_t(b) * p.Hkv + hk) * p.Skv + j) * p.D];
        double dot = 0;
        for (int d = 0; d < p.D; ++d) dot += double(q[d]) * k[d];
        s[j] = dot * scale;
        max = std::max(max, s[j]);
    }
    return keys;
}

}  // namespace

AttentionInputs make_random_inputs(const AttentionProblem& problem, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    AttentionInputs in;
    in.q = random_rounded(problem.q_elements(), problem.dtype, rng);
    in.k = random_rounded(problem.kv_elements(), problem.dtype, rng);
    in.v = random_rounded(problem.kv_elements(), problem.dtype, rng);
    in.q_bytes = encode(in.q, problem.dtype);
    in.k_bytes = encode(in.k, problem.dtype);
    in.v_bytes = encode(in.v, problem.dtype);
    return in;
}

std::vector<double> cpu_reference_attention(const AttentionProblem& p, const AttentionInputs& in,
                                            std::vector<double>* lse) {
    std::vector<double> out(p.q_elements(), 0.0);
    if (lse) lse->assign(p.lse_elements(), 0.0);
    const int group = p.Hq / p.Hkv;
    for_each_head(p, [&](int b, int h) {
        const int hk = h / group;
        std::vector<double> s(p.Skv);
        for (int i = 0; i < p.Sq; ++i) {
            double m = 0;
            const int keys = row_scores(p, in, b, h, i, s, m);
            double sum = 0;
            double* o = &out[((std::size_t(b) * p.Hq + h) * p.Sq + i) * p.D];
            for (int j = 0; j < keys; ++j) {
                double w = std::exp(s[j] - m);
                sum += w;
                const float* v = &in.v[((std::size_t(b) * p.Hkv + hk) * p.Skv + j) * p.D];
                for (int d = 0; d < p.D; ++d) o[d] += w * v[d];
            }
            if (keys > 0)
                for (int d = 0; d < p.D; ++d) o[d] /= sum;
            if (lse)
                (*lse)[(std::size_t(b) * p.Hq + h) * p.Sq + i] =
                    keys > 0 ? m + std::log(sum) : -std::numeric_limits<double>::infinity();
        }
    });
    return out;
}

void cpu_reference_intermediates(const AttentionProblem& p, const AttentionInputs& in, std::vector<double>* scores,
                                 std::vector<double>* probabilities) {
    const std::size_t n = std::size_t(p.B) * p.Hq * p.Sq * p.Skv;
    if (scores) scores->assign(n, -std::numeric_limits<double>::infinity());
    if (probabilities) probabilities->assign(n, 0.0);
    for_each_head(p, [&](int b, int h) {
        std::vector<double> s(p.Skv);
        for (int i = 0; i < p.Sq; ++i) {
            double m = 0;
            const int keys = row_scores(p, in, b, h, i, s, m);
            const std::size_t row = ((std::size_t(b) * p.Hq + h) * p.Sq + i) * p.Skv;
            if (scores) std::copy(s.begin(), s.begin() + keys, scores->begin() + static_cast<std::ptrdiff_t>(row));
            if (!probabilities || keys == 0) continue;
            double sum = 0;
            for (int j = 0; j < keys; ++j) sum += std::exp(s[j] - m);
            for (int j = 0; j < keys; ++j) (*probabilities)[row + j] = std::exp(s[j] - m) / sum;
        }
    });
}

namespace {
template <class T>
ErrorStats compare_impl(const std::vector<float>& actual, const std::vector<T>& expected) {
    ErrorStats stats;
    double total = 0;
    const std::size_t n = std::min(actual.size(), expected.size());
    for (std::size_t i = 0; i < n; ++i) {
        double a = actual[i];
        double e = static_cast<double>(expected[i]);
        if (std::isinf(e) && a == e) {
            ++stats.compared;
            continue;
        }
        if (!std::isfinite(a) || !std::isfinite(e)) {
            if (stats.non_finite++ == 0) stats.worst_index = i;
            stats.max_abs = std::numeric_limits<double>::infinity();
            continue;
        }
        double err = std::fabs(a - e);
        total += err;
        ++stats.compared;
        if (err > stats.max_abs && stats.non_finite == 0) {
            stats.max_abs = err;
            stats.worst_index = i;
        }
    }
    if (actual.size() != expected.size()) stats.non_finite += std::max(actual.size(), expected.size()) - n;
    stats.mean_abs = stats.compared ? total / stats.compared : 0;
    return stats;
}
}  // namespace

ErrorStats compare(const std::vector<float>& actual, const std::vector<double>& expected) {
    return compare_impl(actual, expected);
}
ErrorStats compare(const std::vector<float>& actual, const std::vector<float>& expected) {
    return compare_impl(actual, expected);
}

double median(std::vector<double> values) {
    if (values.empty()) return -1;
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

double tolerance_for(DType dtype) {
    switch (dtype) {
        case DType::f16: return 2e-3;
        case DType::bf16: return 1.6e-2;
        case DType::f32: return 1e-4;
    }
    return 0;
}

}  // namespace flashcore
