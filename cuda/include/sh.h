// Real spherical harmonics of degree 0-3 (the 3DGS basis), forward and backward for
// one Gaussian: colour = sum_k basis_k(dir / |dir|) * coeffs_k. The +0.5 offset and
// the clamp at zero are applied by the caller in PyTorch.
#pragma once

#include "sc_math.h"

namespace sc {

// The basis constants are spelled out as scalars (constexpr arrays are not visible to
// device code without --expt-relaxed-constexpr).
constexpr float SH_C0 = 0.28209479177387814f;
constexpr float SH_C1 = 0.4886025119029199f;
constexpr float SH_C2_0 = 1.0925484305920792f, SH_C2_1 = -1.0925484305920792f,
                SH_C2_2 = 0.31539156525252005f, SH_C2_3 = -1.0925484305920792f,
                SH_C2_4 = 0.5462742152960396f;
constexpr float SH_C3_0 = -0.5900435899266435f, SH_C3_1 = 2.890611442640554f,
                SH_C3_2 = -0.4570457994644658f, SH_C3_3 = 0.3731763325901154f,
                SH_C3_4 = -0.4570457994644658f, SH_C3_5 = 1.445305721320277f,
                SH_C3_6 = -0.5900435899266435f;

// basis[k] and, when grad is non-null, d basis[k] / d(x, y, z) in grad[3 k .. 3 k + 2].
SC_HD void sh_basis(int degree, float x, float y, float z, float* basis, float* grad) {
    basis[0] = SH_C0;
    if (grad) grad[0] = grad[1] = grad[2] = 0.0f;
    if (degree < 1) return;
    basis[1] = -SH_C1 * y; basis[2] = SH_C1 * z; basis[3] = -SH_C1 * x;
    if (grad) {
        grad[3] = 0; grad[4] = -SH_C1; grad[5] = 0;
        grad[6] = 0; grad[7] = 0; grad[8] = SH_C1;
        grad[9] = -SH_C1; grad[10] = 0; grad[11] = 0;
    }
    if (degree < 2) return;
    const float xx = x * x, yy = y * y, zz = z * z;
    basis[4] = SH_C2_0 * x * y;
    basis[5] = SH_C2_1 * y * z;
    basis[6] = SH_C2_2 * (2 * zz - xx - yy);
    basis[7] = SH_C2_3 * x * z;
    basis[8] = SH_C2_4 * (xx - yy);
    if (grad) {
        grad[12] = SH_C2_0 * y; grad[13] = SH_C2_0 * x; grad[14] = 0;
        grad[15] = 0; grad[16] = SH_C2_1 * z; grad[17] = SH_C2_1 * y;
        grad[18] = -2 * SH_C2_2 * x; grad[19] = -2 * SH_C2_2 * y; grad[20] = 4 * SH_C2_2 * z;
        grad[21] = SH_C2_3 * z; grad[22] = 0; grad[23] = SH_C2_3 * x;
        grad[24] = 2 * SH_C2_4 * x; grad[25] = -2 * SH_C2_4 * y; grad[26] = 0;
    }
    if (degree < 3) return;
    basis[9] = SH_C3_0 * y * (3 * xx - yy);
    basis[10] = SH_C3_1 * x * y * z;
    basis[11] = SH_C3_2 * y * (4 * zz - xx - yy);
    basis[12] = SH_C3_3 * z * (2 * zz - 3 * xx - 3 * yy);
    basis[13] = SH_C3_4 * x * (4 * zz - xx - yy);
    basis[14] = SH_C3_5 * z * (xx - yy);
    basis[15] = SH_C3_6 * x * (xx - 3 * yy);
    if (grad) {
        grad[27] = 6 * SH_C3_0 * x * y; grad[28] = SH_C3_0 * (3 * xx - 3 * yy); grad[29] = 0;
        grad[30] = SH_C3_1 * y * z; grad[31] = SH_C3_1 * x * z; grad[32] = SH_C3_1 * x * y;
        grad[33] = -2 * SH_C3_2 * x * y; grad[34] = SH_C3_2 * (4 * zz - xx - 3 * yy); grad[35] = 8 * SH_C3_2 * y * z;
        grad[36] = -6 * SH_C3_3 * x * z; grad[37] = -6 * SH_C3_3 * y * z; grad[38] = SH_C3_3 * (6 * zz - 3 * xx - 3 * yy);
        grad[39] = SH_C3_4 * (4 * zz - 3 * xx - yy); grad[40] = -2 * SH_C3_4 * x * y; grad[41] = 8 * SH_C3_4 * x * z;
        grad[42] = 2 * SH_C3_5 * x * z; grad[43] = -2 * SH_C3_5 * y * z; grad[44] = SH_C3_5 * (xx - yy);
        grad[45] = SH_C3_6 * (3 * xx - 3 * yy); grad[46] = -6 * SH_C3_6 * x * y; grad[47] = 0;
    }
}

// coeffs: [K, 3] for this Gaussian (K >= (degree + 1)^2); color: [3].
SC_HD void sh_fwd(int degree, const float* dir, const float* coeffs, float* color) {
    if (degree == 0) {  // a constant: no direction to normalise (the same bits as the general path)
        for (int ch = 0; ch < 3; ++ch) color[ch] = SH_C0 * coeffs[ch];
        return;
    }
    const float inv = 1.0f / max_f(sqrtf(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]), 1e-12f);
    float basis[16];
    sh_basis(degree, dir[0] * inv, dir[1] * inv, dir[2] * inv, basis, nullptr);
    const int n = (degree + 1) * (degree + 1);
    for (int ch = 0; ch < 3; ++ch) {
        float sum = 0.0f;
        for (int k = 0; k < n; ++k) sum += basis[k] * coeffs[k * 3 + ch];
        color[ch] = sum;
    }
}

SC_HD void sh_bwd(int degree, const float* dir, const float* coeffs, const float* v_color,
                  float* v_coeffs, float* v_dir) {
    if (degree == 0) {  // as the general path gives it: a constant has no gradient in the direction
        for (int ch = 0; ch < 3; ++ch) v_coeffs[ch] = SH_C0 * v_color[ch];
        v_dir[0] = v_dir[1] = v_dir[2] = 0.0f;
        return;
    }
    const float norm = max_f(sqrtf(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]), 1e-12f);
    const float inv = 1.0f / norm;
    const float d[3] = {dir[0] * inv, dir[1] * inv, dir[2] * inv};
    float basis[16], grad[48];
    sh_basis(degree, d[0], d[1], d[2], basis, grad);
    const int n = (degree + 1) * (degree + 1);
    float v_d[3] = {0.0f, 0.0f, 0.0f};
    for (int k = 0; k < n; ++k) {
        float v_basis = 0.0f;
        for (int ch = 0; ch < 3; ++ch) {
            v_coeffs[k * 3 + ch] = basis[k] * v_color[ch];
            v_basis += coeffs[k * 3 + ch] * v_color[ch];
        }
        for (int i = 0; i < 3; ++i) v_d[i] += grad[k * 3 + i] * v_basis;
    }
    const float dot = v_d[0] * d[0] + v_d[1] * d[1] + v_d[2] * d[2];
    for (int i = 0; i < 3; ++i) v_dir[i] = (v_d[i] - d[i] * dot) * inv;
}

}  // namespace sc
