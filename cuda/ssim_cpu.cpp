// The training loss's SSIM on the CPU, forward and backward in one pass each: the
// per-pixel SSIM of a render against a fixed target exactly as kornia computes it (an
// 11-tap Gaussian window, sigma 1.5, applied separably with reflected borders, C1 and C2
// for values in [0, 1]), and its gradient with respect to the render. Written out because
// oneDNN's depthwise convolution backward made SSIM half of a small training step.
//
// Each public function opens one parallel region; the passes inside it are worksharing loops
// (`omp for`, a barrier between passes), not a parallel region each: a small step's SSIM was
// ~20 regions, each waking the other thread, and each stalling until it got a core.
//
// Images are [H][W][C] (channels interleaved). The window's rows-then-columns blur of the
// five moments (a, b, a^2, b^2, ab) is saved for the backward pass, which applies the
// blur's adjoint (columns, then rows, reflections folded back) to three per-pixel maps:
//   dL/da = B^T(m_mu) + 2 a B^T(m_aa) + b B^T(m_ab).
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "include/launchers.h"

namespace sc {

namespace {

constexpr int R = SSIM_WINDOW / 2;  // window radius
constexpr float C1 = 0.01f * 0.01f, C2 = 0.03f * 0.03f;  // kornia's, for max_val = 1

// The normalised 11-tap Gaussian, sigma 1.5 (kornia.filters.get_gaussian_kernel1d).
void window(float* g) {
    float sum = 0.0f;
    for (int k = 0; k < SSIM_WINDOW; ++k) {
        const float x = static_cast<float>(k - R);
        g[k] = expf(-x * x / (2.0f * 1.5f * 1.5f));
        sum += g[k];
    }
    for (int k = 0; k < SSIM_WINDOW; ++k) g[k] /= sum;
}

// torch's 'reflect' padding: -1 -> 1, n -> n - 2 (needs n > R).
inline int reflect(int i, int n) { return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i; }

// out = in blurred along x (each row of w pixels of c channels).
void blur_x(const float* in, float* out, int h, int w, int c, const float* g) {
#pragma omp for schedule(static)
    for (int y = 0; y < h; ++y) {
        const float* __restrict src = in + int64_t(y) * w * c;
        float* __restrict dst = out + int64_t(y) * w * c;
        // tap by tap over the whole row (each element summed in tap order, as a per-element
        // loop would): g++ vectorises this form, not the 11-tap sum per element
        const int lo = R * c, hi = (w - R) * c;
        std::fill(dst + lo, dst + std::max(lo, hi), 0.0f);
        for (int k = 0; k < SSIM_WINDOW; ++k) {
            const float gk = g[k];
            const float* __restrict tap = src + (k - R) * c;
            for (int i = lo; i < hi; ++i) dst[i] += gk * tap[i];
        }
        for (int x = 0; x < w; x += (x == R - 1 && w - R > R) ? w - 2 * R + 1 : 1)
            for (int ch = 0; ch < c; ++ch) {
                float s = 0.0f;
                for (int k = 0; k < SSIM_WINDOW; ++k) s += g[k] * src[reflect(x + k - R, w) * c + ch];
                dst[x * c + ch] = s;
            }
    }
}

// out = in blurred along y (rows of n = w * c floats).
void blur_y(const float* in, float* out, int h, int n, const float* g) {
#pragma omp for schedule(static)
    for (int y = 0; y < h; ++y) {
        float* __restrict dst = out + int64_t(y) * n;
        std::fill(dst, dst + n, 0.0f);
        for (int k = 0; k < SSIM_WINDOW; ++k) {
            const float* __restrict src = in + int64_t(reflect(y + k - R, h)) * n;
            const float gk = g[k];
            for (int i = 0; i < n; ++i) dst[i] += gk * src[i];
        }
    }
}

// The adjoint of blur_y: out = B_y^T in.
void blur_y_adjoint(const float* in, float* out, int h, int n, const float* g) {
#pragma omp for schedule(static)
    for (int y = 0; y < h; ++y) {  // out row y gathers every in row whose window reads row y
        float* __restrict dst = out + int64_t(y) * n;
        std::fill(dst, dst + n, 0.0f);
        for (int src_y = std::max(0, y - 2 * R); src_y < std::min(h, y + 2 * R + 1); ++src_y)
            for (int k = 0; k < SSIM_WINDOW; ++k) {
                if (reflect(src_y + k - R, h) != y) continue;
                const float* __restrict src = in + int64_t(src_y) * n;
                const float gk = g[k];
                for (int i = 0; i < n; ++i) dst[i] += gk * src[i];
            }
    }
}

// The adjoint of blur_x: out = B_x^T in. Interior pixels read no reflected tap, so there
// the adjoint is a plain correlation with the (symmetric) window; each of the 2R border
// pixels of a side gathers from the readers listed once in `taps` (reflections folded in).
void blur_x_adjoint(const float* in, float* out, int h, int w, int c, const float* g) {
    struct Tap {
        int xp, x;
        float weight;
    };
    std::vector<Tap> taps;  // out[xp] += weight * in[x] for the border pixels xp
    auto border = [&](int xp) { return xp < 2 * R || xp >= w - 2 * R; };
    for (int x = 0; x < w; ++x)
        for (int k = 0; k < SSIM_WINDOW; ++k) {
            const int xp = reflect(x + k - R, w);
            if (border(xp)) taps.push_back({xp, x, g[k]});
        }
#pragma omp for schedule(static)
    for (int y = 0; y < h; ++y) {
        const float* __restrict src = in + int64_t(y) * w * c;
        float* __restrict dst = out + int64_t(y) * w * c;
        const int lo = 2 * R * c, hi = (w - 2 * R) * c;  // every reader x = x' - (k - R) is interior
        std::fill(dst + lo, dst + std::max(lo, hi), 0.0f);
        for (int k = 0; k < SSIM_WINDOW; ++k) {  // tap by tap, as in blur_x
            const float gk = g[k];
            const float* __restrict tap = src - (k - R) * c;
            for (int i = lo; i < hi; ++i) dst[i] += gk * tap[i];
        }
        for (int xp = 0; xp < w; ++xp)
            if (border(xp))
                for (int ch = 0; ch < c; ++ch) dst[xp * c + ch] = 0.0f;
        for (const Tap& t : taps)
            for (int ch = 0; ch < c; ++ch) dst[t.xp * c + ch] += t.weight * src[t.x * c + ch];
    }
}

}  // namespace

namespace {

// The blurred moments (a, b, a^2, b^2, ab) of two [h, w, c] images, each [h, w, c]; raw
// [5, h, w, c] and tmp [h, w, c] are scratch. Called inside a parallel region.
void blur_moments(int h, int w, int c, const float* a, const float* b, float* moments, float* raw,
                  float* tmp, const float* g) {
    const int64_t n = int64_t(h) * w * c;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        raw[i] = a[i];
        raw[n + i] = b[i];
        raw[2 * n + i] = a[i] * a[i];
        raw[3 * n + i] = b[i] * b[i];
        raw[4 * n + i] = a[i] * b[i];
    }
    for (int m = 0; m < 5; ++m) {
        blur_x(raw + m * n, tmp, h, w, c, g);
        blur_y(tmp, moments + m * n, h, w * c, g);
    }
}

// SSIM at element i from the blurred moments (n elements per moment).
inline float ssim_at(const float* moments, int64_t n, int64_t i) {
    const float mu_a = moments[i], mu_b = moments[n + i], aa = moments[2 * n + i];
    const float bb = moments[3 * n + i], ab = moments[4 * n + i];
    const float num = (2.0f * mu_a * mu_b + C1) * (2.0f * (ab - mu_a * mu_b) + C2);
    const float den = (mu_a * mu_a + mu_b * mu_b + C1) * ((aa - mu_a * mu_a) + (bb - mu_b * mu_b) + C2);
    return num / (den + 1e-12f);
}

// Scratch floats left uninitialised (every pass writes its whole output before it is read;
// zeroing them was 6% of the loss's time).
struct Buffer {
    std::unique_ptr<float[]> p;
    explicit Buffer(int64_t n) : p(new float[n > 0 ? n : 1]) {}
    float* data() { return p.get(); }
};

// Scratch of the backward pass: maps [3, n], tmp [n], back [3, n].
struct BackwardScratch {
    Buffer maps, tmp, back;
    explicit BackwardScratch(int64_t n) : maps(3 * n), tmp(n), back(3 * n) {}
};

// v_a[i] = v_ssim(i) dSSIM_i/da + extra(i), inside a parallel region.
template <class Upstream, class Extra>
void ssim_backward(int h, int w, int c, const float* a, const float* b, const float* moments,
                   Upstream v_ssim, Extra extra, float* v_a, BackwardScratch& s) {
    float g[SSIM_WINDOW];
    window(g);
    const int64_t n = int64_t(h) * w * c;
    const float *mu_a = moments, *mu_b = moments + n, *aa = moments + 2 * n, *bb = moments + 3 * n,
                *ab = moments + 4 * n;
    float *maps = s.maps.data(), *back = s.back.data();
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        // S = A1 A2 / D, D = B1 B2 + 1e-12, in the blurred moments mu_a, aa, ab (b is fixed)
        const float A1 = 2.0f * mu_a[i] * mu_b[i] + C1, A2 = 2.0f * (ab[i] - mu_a[i] * mu_b[i]) + C2;
        const float B1 = mu_a[i] * mu_a[i] + mu_b[i] * mu_b[i] + C1;
        const float B2 = (aa[i] - mu_a[i] * mu_a[i]) + (bb[i] - mu_b[i] * mu_b[i]) + C2;
        const float inv_D = 1.0f / (B1 * B2 + 1e-12f);
        const float S = A1 * A2 * inv_D, v = v_ssim(i);
        maps[i] = v * (2.0f * mu_b[i] * (A2 - A1) - 2.0f * mu_a[i] * S * (B2 - B1)) * inv_D;  // dS/dmu_a
        maps[n + i] = v * (-S * B1 * inv_D);                                                  // dS/daa
        maps[2 * n + i] = v * (2.0f * A1 * inv_D);                                            // dS/dab
    }
    for (int m = 0; m < 3; ++m) {
        blur_y_adjoint(maps + m * n, s.tmp.data(), h, w * c, g);
        blur_x_adjoint(s.tmp.data(), back + m * n, h, w, c, g);
    }
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) v_a[i] = back[i] + 2.0f * a[i] * back[n + i] + b[i] * back[2 * n + i] + extra(i);
}

}  // namespace

