// Split-KV arrival: the CTAs that share one output tile each publish a partial result to
// global memory, then count themselves in on a per-tile counter; the last to arrive sees
// every partial and combines them. It also resets the counter to zero, so the next launch
// (or CUDA-graph replay) finds it zeroed without a memset.
#pragma once

namespace fc {
namespace split_kv {

// Call from every thread of the CTA after its partial-result stores. Returns true in every
// thread of the CTA that arrived last (of `splits`). Pattern: each thread fences its own
// stores device-wide, the barrier orders those fences before thread 0's atomic, and the
// winner fences again before reading the others' partials (read them with ld.global.cg:
// L1 is not coherent across SMs).
__device__ __forceinline__ bool arrive_is_last(int* counter, int splits) {
    __threadfence();
    __syncthreads();
    int last = 0;
    if (threadIdx.x == 0) {
        const int before = atomicAdd(counter, 1);
        last = before == splits - 1;
        if (last) atomicExch(counter, 0);  // every split has arrived: nobody touches it again
    }
    last = __syncthreads_or(last);
    if (last) __threadfence();
    return last != 0;
}

}  // namespace split_kv
}  // namespace fc
