// CPU projection and SH colour: one Gaussian per loop iteration, the math in
// include/projection.h and include/sh.h. Backward recomputes the forward state.
#include "include/launchers.h"
#include "include/sh.h"

namespace sc {

void project_fwd_cpu(int n, const float* means, const float* quats, const float* scales,
                     const float* opacities, PinholeCamera cam, bool antialiased, float* means2d,
                     float* depths, float* conics, float* comps, int32_t* radii) {
#pragma omp parallel for schedule(static, 1024)
    for (int i = 0; i < n; ++i)
        radii[i] = project_fwd(means + 3 * i, quats + 4 * i, scales + 3 * i, opacities[i], cam,
                               antialiased, means2d + 2 * i, depths + i, conics + 3 * i, comps + i);
}

void project_bwd_cpu(int n, const float* means, const float* quats, const float* scales,
                     PinholeCamera cam, bool antialiased, const int32_t* radii,
                     const float* v_means2d, const float* v_depths, const float* v_conics,
                     const float* v_comps, float* v_means, float* v_quats, float* v_scales) {
#pragma omp parallel for schedule(static, 1024)
    for (int i = 0; i < n; ++i) {
        if (radii[i] <= 0) {
            for (int j = 0; j < 3; ++j) v_means[3 * i + j] = v_scales[3 * i + j] = 0.0f;
            for (int j = 0; j < 4; ++j) v_quats[4 * i + j] = 0.0f;
            continue;
        }
        project_bwd(means + 3 * i, quats + 4 * i, scales + 3 * i, cam, antialiased,
                    v_means2d + 2 * i, v_depths[i], v_conics + 3 * i, v_comps[i],
                    v_means + 3 * i, v_quats + 4 * i, v_scales + 3 * i);
    }
}

void sh_fwd_cpu(int n, int k, int degree, const float* dirs, const float* coeffs,
                const int32_t* radii, float* colors) {
#pragma omp parallel for schedule(static, 1024)
    for (int i = 0; i < n; ++i) {
        if (radii[i] <= 0) {
            colors[3 * i] = colors[3 * i + 1] = colors[3 * i + 2] = 0.0f;
            continue;
        }
        sh_fwd(degree, dirs + 3 * i, coeffs + 3 * k * i, colors + 3 * i);
    }
}

void sh_bwd_cpu(int n, int k, int degree, const float* dirs, const float* coeffs,
                const int32_t* radii, const float* v_colors, float* v_coeffs, float* v_dirs) {
#pragma omp parallel for schedule(static, 1024)
    for (int i = 0; i < n; ++i) {
        float* vc = v_coeffs + 3 * k * i;
        for (int j = 0; j < 3 * k; ++j) vc[j] = 0.0f;  // unused higher bands get no gradient
        v_dirs[3 * i] = v_dirs[3 * i + 1] = v_dirs[3 * i + 2] = 0.0f;
        if (radii[i] <= 0) continue;
        sh_bwd(degree, dirs + 3 * i, coeffs + 3 * k * i, v_colors + 3 * i, vc, v_dirs + 3 * i);
    }
}

}  // namespace sc
