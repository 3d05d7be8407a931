// The element type of q, k, v and o: the variant's `dtype` param (FC_DTYPE, rendered by the
// host) as a C++ type, fc::elem_t. Math is fp32 whatever the element type.
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>

namespace fc {

// An enum value's macro exists only when the template's schema lists that value; an
// undefined macro would read as 0 in #if, so each test checks that it is defined.
#if defined(FC_DTYPE_F16) && FC_DTYPE == FC_DTYPE_F16
using elem_t = __half;
constexpr bool kElemBf16 = false;
#elif defined(FC_DTYPE_BF16) && FC_DTYPE == FC_DTYPE_BF16
using elem_t = __nv_bfloat16;
constexpr bool kElemBf16 = true;  // selects the bf16 forms of mma.sync and cvt.rn
#elif defined(FC_DTYPE_F32) && FC_DTYPE == FC_DTYPE_F32
using elem_t = float;
constexpr bool kElemBf16 = false;
#else
#error "FC_DTYPE must be one of the schema's dtype values f16, bf16 or f32 (common/dtype.cuh)"
#endif

}  // namespace fc
