// Shared by g++ and nvcc: the constants of the algorithm, small vector helpers and a
// fast exp. Everything here must match splatcine/raster/reference.py.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

// SC_UNROLL before a short fixed-count loop: g++ must unroll it whole before it can
// vectorise the loop around it (the CPU projection runs one Gaussian per SIMD lane).
#if defined(__CUDACC__)
#define SC_UNROLL _Pragma("unroll")
#else
#define SC_UNROLL _Pragma("GCC unroll 16")
#endif

#if defined(__CUDACC__)
#define SC_HD __host__ __device__ __forceinline__
#else
// always inlined: the CPU loops vectorise only what g++ sees whole (projection_state is past
// its inlining limit otherwise)
#define SC_HD inline __attribute__((always_inline))
#endif

namespace sc {

constexpr float EPS2D = 0.3f;              // px^2 low-pass dilation of the 2D covariance
constexpr float ALPHA_MIN = 1.0f / 255.0f;  // a Gaussian below this alpha at a pixel is skipped
constexpr float ALPHA_MAX = 0.99f;          // alpha clamp
constexpr float T_MIN = 1e-4f;              // stop before transmittance falls below this
constexpr float FRUSTUM_SLACK = 1.3f;       // the Jacobian is evaluated inside 1.3x the view
constexpr int TILE = 16;                    // tile side in pixels (one AVX-512 row of floats)
constexpr int CHANNELS = 4;                 // blended per-Gaussian features: r, g, b, depth
constexpr int RASTER_GRADS = 10;            // per-entry gradients: mean2d(2) conic(3) opacity(1) features(4)

// min / max as plain comparisons: g++ neither vectorises nor inlines fminf / fmaxf while NaN
// semantics are kept (-fno-finite-math-only: each is a libm call, 8% of binning's time). With
// the second operand not NaN (every use here) they return what fminf / fmaxf return: the
// second operand when the first is NaN.
SC_HD float min_f(float a, float b) { return a < b ? a : b; }
SC_HD float max_f(float a, float b) { return a > b ? a : b; }

// fast_exp's reduced argument r = x - n ln2 (ln2 in two parts) and its polynomial p(r) ~ exp(r)
// on |r| <= ln2 / 2; templates, so the CPU compositing runs them on a register of lanes too.
template <class F> SC_HD F exp_reduce(F x, F n) { return x - n * 0.693359375f + n * 2.12194440e-4f; }
template <class F> SC_HD F exp_poly(F r) {
    F p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * r * r + r + 1.0f;
}

// exp for x <= 0 (the only use): 2^n * p(r) with |r| <= ln2 / 2, relative error ~2e-7,
// branch-free so g++ vectorises it; CUDA uses its intrinsic. Inputs below -80 return
// exp(-80) ~ 2e-35: far below any cut-off, and never a denormal (denormal arithmetic
// is ~100x slower on x86, and most pixels of a tile are far out in a Gaussian's tail).
SC_HD float fast_exp(float x) {
#if defined(__CUDA_ARCH__)
    return __expf(x);
#else
    x = max_f(x, -80.0f);
    const float n = floorf(x * 1.44269504088896341f + 0.5f);
    const float p = exp_poly(exp_reduce(x, n));
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
#endif
}

SC_HD bool is_finite(float v) { return v - v == 0.0f; }  // false for NaN and +-Inf

// Row-major 3x3 helpers: c = a * b, c = a * b^T, c = a^T * b.
SC_HD void mat3_mul(const float* a, const float* b, float* c) {
    SC_UNROLL
    for (int i = 0; i < 3; ++i)
        SC_UNROLL
        for (int j = 0; j < 3; ++j)
            c[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
}
SC_HD void mat3_mul_bt(const float* a, const float* b, float* c) {
    SC_UNROLL
    for (int i = 0; i < 3; ++i)
        SC_UNROLL
        for (int j = 0; j < 3; ++j)
            c[i * 3 + j] = a[i * 3] * b[j * 3] + a[i * 3 + 1] * b[j * 3 + 1] + a[i * 3 + 2] * b[j * 3 + 2];
}
SC_HD void mat3_mul_at(const float* a, const float* b, float* c) {
    SC_UNROLL
    for (int i = 0; i < 3; ++i)
        SC_UNROLL
        for (int j = 0; j < 3; ++j)
            c[i * 3 + j] = a[i] * b[j] + a[3 + i] * b[3 + j] + a[6 + i] * b[6 + j];
}

}  // namespace sc
