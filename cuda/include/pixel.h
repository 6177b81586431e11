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
    const float extent2 = 2.0f * logf(max_f(opacity / ALPHA_MIN, 1.0f));
    return sqrtf(extent2 * c0 / det) + 1.0f;
}

// The ellipse sigma <= L around a Gaussian's centre, outside which its alpha stays below
// 1/255 (L = log(opacity / ALPHA_MIN)), row by row: the kernels visit only the pixels of a
// row inside it, binning lists only the tiles it touches. Skipping a pixel there is exact
// (alpha 0 changes nothing forward or backward) as long as the ellipse contains every pixel
// the per-pixel test keeps, so it is loosened: L by 2% + 0.05 (the per-pixel sigma's float
// error is below 0.5% of L for the conics kept below, fast_exp's 2e-7) and half a pixel on
// each side of a row. `exact` is false for a non-positive-definite or nearly singular conic
// (det < 1e-4 c0 c2: a thin diagonal Gaussian over 200x longer than wide, where the float
// det loses more than 3 digits); every pixel is then visited, as before.
struct Footprint {
    float c1, det, inv_c0, two_L_c0;  // row dy: centre -c1 dy / c0, half-width sqrt(2 L c0 - det dy^2) / c0
    float dy_right;                    // row of the ellipse's rightmost point (leftmost: -dy_right)
    float y_ext;                       // half-height: |dy| <= y_ext
    bool exact;
};

SC_HD Footprint footprint(float c0, float c1, float c2, float opacity) {
    Footprint f;
    const float L = 1.02f * logf(max_f(opacity / ALPHA_MIN, 1.0f)) + 0.05f;
    f.c1 = c1;
    f.det = c0 * c2 - c1 * c1;
    f.exact = c0 > 0.0f && c2 > 0.0f && f.det > 1e-4f * c0 * c2 && is_finite(f.det);
    f.inv_c0 = f.exact ? 1.0f / c0 : 0.0f;
    f.two_L_c0 = 2.0f * L * c0;
    f.y_ext = f.exact ? sqrtf(f.two_L_c0 / f.det) : 0.0f;
    f.dy_right = f.exact ? -c1 * sqrtf(2.0f * L / (c2 * f.det)) : 0.0f;  // -c1 / c2 * x extent
    return f;
}

// [lo, hi]: the dx of row dy inside the ellipse (half a pixel of slack each side); the
// ellipse's chord, or its centre point where the row passes outside.
SC_HD void row_edges(const Footprint& f, float dy, float& lo, float& hi) {
    const float disc = max_f(f.two_L_c0 - f.det * dy * dy, 0.0f);
    const float half = sqrtf(disc) * f.inv_c0, centre = -f.c1 * dy * f.inv_c0;
    lo = centre - half - 0.5f;
    hi = centre + half + 0.5f;
}

// The dx of row dy the Gaussian can reach, [lo, hi]; false when the row misses the ellipse.
SC_HD bool row_span(const Footprint& f, float dy, float& lo, float& hi) {
    if (!f.exact) {
        lo = -3.0e38f;
        hi = 3.0e38f;
        return true;
    }
    if (f.two_L_c0 - f.det * dy * dy < 0.0f) return false;
    row_edges(f, dy, lo, hi);
    return true;
}

// The dx reached by any row dy in [ya, yb], [lo, hi]; false when the band misses the ellipse.
// The right edge of a chord is concave in dy, peaking at dy_right; the left edge convex.
SC_HD bool band_span(const Footprint& f, float ya, float yb, float& lo, float& hi) {
    if (!f.exact) {
        lo = -3.0e38f;
        hi = 3.0e38f;
        return true;
    }
    const float y_lo = max_f(ya, -f.y_ext), y_hi = min_f(yb, f.y_ext);
    if (!(y_lo <= y_hi)) return false;
    float unused;
    row_edges(f, min_f(max_f(f.dy_right, y_lo), y_hi), unused, hi);
    row_edges(f, min_f(max_f(-f.dy_right, y_lo), y_hi), lo, unused);
    return true;
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