void ssim_fwd_cpu(int h, int w, int c, const float* a, const float* b, float* moments, float* ssim) {
    float g[SSIM_WINDOW];
    window(g);
    const int64_t n = int64_t(h) * w * c;
    Buffer raw(5 * n), tmp(n);
#pragma omp parallel
    {
        blur_moments(h, w, c, a, b, moments, raw.data(), tmp.data(), g);
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; ++i) ssim[i] = ssim_at(moments, n, i);
    }
}

void ssim_bwd_cpu(int h, int w, int c, const float* a, const float* b, const float* moments,
                  const float* v_ssim, float* v_a) {
    BackwardScratch scratch(int64_t(h) * w * c);
#pragma omp parallel
    ssim_backward(h, w, c, a, b, moments, [&](int64_t i) { return v_ssim[i]; }, [](int64_t) { return 0.0f; },
                  v_a, scratch);
}

namespace {

// The weight of each element (its pixel's, repeated over the channels), so that the loss's
// loops index elements only and vectorise (an element's pixel, i / c, would not).
Buffer element_weights(int64_t pixels, int c, const float* weight) {
    Buffer out(weight ? pixels * c : 0);
    if (weight) {
#pragma omp parallel for schedule(static)
        for (int64_t px = 0; px < pixels; ++px)
            for (int ch = 0; ch < c; ++ch) out.data()[px * c + ch] = weight[px];
    }
    return out;
}

// Sums over elements [lo, hi) of w, w |a - b|, w (a - b)^2 and w (1 - SSIM) (SSIM only when
// `moments`), w the element weight (1 when `we` is null), in float: a row at a time.
template <bool WITH_SSIM, bool WEIGHTED>
void element_sums(int64_t lo, int64_t hi, int64_t n, const float* a, const float* b, const float* we,
                  const float* moments, double* out) {
    float sw = 0.0f, l1 = 0.0f, se = 0.0f, ds = 0.0f;
#pragma omp simd reduction(+ : sw, l1, se, ds)
    for (int64_t i = lo; i < hi; ++i) {
        const float wt = WEIGHTED ? we[i] : 1.0f;
        const float d = a[i] - b[i];
        sw += wt;
        l1 += wt * fabsf(d);
        se += wt * d * d;
        if (WITH_SSIM) ds += wt * (1.0f - ssim_at(moments, n, i));
    }
    out[0] = sw; out[1] = l1; out[2] = se; out[3] = ds;
}

}  // namespace

