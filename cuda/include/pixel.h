// Per-pixel math of the rasterizer, shared by the CPU and CUDA kernels: the alpha of
// one Gaussian at one pixel, and one back-to-front step of the compositing gradient.
#pragma once

#include "sc_math.h"

namespace sc {

// Half the squared Mahalanobis distance of (dx, dy) = pixel centre - Gaussian centre.
SC_HD float gaussian_sigma(float c0, float c1, float c2, float dx, float dy) {
    return 0.5f * (c0 * dx * dx + c2 * dy * dy) + c1 * dx * dy;
}

// Alpha of a Gaussian at a pixel, 0 where it is skipped (beyond the ellipse where
// alpha reaches 1/255). `vis` gets exp(-sigma), `clamped` whether ALPHA_MAX bit.
SC_HD float pixel_alpha(float c0, float c1, float c2, float opacity, float dx, float dy,
                        float& vis, bool& clamped) {
    const float sigma = gaussian_sigma(c0, c1, c2, dx, dy);
    vis = fast_exp(-sigma);
    const float raw = opacity * vis;
    clamped = raw > ALPHA_MAX;
    const float alpha = clamped ? ALPHA_MAX : raw;
    return (sigma >= 0.0f && alpha >= ALPHA_MIN) ? alpha : 0.0f;
}

// Half-height in pixels of the region where a Gaussian's alpha can reach 1/255 (plus a
// pixel of slack): rows of a tile outside it need not be visited.
SC_HD float reach_y(float c0, float c1, float c2, float opacity) {
    const float det = c0 * c2 - c1 * c1;
    const float extent2 = 2.0f * logf(fmaxf(opacity / ALPHA_MIN, 1.0f));
    return sqrtf(extent2 * c0 / det) + 1.0f;
}

// One step of the backward pass, walking a pixel's Gaussians back to front. On entry
// T is the transmittance after this Gaussian and S the features blended behind it;
// on exit both include it. Returns dL/dalpha for this Gaussian.
SC_HD float blend_bwd_step(float alpha, const float* f, const float* v_out, float v_alpha_out,
                           float T_final, float& T, float* S, float* v_f) {
    const float ra = 1.0f / (1.0f - alpha);
    T *= ra;  // transmittance in front of this Gaussian
    const float w = alpha * T;
    float v_a = v_alpha_out * T_final * ra;
    for (int ch = 0; ch < CHANNELS; ++ch) {
        v_f[ch] = w * v_out[ch];
        v_a += (f[ch] * T - S[ch] * ra) * v_out[ch];
        S[ch] += f[ch] * w;
    }
    return v_a;
}

}  // namespace sc
