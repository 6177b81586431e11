// Per-pixel math of the rasterizer, shared by the CPU and CUDA kernels: the alpha of
// one Gaussian at one pixel, and one back-to-front step of the compositing gradient.
#pragma once

#include "sc_math.h"

namespace sc {

// Half the squared Mahalanobis distance of (dx, dy) = pixel centre - Gaussian centre.
SC_HD float gaussian_sigma(float c0, float c1, float c2, float dx, float dy) {
    return 0.5f * (c0 * dx * dx + c2 * dy * dy) + c1 * dx * dy;
}

// Alpha of a Gaussian at a pixel, 0 where it is skipped (the forward pass needs no more).
SC_HD float pixel_alpha(float c0, float c1, float c2, float opacity, float dx, float dy) {
    const float sigma = gaussian_sigma(c0, c1, c2, dx, dy);
    const float alpha = min_f(ALPHA_MAX, opacity * fast_exp(-sigma));
    // two selects, not one on a compound condition: g++ 12 vectorises only this form
    const float kept = alpha >= ALPHA_MIN ? alpha : 0.0f;
    return sigma < 0.0f ? 0.0f : kept;
}

// The same, for the backward pass: alpha, 0 where it is skipped (beyond the ellipse where
// alpha reaches 1/255). `vis` gets exp(-sigma), `clamped` whether ALPHA_MAX bit.
SC_HD float pixel_alpha(float c0, float c1, float c2, float opacity, float dx, float dy,
                        float& vis, bool& clamped) {
    const float sigma = gaussian_sigma(c0, c1, c2, dx, dy);
    vis = fast_exp(-sigma);
    const float raw = opacity * vis;
    clamped = raw > ALPHA_MAX;
    const float alpha = clamped ? ALPHA_MAX : raw;
    const float kept = alpha >= ALPHA_MIN ? alpha : 0.0f;
    return sigma < 0.0f ? 0.0f : kept;
}

// Half-height in pixels of the region where a Gaussian's alpha can reach 1/255 (plus a
// pixel of slack): rows of a tile outside it need not be visited.
SC_HD float reach_y(float c0, float c1, float c2, float opacity) {
    const float det = c0 * c2 - c1 * c1;
    const float extent2 = 2.0f * logf(fmaxf(opacity / ALPHA_MIN, 1.0f));
    return sqrtf(extent2 * c0 / det) + 1.0f;
}

// One step of the backward pass, walking a pixel's Gaussians back to front, in two
// parts so the CPU can unroll the channels (g++ will not vectorise per-lane arrays).
// blend_bwd_alpha: on entry T is the transmittance after this Gaussian; on exit the
// transmittance in front of it. Returns this Gaussian's weight alpha * T; `ra` gets
// 1 / (1 - alpha) and `v_a` starts dL/dalpha with the accumulated-alpha term.
SC_HD float blend_bwd_alpha(float alpha, float v_alpha_out, float T_final, float& T, float& ra,
                            float& v_a) {
    ra = 1.0f / (1.0f - alpha);
    T *= ra;
    v_a = v_alpha_out * T_final * ra;
    return alpha * T;
}

// One channel: adds its share of dL/dalpha to v_a, moves this Gaussian's feature into
// S (the features blended behind the next one) and returns dL/dfeature.
SC_HD float blend_bwd_channel(float f, float v_out, float w, float T, float ra, float& S,
                              float& v_a) {
    v_a += (f * T - S * ra) * v_out;
    S += f * w;
    return w * v_out;
}

}  // namespace sc