// Per row in float (vector lanes), then the rows in order in double: the sums do not depend
// on the thread count. Each term is summed per element and divided by c once at the end
// (the mean over a pixel's channels).
void photometric_fwd_cpu(int h, int w, int c, const float* a, const float* b, const float* weight,
                         float ssim_lambda, float* moments, float* stats) {
    const int64_t n = int64_t(h) * w * c, row = int64_t(w) * c;
    const bool with_ssim = ssim_lambda != 0.0f;
    float g[SSIM_WINDOW];
    window(g);
    Buffer raw(with_ssim ? 5 * n : 0), tmp(with_ssim ? n : 0);
    Buffer we = element_weights(int64_t(h) * w, c, weight);
    const float* wp = weight ? we.data() : nullptr;
    std::vector<double> rows(4 * static_cast<size_t>(h));  // per row: weight, L1, squared error, 1 - SSIM
    auto sums = with_ssim ? (weight ? element_sums<true, true> : element_sums<true, false>)
                          : (weight ? element_sums<false, true> : element_sums<false, false>);
#pragma omp parallel
    {
        if (with_ssim) blur_moments(h, w, c, a, b, moments, raw.data(), tmp.data(), g);
#pragma omp for schedule(static)
        for (int y = 0; y < h; ++y) sums(y * row, (y + 1) * row, n, a, b, wp, moments, rows.data() + 4 * y);
    }
    double sw = 0.0, l1 = 0.0, se = 0.0, ds = 0.0;
    for (int y = 0; y < h; ++y) {
        sw += rows[4 * y]; l1 += rows[4 * y + 1]; se += rows[4 * y + 2]; ds += rows[4 * y + 3];
    }
    const double count = std::max(sw / c, 1.0);  // the weights of the pixels
    stats[0] = static_cast<float>(with_ssim ? ((1.0 - ssim_lambda) * l1 + ssim_lambda * ds) / (c * count)
                                            : l1 / (c * count));
    stats[1] = static_cast<float>(se / (c * count));
}

