// Test-only template reproducing the seed's bug in isolation: a WMMA store into a
// per-thread local array. NVRTC warns "cannot perform wmma load or store on local memory".
#include <mma.h>
#include "common/attention_params.h"

namespace seed_bug {

__global__ void kernel(const FcAttentionParams p) {
    using namespace nvcuda;
    float tile[16 * 16];  // per-thread local memory: the bug
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 1.0f);
    wmma::store_matrix_sync(tile, acc, 16, wmma::mem_row_major);
    static_cast<float*>(p.o)[threadIdx.x] = tile[threadIdx.x % 256];
}

}  // namespace seed_bug
