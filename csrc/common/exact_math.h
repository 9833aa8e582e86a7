// float and double a*b and a+b that the CUDA compiler may not contract into an FMA, so the device
// rounds each step exactly as the host (and NumPy) does where a comparison or a parity test depends
// on it. Shared by every op family's __host__ __device__ math header.
#pragma once

#if defined(__CUDACC__)
#define PPF_EXACT_HD __host__ __device__ __forceinline__
#else
#define PPF_EXACT_HD inline
#endif

namespace pyposefast {

PPF_EXACT_HD float fmul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

PPF_EXACT_HD float fadd_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

PPF_EXACT_HD double dmul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

PPF_EXACT_HD double dadd_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

}  // namespace pyposefast
