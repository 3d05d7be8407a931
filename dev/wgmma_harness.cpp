// Development harness for attention_wgmma before the library can launch tensor-map kernels:
// loads cubins compiled by `flashcore build`, encodes the four tensor maps, runs each variant
// on awkward shapes against a CPU fp64 reference (fresh N(0,1) inputs, NaN-poisoned outputs),
// and times large shapes. Build on the GPU machine:
//   g++ -O2 -std=c++17 -I/usr/local/cuda/include -I<kernel_templates>/common dev/wgmma_harness.cpp -lcuda -lpthread
// Usage: harness MANIFEST check|time|both [LINE]
// MANIFEST lines: label cubin lowered threads smem block_m persistent dtype head_dim causal stage
#include <cuda.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "attention_params.h"

#define CK(x)                                                                                   \
    do {                                                                                        \
        CUresult rc_ = (x);                                                                     \
        if (rc_ != CUDA_SUCCESS) {                                                              \
            const char* s_ = nullptr;                                                           \
            cuGetErrorString(rc_, &s_);                                                         \
            std::fprintf(stderr, "%s:%d %s -> %d (%s)\n", __FILE__, __LINE__, #x, rc_, s_ ? s_ : "?"); \
            std::exit(3);                                                                       \
        }                                                                                       \
    } while (0)

struct Variant {
    std::string label, cubin, lowered;
    int threads = 0, smem = 0, block_m = 0, block_n = 0, persistent = 0, bf16 = 0, d = 0, causal = 0, stage_qk = 0;
    CUmodule module = nullptr;
    CUfunction fn = nullptr;
};

static uint16_t f2bf(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    uint32_t r = u + 0x7fff + ((u >> 16) & 1);
    return uint16_t(r >> 16);
}
static float bf2f(uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
static uint16_t f2h(float f) {  // round to nearest even, normals/subnormals/inf
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int exp = int((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff) return uint16_t(sign | 0x7c00 | (mant ? 0x200 : 0));
    if (exp >= 31) return uint16_t(sign | 0x7c00);
    if (exp <= 0) {
        if (exp < -10) return uint16_t(sign);
        mant |= 0x800000;
        int shift = 14 - exp;
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) ++half;
        return uint16_t(sign | half);
    }
    uint32_t half = sign | (uint32_t(exp) << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;
    return uint16_t(half);
}
static float h2f(uint16_t h) {
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    uint32_t u;
    if (exp == 0) {
        if (mant == 0) u = sign;
        else {
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while (!(mant & 0x400));
            u = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
        }
    } else if (exp == 31) u = sign | 0x7f800000u | mant << 13;
    else u = sign | (exp + 127 - 15) << 23 | mant << 13;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

struct Shape {
    int B, Hq, Hkv, Sq, Skv;
    bool bshd;  // q/k/v/o laid out [B, S, H, D] instead of [B, H, S, D]
    bool lse;
};

struct Tensor {
    CUdeviceptr ptr = 0;
    size_t bytes = 0;
    long long stride[3] = {0, 0, 0};  // elements: batch, head, row
};

static Tensor alloc_tensor(int B, int H, int S, int D, bool bshd) {
    Tensor t;
    t.bytes = size_t(B) * H * S * D * 2;
    CK(cuMemAlloc(&t.ptr, t.bytes));
    if (bshd) {
        t.stride[2] = (long long)H * D;
        t.stride[1] = D;
        t.stride[0] = (long long)S * H * D;
    } else {
        t.stride[2] = D;
        t.stride[1] = (long long)S * D;
        t.stride[0] = (long long)H * S * D;
    }
    return t;
}

static CUtensorMap encode(const Tensor& t, int D, int S, int H, int B, int box_rows, bool bf16, bool l2_256) {
    CUtensorMap m;
    cuuint64_t dims[4] = {cuuint64_t(D), cuuint64_t(S), cuuint64_t(H), cuuint64_t(B)};
    cuuint64_t strides[3] = {cuuint64_t(t.stride[2] * 2), cuuint64_t(t.stride[1] * 2), cuuint64_t(t.stride[0] * 2)};
    cuuint32_t box[4] = {64, cuuint32_t(box_rows), 1, 1};
    cuuint32_t es[4] = {1, 1, 1, 1};
    CK(cuTensorMapEncodeTiled(&m, bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4,
                              reinterpret_cast<void*>(t.ptr), dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                              CU_TENSOR_MAP_SWIZZLE_128B,
                              l2_256 ? CU_TENSOR_MAP_L2_PROMOTION_L2_256B : CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
    return m;
}

static int visible(int causal, int Sq, int Skv, int i) {
    if (!causal) return Skv;
    int last = i + Skv - Sq;
    if (last < 0) return 0;
    return std::min(last + 1, Skv);
}

struct Run {
    double max_err = 0, lse_err = 0;
    size_t nonfinite = 0, checked = 0;
    double us = -1;
};

// Host copies as floats in [B,H,S,D] order (values already rounded to the dtype).
struct HostInputs {
    std::vector<float> q, k, v;
};

static void upload(const Tensor& t, const std::vector<float>& vals, int B, int H, int S, int D, bool bf16) {
    std::vector<uint16_t> buf(t.bytes / 2);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int s = 0; s < S; ++s)
                for (int d = 0; d < D; ++d) {
                    float x = vals[((size_t(b) * H + h) * S + s) * D + d];
                    buf[b * t.stride[0] + h * t.stride[1] + s * t.stride[2] + d] = bf16 ? f2bf(x) : f2h(x);
                }
    CK(cuMemcpyHtoD(t.ptr, buf.data(), t.bytes));
}

static std::vector<float> download(const Tensor& t, int B, int H, int S, int D, bool bf16) {
    std::vector<uint16_t> buf(t.bytes / 2);
    CK(cuMemcpyDtoH(buf.data(), t.ptr, t.bytes));
    std::vector<float> out(size_t(B) * H * S * D);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int s = 0; s < S; ++s)
                for (int d = 0; d < D; ++d) {
                    uint16_t x = buf[b * t.stride[0] + h * t.stride[1] + s * t.stride[2] + d];
                    out[((size_t(b) * H + h) * S + s) * D + d] = bf16 ? bf2f(x) : h2f(x);
                }
    return out;
}

// fp64 reference; o [B,Hq,Sq,D], lse [B,Hq,Sq], scores (stage=qk) [B,Hq,Sq,Skv]
static void reference(const Shape& sh, int D, int causal, const HostInputs& in, std::vector<double>& o,
                      std::vector<double>& lse, std::vector<double>* scores) {
    const double scale = 1.0 / std::sqrt(double(D));
    o.assign(size_t(sh.B) * sh.Hq * sh.Sq * D, 0.0);
    lse.assign(size_t(sh.B) * sh.Hq * sh.Sq, 0.0);
    if (scores) scores->assign(size_t(sh.B) * sh.Hq * sh.Sq * sh.Skv, -INFINITY);
    const int groups = sh.Hq / sh.Hkv;
    auto work = [&](int bh) {
        int b = bh / sh.Hq, h = bh % sh.Hq, hk = h / groups;
        std::vector<double> s(sh.Skv);
        for (int i = 0; i < sh.Sq; ++i) {
            const float* qi = &in.q[((size_t(b) * sh.Hq + h) * sh.Sq + i) * D];
            int vis = visible(causal, sh.Sq, sh.Skv, i);
            double mx = -INFINITY;
            for (int j = 0; j < vis; ++j) {
                const float* kj = &in.k[((size_t(b) * sh.Hkv + hk) * sh.Skv + j) * D];
                double acc = 0;
                for (int d = 0; d < D; ++d) acc += double(qi[d]) * kj[d];
                s[j] = acc * scale;
                mx = std::max(mx, s[j]);
                if (scores) (*scores)[((size_t(b) * sh.Hq + h) * sh.Sq + i) * sh.Skv + j] = s[j];
            }
            double* oi = &o[((size_t(b) * sh.Hq + h) * sh.Sq + i) * D];
            if (vis == 0) {
                lse[(size_t(b) * sh.Hq + h) * sh.Sq + i] = -INFINITY;
                continue;
            }
            double sum = 0;
            for (int j = 0; j < vis; ++j) {
                s[j] = std::exp(s[j] - mx);
                sum += s[j];
            }
            for (int j = 0; j < vis; ++j) {
                const float* vj = &in.v[((size_t(b) * sh.Hkv + hk) * sh.Skv + j) * D];
                double w = s[j] / sum;
                for (int d = 0; d < D; ++d) oi[d] += w * vj[d];
            }
            lse[(size_t(b) * sh.Hq + h) * sh.Sq + i] = mx + std::log(sum);
        }
    };
    int total = sh.B * sh.Hq;
    unsigned nt = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < nt; ++t)
        pool.emplace_back([&, t] {
            for (int bh = int(t); bh < total; bh += int(nt)) work(bh);
        });
    for (auto& th : pool) th.join();
}

static int num_sms = 0;

static Run run_variant(Variant& v, const Shape& sh, bool check, int time_iters, uint64_t seed) {
    Run r;
    const int D = v.d;
    const bool bf = v.bf16;
    Tensor q = alloc_tensor(sh.B, sh.Hq, sh.Sq, D, sh.bshd), k = alloc_tensor(sh.B, sh.Hkv, sh.Skv, D, sh.bshd),
           vv = alloc_tensor(sh.B, sh.Hkv, sh.Skv, D, sh.bshd), o = alloc_tensor(sh.B, sh.Hq, sh.Sq, D, sh.bshd);
    HostInputs in;
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    auto fill = [&](std::vector<float>& x, size_t n) {
        x.resize(n);
        for (auto& e : x) {
            float f = nd(rng);
            e = bf ? bf2f(f2bf(f)) : h2f(f2h(f));
        }
    };
    fill(in.q, size_t(sh.B) * sh.Hq * sh.Sq * D);
    fill(in.k, size_t(sh.B) * sh.Hkv * sh.Skv * D);
    fill(in.v, size_t(sh.B) * sh.Hkv * sh.Skv * D);
    upload(q, in.q, sh.B, sh.Hq, sh.Sq, D, bf);
    upload(k, in.k, sh.B, sh.Hkv, sh.Skv, D, bf);
    upload(vv, in.v, sh.B, sh.Hkv, sh.Skv, D, bf);
    CK(cuMemsetD16(o.ptr, bf ? 0x7fc0 : 0x7e00, o.bytes / 2));  // NaN poison
    CUdeviceptr lse = 0, dbg = 0;
    size_t lse_n = size_t(sh.B) * sh.Hq * sh.Sq, dbg_n = size_t(sh.B) * sh.Hq * sh.Sq * sh.Skv;
    if (sh.lse) {
        CK(cuMemAlloc(&lse, lse_n * 4));
        CK(cuMemsetD32(lse, 0x7fc00000u, lse_n));
    }
    if (v.stage_qk) {
        CK(cuMemAlloc(&dbg, dbg_n * 4));
        CK(cuMemsetD32(dbg, 0x7fc00000u, dbg_n));
    }
    FcAttentionParams p{};
    p.q = reinterpret_cast<const void*>(q.ptr);
    p.k = reinterpret_cast<const void*>(k.ptr);
    p.v = reinterpret_cast<const void*>(vv.ptr);
    p.o = reinterpret_cast<void*>(o.ptr);
    for (int i = 0; i < 3; ++i) {
        p.q_stride[i] = q.stride[i];
        p.k_stride[i] = k.stride[i];
        p.v_stride[i] = vv.stride[i];
        p.o_stride[i] = o.stride[i];
    }
    p.lse = reinterpret_cast<float*>(lse);
    p.debug = reinterpret_cast<float*>(dbg);
    p.B = sh.B, p.Hq = sh.Hq, p.Hkv = sh.Hkv, p.Sq = sh.Sq, p.Skv = sh.Skv, p.D = D;
    p.causal = v.causal;
    p.scale = 1.f / std::sqrt(float(D));
    p.scale_log2 = p.scale * 1.4426950408889634f;
    CUtensorMap tq = encode(q, D, sh.Sq, sh.Hq, sh.B, v.block_m, bf, false);
    CUtensorMap tk = encode(k, D, sh.Skv, sh.Hkv, sh.B, v.block_n, bf, true);
    CUtensorMap tv = encode(vv, D, sh.Skv, sh.Hkv, sh.B, v.block_n, bf, true);
    CUtensorMap to = encode(o, D, sh.Sq, sh.Hq, sh.B, 64, bf, false);
    void* args[] = {&p, &tq, &tk, &tv, &to};
    long long tiles = (long long)((sh.Sq + v.block_m - 1) / v.block_m) * sh.Hq * sh.B;
    unsigned grid = unsigned(v.persistent ? std::min<long long>(tiles, num_sms) : tiles);
    CK(cuLaunchKernel(v.fn, grid, 1, 1, v.threads, 1, 1, v.smem, nullptr, args, nullptr));
    CUresult rc = cuCtxSynchronize();
    if (rc != CUDA_SUCCESS) {
        const char* s = nullptr;
        cuGetErrorString(rc, &s);
        std::printf("FAULT %s: %s\n", v.label.c_str(), s ? s : "?");
        std::fflush(stdout);
        std::exit(4);
    }
    if (check) {
        std::vector<double> ro, rl, rs;
        reference(sh, D, v.causal, in, ro, rl, v.stage_qk ? &rs : nullptr);
        if (v.stage_qk) {
            std::vector<float> got(dbg_n);
            CK(cuMemcpyDtoH(got.data(), dbg, dbg_n * 4));
            size_t shown = 0;
            for (size_t i = 0; i < dbg_n; ++i) {
                ++r.checked;
                if (std::isinf(rs[i]) && std::isinf(got[i]) && (rs[i] < 0) == (got[i] < 0)) continue;
                if (!std::isfinite(got[i])) {
                    ++r.nonfinite;
                    if (shown++ < 5) std::printf("   S[%zu] got %g want %g\n", i, got[i], rs[i]);
                    continue;
                }
                double e = std::fabs(got[i] - rs[i]);
                if (e > r.max_err) r.max_err = e;
                if (e > 0.05 && shown++ < 5) std::printf("   S[%zu] got %g want %g\n", i, got[i], rs[i]);
            }
        } else {
            std::vector<float> got = download(o, sh.B, sh.Hq, sh.Sq, D, bf);
            size_t shown = 0;
            for (size_t i = 0; i < got.size(); ++i) {
                ++r.checked;
                if (!std::isfinite(got[i])) {
                    ++r.nonfinite;
                    if (shown++ < 5) std::printf("   O[%zu] (row %zu col %zu) got %g want %g\n", i, i / D, i % D, got[i], ro[i]);
                    continue;
                }
                double e = std::fabs(got[i] - ro[i]);
                if (e > r.max_err) r.max_err = e;
                if (e > 0.05 && shown++ < 5)
                    std::printf("   O[%zu] (row %zu col %zu) got %g want %g\n", i, i / D, i % D, got[i], ro[i]);
            }
            if (sh.lse) {
                std::vector<float> gl(lse_n);
                CK(cuMemcpyDtoH(gl.data(), lse, lse_n * 4));
                for (size_t i = 0; i < lse_n; ++i) {
                    if (std::isinf(rl[i]) && std::isinf(gl[i]) && gl[i] < 0) continue;
                    if (!std::isfinite(gl[i])) {
                        ++r.nonfinite;
                        continue;
                    }
                    r.lse_err = std::max(r.lse_err, std::fabs(gl[i] - rl[i]));
                }
            }
        }
    }
    if (time_iters > 0) {
        CUevent a, b;
        CK(cuEventCreate(&a, 0));
        CK(cuEventCreate(&b, 0));
        for (int i = 0; i < 3; ++i) CK(cuLaunchKernel(v.fn, grid, 1, 1, v.threads, 1, 1, v.smem, nullptr, args, nullptr));
        std::vector<float> ts;
        for (int rep = 0; rep < 5; ++rep) {
            CK(cuEventRecord(a, nullptr));
            for (int i = 0; i < time_iters; ++i)
                CK(cuLaunchKernel(v.fn, grid, 1, 1, v.threads, 1, 1, v.smem, nullptr, args, nullptr));
            CK(cuEventRecord(b, nullptr));
            CK(cuEventSynchronize(b));
            float ms = 0;
            CK(cuEventElapsedTime(&ms, a, b));
            ts.push_back(ms * 1000.f / time_iters);
        }
        std::sort(ts.begin(), ts.end());
        r.us = ts[ts.size() / 2];
        CK(cuEventDestroy(a));
        CK(cuEventDestroy(b));
    }
    for (CUdeviceptr x : {q.ptr, k.ptr, vv.ptr, o.ptr, lse, dbg})
        if (x) CK(cuMemFree(x));
    return r;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MANIFEST check|time|both\n", argv[0]);
        return 2;
    }
    std::string mode = argv[2];
    CK(cuInit(0));
    CUdevice dev;
    CK(cuDeviceGet(&dev, 0));
    CUcontext ctx;
    CK(cuDevicePrimaryCtxRetain(&ctx, dev));
    CK(cuCtxSetCurrent(ctx));
    CK(cuDeviceGetAttribute(&num_sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
    std::ifstream man(argv[1]);
    std::string line;
    int failures = 0;
    uint64_t seed = 0x5eed0000ull ^ uint64_t(std::random_device{}());
    const int only = argc > 3 ? std::atoi(argv[3]) : -1;  // run manifest line `only` (0-based) alone
    int index = -1;
    while (std::getline(man, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (++index != only && only >= 0) continue;
        std::istringstream ls(line);
        Variant v;
        std::string dtype, stage;
        ls >> v.label >> v.cubin >> v.lowered >> v.threads >> v.smem >> v.block_m >> v.block_n >> v.persistent >> dtype >>
            v.d >> v.causal >> stage;
        v.bf16 = dtype == "bf16";
        v.stage_qk = stage == "qk";
        std::ifstream f(v.cubin, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        CK(cuModuleLoadData(&v.module, bytes.data()));
        CK(cuModuleGetFunction(&v.fn, v.module, v.lowered.c_str()));
        CK(cuFuncSetAttribute(v.fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, v.smem));
        const double tol = v.bf16 ? 1.6e-2 : 2e-3;
        if (mode == "check" || mode == "both") {
            std::vector<Shape> shapes = {{1, 2, 2, 128, 128, false, true},   {1, 2, 1, 77, 1013, false, true},
                                         {2, 3, 1, 1013, 77, false, true},   {1, 4, 4, 1, 333, false, true},
                                         {1, 32, 8, 193, 257, true, true},   {2, 4, 1, 200, 300, false, false},
                                         {1, 2, 2, 1, 1, false, true},       {1, 1, 1, 4097, 4097, false, true}};
            for (const Shape& sh : shapes) {
                Run r = run_variant(v, sh, true, 0, seed++);
                bool ok = r.nonfinite == 0 && r.max_err <= tol && r.lse_err <= tol && r.checked > 0;
                failures += !ok;
                std::printf("%s %-28s B=%d Hq=%d Hkv=%d Sq=%d Skv=%d %s err %.3g lse %.3g nonfinite %zu\n",
                            ok ? "PASS" : "FAIL", v.label.c_str(), sh.B, sh.Hq, sh.Hkv, sh.Sq, sh.Skv,
                            sh.bshd ? "bshd" : "bhsd", r.max_err, r.lse_err, r.nonfinite);
                std::fflush(stdout);
            }
        }
        if ((mode == "time" || mode == "both") && !v.stage_qk) {
            std::vector<Shape> shapes;
            if (v.d <= 64) shapes = {{4, 32, 32, 4096, 4096, false, false}, {2, 32, 32, 8192, 8192, false, false},
                                     {1, 8, 8, 512, 512, false, false}};
            else if (v.d <= 128) shapes = {{4, 16, 16, 4096, 4096, false, false}, {2, 16, 16, 8192, 8192, false, false},
                                           {1, 16, 16, 16384, 16384, false, false}, {8, 16, 16, 2048, 2048, false, false},
                                           {1, 32, 32, 512, 512, false, false}};
            else shapes = {{2, 8, 8, 8192, 8192, false, false}, {1, 8, 8, 16384, 16384, false, false}};
            for (const Shape& sh : shapes) {
                Run r = run_variant(v, sh, false, 20, seed++);
                double flops = 4.0 * sh.B * sh.Hq * double(sh.Sq) * sh.Skv * v.d * (v.causal ? 0.5 : 1.0);
                std::printf("TIME %-28s B=%d H=%d S=%d D=%d causal=%d %9.2f us %7.1f TFLOP/s\n", v.label.c_str(), sh.B,
                            sh.Hq, sh.Sq, v.d, v.causal, r.us, flops / r.us / 1e6);
                std::fflush(stdout);
            }
        }
        CK(cuModuleUnload(v.module));
    }
    std::printf("failures: %d\n", failures);
    return failures ? 1 : 0;
}
