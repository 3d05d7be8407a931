// Test-only template with the attention signature. Not attention: o = q (copy), so launch
// mechanics can be tested in isolation. `smem_kb` requests dynamic shared memory that the
// kernel touches; `fault=oob` writes far outside o (a planted illegal address).
#include "common/attention_params.h"
#include "common/toy_helper.cuh"

namespace toy {

__global__ void __launch_bounds__(FC_THREADS) copy_kernel(const FcAttentionParams p) {
    extern __shared__ unsigned char scratch[];
    const long long total = (long long)p.B * p.Hq * p.Sq * p.D;
    const __half* q = static_cast<const __half*>(p.q);
    __half* o = static_cast<__half*>(p.o);
#if FC_SMEM_BYTES > 0
    // Touch both ends of the dynamic allocation so an undersized launch would fault.
    if (threadIdx.x == 0) {
        scratch[0] = 1;
        scratch[FC_SMEM_BYTES - 1] = 1;
    }
    __syncthreads();
#endif
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
        o[i] = __float2half(fc::to_float(q[i]) * twice(0.5f));
#if FC_FAULT == FC_FAULT_OOB
    o[total + (1ll << 36) + threadIdx.x] = __float2half(1.f);
#endif
}

}  // namespace toy
