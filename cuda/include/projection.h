// Per-Gaussian projection, forward and backward, compiled by g++ and nvcc alike.
// Forward: world mean, quaternion and scales -> screen centre, camera depth, conic
// (inverse dilated 2D covariance), antialiasing compensation and a radius whose
// square box contains every pixel where the Gaussian's alpha can reach 1/255.
// Backward recomputes the forward intermediates from the inputs (nothing is saved
// but the radii, which mark the culled Gaussians).
#pragma once

#include "sc_math.h"

namespace sc {

struct PinholeCamera {
    float R[9];  // cam_from_world rotation, row-major, OpenCV axes
    float t[3];
    float fx, fy, cx, cy;
    int width, height;
    float near;
};

SC_HD void quat_to_rotmat(const float* q, float* R) {
    const float inv = 1.0f / sqrtf(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    const float w = q[0] * inv, x = q[1] * inv, y = q[2] * inv, z = q[3] * inv;
    R[0] = 1 - 2 * (y * y + z * z); R[1] = 2 * (x * y - w * z);     R[2] = 2 * (x * z + w * y);
    R[3] = 2 * (x * y + w * z);     R[4] = 1 - 2 * (x * x + z * z); R[5] = 2 * (y * z - w * x);
    R[6] = 2 * (x * z - w * y);     R[7] = 2 * (y * z + w * x);     R[8] = 1 - 2 * (x * x + y * y);
}

// The intermediates the forward and backward passes share.
struct ProjectionState {
    float p[3];       // camera-space mean
    float Rq[9];      // rotation of the Gaussian
    float M[9];       // Rq * diag(scale)
    float cov_c[9];   // camera-space 3D covariance
    float J[6];       // 2x3 Jacobian of the perspective map
    bool clamp_x, clamp_y;
    float tx, ty;
    float a, b, c;    // raw 2D covariance
    float det_orig, det;
};

SC_HD void projection_state(const float* mean, const float* quat, const float* scale,
                            const PinholeCamera& cam, ProjectionState& s) {
    SC_UNROLL
    for (int i = 0; i < 3; ++i)
        s.p[i] = cam.R[i * 3] * mean[0] + cam.R[i * 3 + 1] * mean[1] + cam.R[i * 3 + 2] * mean[2] + cam.t[i];
    quat_to_rotmat(quat, s.Rq);
    SC_UNROLL
    for (int i = 0; i < 3; ++i)
        SC_UNROLL
        for (int j = 0; j < 3; ++j) s.M[i * 3 + j] = s.Rq[i * 3 + j] * scale[j];
    float cov[9], tmp[9];
    mat3_mul_bt(s.M, s.M, cov);      // M M^T
    mat3_mul(cam.R, cov, tmp);       // R cov
    mat3_mul_bt(tmp, cam.R, s.cov_c);  // R cov R^T
    const float z = s.p[2];
    const float lim_x_pos = (cam.width - cam.cx) / cam.fx + (FRUSTUM_SLACK - 1.0f) * 0.5f * cam.width / cam.fx;
    const float lim_x_neg = cam.cx / cam.fx + (FRUSTUM_SLACK - 1.0f) * 0.5f * cam.width / cam.fx;
    const float lim_y_pos = (cam.height - cam.cy) / cam.fy + (FRUSTUM_SLACK - 1.0f) * 0.5f * cam.height / cam.fy;
    const float lim_y_neg = cam.cy / cam.fy + (FRUSTUM_SLACK - 1.0f) * 0.5f * cam.height / cam.fy;
    const float xz = s.p[0] / z, yz = s.p[1] / z;
    s.clamp_x = (xz < -lim_x_neg) | (xz > lim_x_pos);
    s.clamp_y = (yz < -lim_y_neg) | (yz > lim_y_pos);
    s.tx = z * min_f(max_f(xz, -lim_x_neg), lim_x_pos);
    s.ty = z * min_f(max_f(yz, -lim_y_neg), lim_y_pos);
    s.J[0] = cam.fx / z; s.J[1] = 0.0f; s.J[2] = -cam.fx * s.tx / (z * z);
    s.J[3] = 0.0f; s.J[4] = cam.fy / z; s.J[5] = -cam.fy * s.ty / (z * z);
    // cov2d = J cov_c J^T
    float JC[6];
    SC_UNROLL
    for (int i = 0; i < 2; ++i)
        SC_UNROLL
        for (int j = 0; j < 3; ++j)
            JC[i * 3 + j] = s.J[i * 3] * s.cov_c[j] + s.J[i * 3 + 1] * s.cov_c[3 + j] + s.J[i * 3 + 2] * s.cov_c[6 + j];
    s.a = JC[0] * s.J[0] + JC[1] * s.J[1] + JC[2] * s.J[2];
    s.b = JC[0] * s.J[3] + JC[1] * s.J[4] + JC[2] * s.J[5];
    s.c = JC[3] * s.J[3] + JC[4] * s.J[4] + JC[5] * s.J[5];
    s.det_orig = s.a * s.c - s.b * s.b;
    s.det = (s.a + EPS2D) * (s.c + EPS2D) - s.b * s.b;
}

// A Gaussian on screen before its radius: everything project_fwd needs but the one log.
struct ScreenGaussian {
    float mx, my, depth, c0, c1, c2, comp;  // centre, camera depth, conic, compensation
    float opac, lambda_max;                 // compensated opacity, larger eigenvalue of the 2D covariance
    bool ok;                                // in front, finite and visible so far
};

// Branch-free, like project_outputs: every test is folded into `ok` (`&`, not `&&`: short-circuits
// are branches), so g++ vectorises the CPU loop across Gaussians; a culled lane's NaNs and
// infinities are selected away afterwards.
SC_HD ScreenGaussian project_screen(const float* mean, const float* quat, const float* scale,
                                    float opacity, const PinholeCamera& cam, bool antialiased) {
    const float qn = quat[0] * quat[0] + quat[1] * quat[1] + quat[2] * quat[2] + quat[3] * quat[3];
    const float pz = cam.R[6] * mean[0] + cam.R[7] * mean[1] + cam.R[8] * mean[2] + cam.t[2];
    ProjectionState s;
    projection_state(mean, quat, scale, cam, s);
    const float a = s.a + EPS2D, c = s.c + EPS2D;
    ScreenGaussian g;
    g.comp = antialiased ? sqrtf(max_f(s.det_orig / s.det, 0.0f)) : 1.0f;
    g.opac = opacity * g.comp;
    const float mid = 0.5f * (a + c);
    g.lambda_max = mid + sqrtf(max_f(mid * mid - s.det, 0.01f));
    g.mx = cam.fx * s.p[0] / s.p[2] + cam.cx;
    g.my = cam.fy * s.p[1] / s.p[2] + cam.cy;
    g.depth = s.p[2];
    g.c0 = c / s.det;
    g.c1 = -s.b / s.det;
    g.c2 = a / s.det;
    g.ok = (qn > 0.0f) & (pz > cam.near) & (s.det > 0.0f) & is_finite(s.det) & (g.opac > ALPHA_MIN) &
           is_finite(g.mx) & is_finite(g.my) & is_finite(g.c0) & is_finite(g.c1) & is_finite(g.c2);
    return g;
}

// A screen Gaussian's outputs; returns its radius in pixels (a square box holding every pixel
// where its alpha can reach 1/255), 0 when it is culled (not `ok`, or its box misses the
// image), and then the outputs are zeros.
SC_HD int project_outputs(const ScreenGaussian& g, const PinholeCamera& cam, float* mean2d, float* depth,
                          float* conic, float* comp) {
    const float extent = sqrtf(2.0f * logf(max_f(g.opac / ALPHA_MIN, 1.0f)));
    const float radius = ceilf(extent * sqrtf(g.lambda_max));
    const bool kept = g.ok & (radius > 0.0f) & is_finite(radius) & (g.mx + radius > 0.0f) &
                      (g.mx - radius < cam.width) & (g.my + radius > 0.0f) & (g.my - radius < cam.height);
    mean2d[0] = kept ? g.mx : 0.0f;
    mean2d[1] = kept ? g.my : 0.0f;
    depth[0] = kept ? g.depth : 0.0f;
    conic[0] = kept ? g.c0 : 0.0f;
    conic[1] = kept ? g.c1 : 0.0f;
    conic[2] = kept ? g.c2 : 0.0f;
    comp[0] = kept ? g.comp : 0.0f;
    return static_cast<int>(kept ? min_f(radius, 1073741824.0f) : 0.0f);
}

// Returns the radius in pixels, 0 when culled (then the outputs are zeros).
SC_HD int project_fwd(const float* mean, const float* quat, const float* scale, float opacity,
                      const PinholeCamera& cam, bool antialiased,
                      float* mean2d, float* depth, float* conic, float* comp) {
    return project_outputs(project_screen(mean, quat, scale, opacity, cam, antialiased), cam, mean2d, depth,
                           conic, comp);
}

// Gradients of the projection's outputs back to mean, quaternion and scale
// (only called for Gaussians with radius > 0).
SC_HD void project_bwd(const float* mean, const float* quat, const float* scale,
                       const PinholeCamera& cam, bool antialiased,
                       const float* v_mean2d, float v_depth, const float* v_conic, float v_comp,
                       float* v_mean, float* v_quat, float* v_scale) {
    ProjectionState s;
    projection_state(mean, quat, scale, cam, s);
    const float a = s.a + EPS2D, c = s.c + EPS2D, b = s.b;
    const float det = s.det;
    // conic = inverse(cov2d'): dL/dcov' = -conic G conic with G the symmetric gradient.
    const float Ci[4] = {c / det, -b / det, -b / det, a / det};
    const float G[4] = {v_conic[0], 0.5f * v_conic[1], 0.5f * v_conic[1], v_conic[2]};
    float CG[4];
    CG[0] = Ci[0] * G[0] + Ci[1] * G[2]; CG[1] = Ci[0] * G[1] + Ci[1] * G[3];
    CG[2] = Ci[2] * G[0] + Ci[3] * G[2]; CG[3] = Ci[2] * G[1] + Ci[3] * G[3];
    float V[4];  // symmetric gradient of the raw 2D covariance
    V[0] = -(CG[0] * Ci[0] + CG[1] * Ci[2]); V[1] = -(CG[0] * Ci[1] + CG[1] * Ci[3]);
    V[2] = -(CG[2] * Ci[0] + CG[3] * Ci[2]); V[3] = -(CG[2] * Ci[1] + CG[3] * Ci[3]);
    {  // the compensation's share, where it applies (selected, not branched: see project_screen)
        const bool applies = antialiased & (s.det_orig > 0.0f) & (v_comp != 0.0f);
        const float comp = sqrtf(max_f(s.det_orig / det, 1e-30f));
        const float v_r = applies ? 0.5f * v_comp / comp : 0.0f;  // d sqrt(r) / dr
        const float inv_det2 = 1.0f / (det * det);
        V[0] += applies ? v_r * (s.c * det - s.det_orig * c) * inv_det2 : 0.0f;
        V[3] += applies ? v_r * (s.a * det - s.det_orig * a) * inv_det2 : 0.0f;
        const float v_b = applies ? v_r * (-2.0f * b * (det - s.det_orig)) * inv_det2 : 0.0f;  // scalar b
        V[1] += 0.5f * v_b;
        V[2] += 0.5f * v_b;
    }
    // cov2d = J cov_c J^T: v_cov_c = J^T V J, v_J = 2 V J cov_c.
    float VJ[6];
    SC_UNROLL
    for (int i = 0; i < 2; ++i)
        SC_UNROLL
        for (int j = 0; j < 3; ++j) VJ[i * 3 + j] = V[i * 2] * s.J[j] + V[i * 2 + 1] * s.J[3 + j];
    float v_cov_c[9];
    SC_UNROLL
    for (int i = 0; i < 3; ++i)
        SC_UNROLL
        for (int j = 0; j < 3; ++j) v_cov_c[i * 3 + j] = s.J[i] * VJ[j] + s.J[3 + i] * VJ[3 + j];
    float v_J[6];
    SC_UNROLL
    for (int i = 0; i < 2; ++i)
        SC_UNROLL
        for (int j = 0; j < 3; ++j)
            v_J[i * 3 + j] = 2.0f * (VJ[i * 3] * s.cov_c[j] + VJ[i * 3 + 1] * s.cov_c[3 + j] +
                                     VJ[i * 3 + 2] * s.cov_c[6 + j]);
    const float x = s.p[0], y = s.p[1], z = s.p[2];
    const float rz = 1.0f / z, rz2 = rz * rz, rz3 = rz2 * rz;
    float v_p[3];
    v_p[0] = cam.fx * rz * v_mean2d[0];
    v_p[1] = cam.fy * rz * v_mean2d[1];
    v_p[2] = -cam.fx * x * rz2 * v_mean2d[0] - cam.fy * y * rz2 * v_mean2d[1] + v_depth;
    v_p[2] += -cam.fx * rz2 * v_J[0] - cam.fy * rz2 * v_J[4];
    // x / z clamped to the frustum slack: J02 = -fx * lim / z depends on z alone
    v_p[0] += s.clamp_x ? 0.0f : -cam.fx * rz2 * v_J[2];
    v_p[2] += s.clamp_x ? cam.fx * s.tx * rz3 * v_J[2] : 2.0f * cam.fx * x * rz3 * v_J[2];
    v_p[1] += s.clamp_y ? 0.0f : -cam.fy * rz2 * v_J[5];
    v_p[2] += s.clamp_y ? cam.fy * s.ty * rz3 * v_J[5] : 2.0f * cam.fy * y * rz3 * v_J[5];
    SC_UNROLL
    for (int j = 0; j < 3; ++j)
        v_mean[j] = cam.R[j] * v_p[0] + cam.R[3 + j] * v_p[1] + cam.R[6 + j] * v_p[2];
    // cov_c = R cov R^T: v_cov = R^T v_cov_c R; cov = M M^T: v_M = 2 v_cov M.
    float tmp[9], v_cov[9], v_M[9];
    mat3_mul_at(cam.R, v_cov_c, tmp);
    mat3_mul(tmp, cam.R, v_cov);
    mat3_mul(v_cov, s.M, v_M);
    SC_UNROLL
    for (int i = 0; i < 9; ++i) v_M[i] *= 2.0f;
    float G3[9];  // gradient of the normalised rotation matrix
    SC_UNROLL
    for (int j = 0; j < 3; ++j) {
        v_scale[j] = s.Rq[j] * v_M[j] + s.Rq[3 + j] * v_M[3 + j] + s.Rq[6 + j] * v_M[6 + j];
        SC_UNROLL
        for (int i = 0; i < 3; ++i) G3[i * 3 + j] = v_M[i * 3 + j] * scale[j];
    }
    const float inv = 1.0f / sqrtf(quat[0] * quat[0] + quat[1] * quat[1] + quat[2] * quat[2] + quat[3] * quat[3]);
    const float w = quat[0] * inv, qx = quat[1] * inv, qy = quat[2] * inv, qz = quat[3] * inv;
    float vq[4];
    vq[0] = 2 * (-qz * G3[1] + qy * G3[2] + qz * G3[3] - qx * G3[5] - qy * G3[6] + qx * G3[7]);
    vq[1] = 2 * (qy * G3[1] + qz * G3[2] + qy * G3[3] - 2 * qx * G3[4] - w * G3[5] + qz * G3[6] + w * G3[7] - 2 * qx * G3[8]);
    vq[2] = 2 * (-2 * qy * G3[0] + qx * G3[1] + w * G3[2] + qx * G3[3] + qz * G3[5] - w * G3[6] + qz * G3[7] - 2 * qy * G3[8]);
    vq[3] = 2 * (-2 * qz * G3[0] - w * G3[1] + qx * G3[2] + w * G3[3] - 2 * qz * G3[4] + qy * G3[5] + qx * G3[6] + qy * G3[7]);
    const float qn[4] = {w, qx, qy, qz};
    const float dot = vq[0] * w + vq[1] * qx + vq[2] * qy + vq[3] * qz;
    SC_UNROLL
    for (int i = 0; i < 4; ++i) v_quat[i] = (vq[i] - qn[i] * dot) * inv;
}

}  // namespace sc
