// The trainer's per-frame colour correction on the CPU: out = A rgb + b for every pixel, with
// [A | b] a 3x4 matrix, and its backward. torch runs it as a skinny matrix product whose
// forward and backward cost about a millisecond at 120x67 (more than the SSIM); here each is
// one pass. The matrix's gradient is summed per block of pixels in double, then the blocks
// in order, so it does not depend on the thread count.
#include <algorithm>
#include <vector>

#include "include/launchers.h"
#include "include/threads_cpu.h"

namespace sc {

void color_affine_fwd_cpu(int64_t pixels, const float* rgb, const float* affine, float* out) {
    const float* m = affine;
    parallel_range(pixels, 1.0, [&](int64_t lo, int64_t hi) {  // ns a pixel, serial (one thread, 1M pixels)
        for (int64_t p = lo; p < hi; ++p) {
            const float r = rgb[3 * p], g = rgb[3 * p + 1], b = rgb[3 * p + 2];
            for (int i = 0; i < 3; ++i) out[3 * p + i] = m[4 * i] * r + m[4 * i + 1] * g + m[4 * i + 2] * b + m[4 * i + 3];
        }
    });
}

void color_affine_bwd_cpu(int64_t pixels, const float* rgb, const float* affine, const float* v_out,
                          float* v_rgb, float* v_affine) {
    constexpr int64_t BLOCK = 1024;
    const int64_t blocks = (pixels + BLOCK - 1) / BLOCK;
    std::vector<double> partial(12 * static_cast<size_t>(blocks), 0.0);
    const float* m = affine;
    parallel_range(blocks, 4.0 * BLOCK, [&](int64_t first, int64_t last) {
        for (int64_t k = first; k < last; ++k) {
            float acc[12] = {};  // one block's sums stay small enough for float
            for (int64_t p = k * BLOCK; p < std::min(pixels, (k + 1) * BLOCK); ++p) {
                const float in[4] = {rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 1.0f};
                const float v[3] = {v_out[3 * p], v_out[3 * p + 1], v_out[3 * p + 2]};
                for (int j = 0; j < 3; ++j) v_rgb[3 * p + j] = m[j] * v[0] + m[4 + j] * v[1] + m[8 + j] * v[2];
                for (int i = 0; i < 3; ++i)
                    for (int j = 0; j < 4; ++j) acc[4 * i + j] += v[i] * in[j];
            }
            for (int q = 0; q < 12; ++q) partial[12 * k + q] = acc[q];
        }
    });
    double sum[12] = {};
    for (int64_t k = 0; k < blocks; ++k)
        for (int q = 0; q < 12; ++q) sum[q] += partial[12 * k + q];
    for (int q = 0; q < 12; ++q) v_affine[q] = static_cast<float>(sum[q]);
}

}  // namespace sc
