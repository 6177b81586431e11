// The elementwise steps between the CPU kernels of a render: the scales' activation, SH
// directions, the colour's clamp, packing colour and depth to blend, and the background
// under the blend. Each was a torch op (and an autograd node) of its own; together about
// 0.5 ms of a 120x67 training step, several times their arithmetic. Same float operations
// as the torch ops they replace, but for exp (see exp_cpu). Serial costs in the clauses:
// one thread, 1M units, this machine's AVX-512 cores.
#include "include/launchers.h"
#include "include/threads_cpu.h"

namespace sc {

// The scales' activation. torch.exp opens a parallel region from 2,048 elements (ATen's VML
// ops), which wakes a sleeping thread: 80-100 us for the 13.5k log-scales of 4.5k Gaussians.
// fast_exp (include/sc_math.h: ~2e-7 relative, vectorised) with what it leaves out put back:
// NaN stays NaN (the trainer stops on it) and x > 88 gives inf (exp(88.7) overflows a float).
void exp_cpu(int64_t n, const float* x, float* out) {
    constexpr float INF = __builtin_inff();
    parallel_range(n, 0.5, [&](int64_t lo, int64_t hi) {  // ns an element, serial
        for (int64_t i = lo; i < hi; ++i) {
            const float v = x[i], e = fast_exp(min_f(v, 88.0f));
            out[i] = v <= 88.0f ? e : v > 88.0f ? INF : v;
        }
    });
}

void sh_dirs_cpu(int n, const float* means, const float* cam_from_world, float* dirs) {
    const float* v = cam_from_world;  // [4, 4] row-major: R = v[0:3, 0:3], t = v[0:3, 3]
    float centre[3];                  // -R^T t
    for (int j = 0; j < 3; ++j) centre[j] = -(v[j] * v[3] + v[4 + j] * v[7] + v[8 + j] * v[11]);
    parallel_range(n, 1.0, [&](int64_t lo, int64_t hi) {  // ns a Gaussian
        for (int64_t i = lo; i < hi; ++i)
            for (int j = 0; j < 3; ++j) dirs[3 * i + j] = means[3 * i + j] - centre[j];
    });
}

void sh_clamp_fwd_cpu(int n, const float* raw, float* colors) {
    parallel_range(3 * int64_t{n}, 0.4, [&](int64_t lo, int64_t hi) {  // ns an element
        for (int64_t i = lo; i < hi; ++i) {
            const float c = raw[i] + 0.5f;
            colors[i] = c < 0.0f ? 0.0f : c;  // torch.clamp_min(c, 0): NaN stays NaN (the trainer stops on it)
        }
    });
}

void sh_clamp_bwd_cpu(int n, const float* raw, const float* v_colors, float* v_raw) {
    parallel_range(3 * int64_t{n}, 1.3, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) v_raw[i] = raw[i] + 0.5f >= 0.0f ? v_colors[i] : 0.0f;  // as clamp_min's
    });
}

void pack_features_cpu(int n, const float* rgb, const float* depths, float* features) {
    parallel_range(n, 2.1, [&](int64_t lo, int64_t hi) {  // ns a Gaussian
        for (int64_t i = lo; i < hi; ++i) {
            for (int c = 0; c < 3; ++c) features[CHANNELS * i + c] = rgb[3 * i + c];
            features[CHANNELS * i + 3] = depths[i];
        }
    });
}

void over_background_fwd_cpu(int64_t pixels, const float* blended, const float* T_final,
                             const float* background, float* color, float* depth_sum, float* alpha) {
    parallel_range(pixels, 3.5, [&](int64_t lo, int64_t hi) {  // ns a pixel
        for (int64_t p = lo; p < hi; ++p) {
            const float T = T_final[p];
            for (int c = 0; c < 3; ++c)
                color[3 * p + c] = background ? blended[CHANNELS * p + c] + T * background[c] : blended[CHANNELS * p + c];
            depth_sum[p] = blended[CHANNELS * p + 3];
            alpha[p] = 1.0f - T;
        }
    });
}

void over_background_bwd_cpu(int64_t pixels, const float* v_color, const float* v_depth_sum,
                             const float* v_alpha, const float* background, float* v_blended,
                             float* v_alpha_total) {
    parallel_range(pixels, 4.0, [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
            float v = v_alpha[p];  // color = blended + (1 - alpha) background
            for (int c = 0; c < 3; ++c) {
                v_blended[CHANNELS * p + c] = v_color[3 * p + c];
                if (background) v -= v_color[3 * p + c] * background[c];
            }
            v_blended[CHANNELS * p + 3] = v_depth_sum[p];
            v_alpha_total[p] = v;
        }
    });
}

}  // namespace sc
