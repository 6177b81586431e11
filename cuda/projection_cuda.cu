// CUDA projection and SH colour: one thread per Gaussian, the math in
// include/projection.h and include/sh.h (the same code the CPU path runs).
#include <cuda_runtime.h>

#include "include/launchers.h"
#include "include/sh.h"

namespace sc {

namespace {

constexpr int THREADS = 256;

int blocks_for(int n) { return (n + THREADS - 1) / THREADS; }

__global__ void project_fwd_kernel(int n, const float* means, const float* quats, const float* scales,
                                   const float* opacities, PinholeCamera cam, bool antialiased,
                                   float* means2d, float* depths, float* conics, float* comps,
                                   int32_t* radii) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    radii[i] = project_fwd(means + 3 * i, quats + 4 * i, scales + 3 * i, opacities[i], cam,
                           antialiased, means2d + 2 * i, depths + i, conics + 3 * i, comps + i);
}

__global__ void project_bwd_kernel(int n, const float* means, const float* quats, const float* scales,
                                   PinholeCamera cam, bool antialiased, const int32_t* radii,
                                   const float* v_means2d, const float* v_depths,
                                   const float* v_conics, const float* v_comps, float* v_means,
                                   float* v_quats, float* v_scales) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (radii[i] <= 0) {
        for (int j = 0; j < 3; ++j) v_means[3 * i + j] = v_scales[3 * i + j] = 0.0f;
        for (int j = 0; j < 4; ++j) v_quats[4 * i + j] = 0.0f;
        return;
    }
    project_bwd(means + 3 * i, quats + 4 * i, scales + 3 * i, cam, antialiased, v_means2d + 2 * i,
                v_depths[i], v_conics + 3 * i, v_comps[i], v_means + 3 * i, v_quats + 4 * i,
                v_scales + 3 * i);
}

__global__ void sh_fwd_kernel(int n, int k, int degree, const float* dirs, const float* coeffs,
                              const int32_t* radii, float* colors) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (radii[i] <= 0) {
        colors[3 * i] = colors[3 * i + 1] = colors[3 * i + 2] = 0.0f;
        return;
    }
    sh_fwd(degree, dirs + 3 * i, coeffs + 3 * k * i, colors + 3 * i);
}

__global__ void sh_bwd_kernel(int n, int k, int degree, const float* dirs, const float* coeffs,
                              const int32_t* radii, const float* v_colors, float* v_coeffs,
                              float* v_dirs) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float* vc = v_coeffs + 3 * k * i;
    for (int j = 0; j < 3 * k; ++j) vc[j] = 0.0f;
    v_dirs[3 * i] = v_dirs[3 * i + 1] = v_dirs[3 * i + 2] = 0.0f;
    if (radii[i] <= 0) return;
    sh_bwd(degree, dirs + 3 * i, coeffs + 3 * k * i, v_colors + 3 * i, vc, v_dirs + 3 * i);
}

}  // namespace

void project_fwd_cuda(int n, const float* means, const float* quats, const float* scales,
                      const float* opacities, PinholeCamera cam, bool antialiased, float* means2d,
                      float* depths, float* conics, float* comps, int32_t* radii, void* stream) {
    if (n == 0) return;
    project_fwd_kernel<<<blocks_for(n), THREADS, 0, static_cast<cudaStream_t>(stream)>>>(
        n, means, quats, scales, opacities, cam, antialiased, means2d, depths, conics, comps, radii);
}

void project_bwd_cuda(int n, const float* means, const float* quats, const float* scales,
                      PinholeCamera cam, bool antialiased, const int32_t* radii,
                      const float* v_means2d, const float* v_depths, const float* v_conics,
                      const float* v_comps, float* v_means, float* v_quats, float* v_scales,
                      void* stream) {
    if (n == 0) return;
    project_bwd_kernel<<<blocks_for(n), THREADS, 0, static_cast<cudaStream_t>(stream)>>>(
        n, means, quats, scales, cam, antialiased, radii, v_means2d, v_depths, v_conics, v_comps,
        v_means, v_quats, v_scales);
}

void sh_fwd_cuda(int n, int k, int degree, const float* dirs, const float* coeffs,
                 const int32_t* radii, float* colors, void* stream) {
    if (n == 0) return;
    sh_fwd_kernel<<<blocks_for(n), THREADS, 0, static_cast<cudaStream_t>(stream)>>>(
        n, k, degree, dirs, coeffs, radii, colors);
}

void sh_bwd_cuda(int n, int k, int degree, const float* dirs, const float* coeffs,
                 const int32_t* radii, const float* v_colors, float* v_coeffs, float* v_dirs,
                 void* stream) {
    if (n == 0) return;
    sh_bwd_kernel<<<blocks_for(n), THREADS, 0, static_cast<cudaStream_t>(stream)>>>(
        n, k, degree, dirs, coeffs, radii, v_colors, v_coeffs, v_dirs);
}

}  // namespace sc
