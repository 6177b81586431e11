// The elementwise steps between the CPU kernels of a render: SH directions, the colour's
// clamp, packing colour and depth to blend, and the background under the blend. Each was a
// torch op (and an autograd node) of its own; together about 0.5 ms of a 120x67 training
// step, several times their arithmetic. Same float operations as the torch ops they replace.
// Serial costs in the regions' clauses: one thread, 1M units, this machine's AVX-512 cores.
#include "include/launchers.h"
#include "include/threads_cpu.h"

namespace sc {

void sh_dirs_cpu(int n, const float* means, const float* cam_from_world, float* dirs) {
    const float* v = cam_from_world;  // [4, 4] row-major: R = v[0:3, 0:3], t = v[0:3, 3]
    float centre[3];                  // -R^T t
    for (int j = 0; j < 3; ++j) centre[j] = -(v[j] * v[3] + v[4 + j] * v[7] + v[8 + j] * v[11]);
#pragma omp parallel for schedule(static) if (worth_threads(n, 1.1))  // ns a Gaussian, serial
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < 3; ++j) dirs[3 * i + j] = means[3 * i + j] - centre[j];
}

void sh_clamp_fwd_cpu(int n, const float* raw, float* colors) {
#pragma omp parallel for schedule(static) if (worth_threads(n, 1.2))
    for (int i = 0; i < 3 * n; ++i) {
        const float c = raw[i] + 0.5f;
        colors[i] = c < 0.0f ? 0.0f : c;  // torch.clamp_min(c, 0): NaN stays NaN (the trainer stops on it)
    }
}

void sh_clamp_bwd_cpu(int n, const float* raw, const float* v_colors, float* v_raw) {
#pragma omp parallel for schedule(static) if (worth_threads(n, 1.1))
    for (int i = 0; i < 3 * n; ++i) v_raw[i] = raw[i] + 0.5f >= 0.0f ? v_colors[i] : 0.0f;  // as clamp_min's
}

void pack_features_cpu(int n, const float* rgb, const float* depths, float* features) {
#pragma omp parallel for schedule(static) if (worth_threads(n, 2.4))
    for (int i = 0; i < n; ++i) {
        for (int c = 0; c < 3; ++c) features[CHANNELS * i + c] = rgb[3 * i + c];
        features[CHANNELS * i + 3] = depths[i];
    }
}

void over_background_fwd_cpu(int64_t pixels, const float* blended, const float* T_final,
                             const float* background, float* color, float* depth_sum, float* alpha) {
#pragma omp parallel for schedule(static) if (worth_threads(pixels, 3.4))  // ns a pixel, serial
    for (int64_t p = 0; p < pixels; ++p) {
        const float T = T_final[p];
        for (int c = 0; c < 3; ++c)
            color[3 * p + c] = background ? blended[CHANNELS * p + c] + T * background[c] : blended[CHANNELS * p + c];
        depth_sum[p] = blended[CHANNELS * p + 3];
        alpha[p] = 1.0f - T;
    }
}

void over_background_bwd_cpu(int64_t pixels, const float* v_color, const float* v_depth_sum,
                             const float* v_alpha, const float* background, float* v_blended,
                             float* v_alpha_total) {
#pragma omp parallel for schedule(static) if (worth_threads(pixels, 3.5))
    for (int64_t p = 0; p < pixels; ++p) {
        float v = v_alpha[p];  // color = blended + (1 - alpha) background
        for (int c = 0; c < 3; ++c) {
            v_blended[CHANNELS * p + c] = v_color[3 * p + c];
            if (background) v -= v_color[3 * p + c] * background[c];
        }
        v_blended[CHANNELS * p + 3] = v_depth_sum[p];
        v_alpha_total[p] = v;
    }
}

}  // namespace sc
