// CPU projection and SH colour: one Gaussian per loop iteration, the math in
// include/projection.h and include/sh.h. Backward recomputes the forward state.
// Projection runs one Gaussian per SIMD lane: g++ vectorises the loops below because the
// math is branch-free and inlined whole (SC_HD, SC_UNROLL); a culled Gaussian's lane computes
// garbage that selects replace with zeros. At 100k Gaussians on 2 cores: forward 9.2 -> 2.7 ms,
// backward 15.6 -> 3.4 ms against the scalar loop.
#include "include/launchers.h"
#include "include/threads_cpu.h"
#include "include/sh.h"

namespace sc {

namespace {

constexpr int BLOCK = 1024;  // Gaussians per parallel work item

// [BLOCK, K] rows -> K columns of BLOCK (and back): the SIMD loops below read and write
// unit-stride columns; g++ vectorises no strided group of 3 loads.
template <int K>
struct Columns {
    alignas(64) float v[K][BLOCK];
    void load(const float* rows, int b, int e) {
        for (int i = b; i < e; ++i)
            for (int k = 0; k < K; ++k) v[k][i - b] = rows[int64_t(i) * K + k];
    }
    void store(float* rows, int b, int e) const {
        for (int i = b; i < e; ++i)
            for (int k = 0; k < K; ++k) rows[int64_t(i) * K + k] = v[k][i - b];
    }
    SC_HD void at(int i, float* row) const {
        SC_UNROLL
        for (int k = 0; k < K; ++k) row[k] = v[k][i];
    }
};

// The inputs both passes read: a block's means, quaternions and scales, as columns.
struct GaussianColumns {
    Columns<3> means, scales;
    Columns<4> quats;
    GaussianColumns(const float* m, const float* q, const float* s, int b, int e) {
        means.load(m, b, e);
        quats.load(q, b, e);
        scales.load(s, b, e);
    }
    SC_HD void at(int i, float* mean, float* quat, float* scale) const {
        means.at(i, mean);
        quats.at(i, quat);
        scales.at(i, scale);
    }
};

// The loops take `antialiased` as a constant: g++ vectorises no select on a loop-invariant bool.
// Two loops: the first, all the math but one log, runs a Gaussian per SIMD lane; the second
// takes the log per Gaussian (glibc's vector logf needs -ffinite-math-only, which these
// kernels do not take: they test for NaN and infinity).
template <bool Antialiased>
void project_fwd_block(int b, int e, const float* means, const float* quats, const float* scales,
                       const float* opacities, const PinholeCamera& cam, float* means2d,
                       float* depths, float* conics, float* comps, int32_t* radii) {
    const GaussianColumns in(means, quats, scales, b, e);
    alignas(64) float mx[BLOCK], my[BLOCK], depth[BLOCK], c0[BLOCK], c1[BLOCK], c2[BLOCK], comp[BLOCK],
        opac[BLOCK], lambda[BLOCK];  // the ScreenGaussians, as columns
    alignas(64) int32_t ok[BLOCK];
    const int len = e - b;
#pragma GCC ivdep
    for (int i = 0; i < len; ++i) {
        float mean[3], quat[4], scale[3];
        in.at(i, mean, quat, scale);
        const ScreenGaussian g = project_screen(mean, quat, scale, opacities[b + i], cam, Antialiased);
        mx[i] = g.mx; my[i] = g.my; depth[i] = g.depth; c0[i] = g.c0; c1[i] = g.c1; c2[i] = g.c2;
        comp[i] = g.comp; opac[i] = g.opac; lambda[i] = g.lambda_max; ok[i] = g.ok;
    }
    for (int i = 0; i < len; ++i) {
        const ScreenGaussian g{mx[i], my[i], depth[i], c0[i], c1[i], c2[i], comp[i], opac[i], lambda[i], ok[i] != 0};
        const int64_t at = b + i;
        radii[at] = project_outputs(g, cam, means2d + 2 * at, depths + at, conics + 3 * at, comps + at);
    }
}

template <bool Antialiased>
void project_bwd_block(int b, int e, const float* means, const float* quats, const float* scales,
                       const PinholeCamera& cam, const int32_t* radii, const float* v_means2d,
                       const float* v_depths, const float* v_conics, const float* v_comps,
                       float* v_means, float* v_quats, float* v_scales) {
    const GaussianColumns in(means, quats, scales, b, e);
    Columns<3> vc, vm, vs;
    Columns<4> vq;
    Columns<2> vm2;
    vm2.load(v_means2d, b, e);
    vc.load(v_conics, b, e);
    const int len = e - b;
#pragma GCC ivdep
    for (int i = 0; i < len; ++i) {
        float mean[3], quat[4], scale[3], v_mean2d[2], v_conic[3];
        in.at(i, mean, quat, scale);
        vm2.at(i, v_mean2d);
        vc.at(i, v_conic);
        float o_m[3], o_q[4], o_s[3];
        project_bwd(mean, quat, scale, cam, Antialiased, v_mean2d, v_depths[b + i], v_conic,
                    v_comps[b + i], o_m, o_q, o_s);
        const bool live = radii[b + i] > 0;
        SC_UNROLL
        for (int j = 0; j < 3; ++j) vm.v[j][i] = live ? o_m[j] : 0.0f;
        SC_UNROLL
        for (int j = 0; j < 4; ++j) vq.v[j][i] = live ? o_q[j] : 0.0f;
        SC_UNROLL
        for (int j = 0; j < 3; ++j) vs.v[j][i] = live ? o_s[j] : 0.0f;
    }
    vm.store(v_means, b, e);
    vq.store(v_quats, b, e);
    vs.store(v_scales, b, e);
}

}  // namespace

void project_fwd_cpu(int n, const float* means, const float* quats, const float* scales,
                     const float* opacities, PinholeCamera cam, bool antialiased, float* means2d,
                     float* depths, float* conics, float* comps, int32_t* radii) {
#pragma omp parallel for schedule(static) if (worth_threads(n, 36))  // ns a Gaussian, serial
    for (int b = 0; b < n; b += BLOCK) {
        const int e = b + BLOCK < n ? b + BLOCK : n;
        (antialiased ? project_fwd_block<true> : project_fwd_block<false>)(
            b, e, means, quats, scales, opacities, cam, means2d, depths, conics, comps, radii);
    }
}

void project_bwd_cpu(int n, const float* means, const float* quats, const float* scales,
                     PinholeCamera cam, bool antialiased, const int32_t* radii,
                     const float* v_means2d, const float* v_depths, const float* v_conics,
                     const float* v_comps, float* v_means, float* v_quats, float* v_scales) {
#pragma omp parallel for schedule(static) if (worth_threads(n, 21))
    for (int b = 0; b < n; b += BLOCK) {
        const int e = b + BLOCK < n ? b + BLOCK : n;
        (antialiased ? project_bwd_block<true> : project_bwd_block<false>)(
            b, e, means, quats, scales, cam, radii, v_means2d, v_depths, v_conics, v_comps, v_means,
            v_quats, v_scales);
    }
}
void sh_fwd_cpu(int n, int k, int degree, const float* dirs, const float* coeffs,
                const int32_t* radii, float* colors) {
#pragma omp parallel for schedule(static, 1024) if (worth_threads(n, degree == 0 ? 3 : 15))  // ns a Gaussian: degree 0; 15 and up with bands
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
#pragma omp parallel for schedule(static, 1024) if (worth_threads(n, degree == 0 ? 6 : 18))
    for (int i = 0; i < n; ++i) {
        float* vc = v_coeffs + 3 * k * i;
        for (int j = 0; j < 3 * k; ++j) vc[j] = 0.0f;  // unused higher bands get no gradient
        v_dirs[3 * i] = v_dirs[3 * i + 1] = v_dirs[3 * i + 2] = 0.0f;
        if (radii[i] <= 0) continue;
        sh_bwd(degree, dirs + 3 * i, coeffs + 3 * k * i, v_colors + 3 * i, vc, v_dirs + 3 * i);
    }
}

}  // namespace sc