// dloss/da: the L1 term's sign (0 where a == b, as torch's abs), and SSIM's backward pass
// with the per-element weight -lambda w / (c count) as its upstream gradient.
void photometric_bwd_cpu(int h, int w, int c, const float* a, const float* b, const float* weight,
                         const float* moments, float ssim_lambda, float v_loss, float* v_a) {
    const int64_t pixels = int64_t(h) * w, n = pixels * c;
    double sw = 0.0;
    for (int64_t px = 0; px < pixels; ++px) sw += weight ? weight[px] : 1.0f;
    const float scale = static_cast<float>(v_loss / (c * std::max(sw, 1.0)));
    const bool with_ssim = ssim_lambda != 0.0f;
    const float l1_share = with_ssim ? 1.0f - ssim_lambda : 1.0f;
    Buffer we = element_weights(pixels, c, weight);
    const float* wp = we.data();
    auto sign = [&](int64_t i) {
        const float d = a[i] - b[i];
        return d > 0.0f ? 1.0f : d < 0.0f ? -1.0f : 0.0f;
    };
    // the same loops twice, weighted or not, so that each vectorises without a test per element
    auto l1_w = [&](int64_t i) { return l1_share * scale * wp[i] * sign(i); };
    auto l1_1 = [&](int64_t i) { return l1_share * scale * sign(i); };
    if (!with_ssim) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; ++i) v_a[i] = weight ? l1_w(i) : l1_1(i);
        return;
    }
    BackwardScratch scratch(n);
    const float v_ssim = -ssim_lambda * scale;
    if (weight) {
#pragma omp parallel
        ssim_backward(h, w, c, a, b, moments, [&](int64_t i) { return v_ssim * wp[i]; }, l1_w, v_a, scratch);
    } else {
#pragma omp parallel
        ssim_backward(h, w, c, a, b, moments, [&](int64_t) { return v_ssim; }, l1_1, v_a, scratch);
    }
}

}  // namespace sc
