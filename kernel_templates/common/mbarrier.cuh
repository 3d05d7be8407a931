// Shared-memory mbarriers (sm_90): phase-flipping barriers that count thread arrivals and, for
// the tensor-memory accelerator, expected transaction bytes. A barrier completes a phase when
// its arrival count is reached and every expected byte has landed; waiters poll a phase parity.
// A freshly initialised barrier is in phase 0: wait(b, 1) returns at once (the "previous" phase
// counts as complete), which lets a producer's first wait on an empty-slot barrier pass.
#pragma once

namespace fc {
namespace mbarrier {

__device__ __forceinline__ void init(unsigned addr, unsigned arrivals) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(addr), "r"(arrivals) : "memory");
}

// Makes initialised barriers visible to the other threads and to the async (TMA) proxy;
// follow with a CTA barrier before anyone uses them.
__device__ __forceinline__ void fence_init() {
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

__device__ __forceinline__ void arrive(unsigned addr) {
    asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.shared::cta.b64 state, [%0];\n}\n" ::"r"(addr) : "memory");
}

// Arrives and adds `bytes` to the transaction count the current phase waits for.
__device__ __forceinline__ void arrive_expect_tx(unsigned addr, unsigned bytes) {
    asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.expect_tx.shared::cta.b64 state, [%0], %1;\n}\n" ::"r"(addr),
                 "r"(bytes)
                 : "memory");
}

// Blocks until the phase with parity `parity` has completed.
__device__ __forceinline__ void wait(unsigned addr, unsigned parity) {
    unsigned done = 0;
    do {
        asm volatile(
            "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
            : "=r"(done)
            : "r"(addr), "r"(parity)
            : "memory");
    } while (!done);
}

}  // namespace mbarrier
}  // namespace fc
