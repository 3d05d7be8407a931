// Special-register reads the compiler cannot merge with earlier ones (asm volatile). Reading
// %tid / %ctaid again after a long loop, instead of keeping values derived from them live
// across it, frees registers for the loop: the re-read costs one S2R each.
#pragma once

namespace fc {
namespace sreg {

__device__ __forceinline__ int tid_x() {
    int v;
    asm volatile("mov.u32 %0, %%tid.x;\n" : "=r"(v));
    return v;
}
__device__ __forceinline__ int ctaid_x() {
    int v;
    asm volatile("mov.u32 %0, %%ctaid.x;\n" : "=r"(v));
    return v;
}
__device__ __forceinline__ int ctaid_y() {
    int v;
    asm volatile("mov.u32 %0, %%ctaid.y;\n" : "=r"(v));
    return v;
}
__device__ __forceinline__ int ctaid_z() {
    int v;
    asm volatile("mov.u32 %0, %%ctaid.z;\n" : "=r"(v));
    return v;
}

}  // namespace sreg
}  // namespace fc
