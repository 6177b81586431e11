// The training loss's SSIM on the CPU, forward and backward in one pass each: the
// per-pixel SSIM of a render against a fixed target exactly as kornia computes it (an
// 11-tap Gaussian window, sigma 1.5, applied separably with reflected borders, C1 and C2
// for values in [0, 1]), and its gradient with respect to the render. Written out because
// oneDNN's depthwise convolution backward made SSIM half of a small training step.
//
// Each public function opens one parallel region and splits the image into bands of rows,
// one per thread, that need nothing from each other: a band reads the R rows (2R in the
// backward pass) beyond its edges and blurs them itself, so no pass waits for another
// thread's. Under passive waits every barrier that finds the other thread asleep costs its
// wake-up (include/threads_cpu.h): the loss's 20 barriers were a third of a 120x67 training
// step's wake-ups (43 of its 132 futex calls). The halo costs 2R rows of x-blurs per band. Every element is computed by the same arithmetic in the same order
// whatever the band, so the results do not depend on the thread count.
//
// Images are [H][W][C] (channels interleaved). The window's rows-then-columns blur of the
// five moments (a, b, a^2, b^2, ab) is saved for the backward pass, which applies the
// blur's adjoint (columns, then rows, reflections folded back) to three per-pixel maps:
//   dL/da = B^T(m_mu) + 2 a B^T(m_aa) + b B^T(m_ab).
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include <omp.h>

#include "include/launchers.h"
#include "include/threads_cpu.h"

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

// dst[i] = sum_k g[k] src[k][i] over the window's taps, in tap order, the sum kept in a
// register: one store an element, not one load and store a tap (half the blur's time).
inline void weighted_sum(const float* const* src, const float* g, int64_t n, float* __restrict dst) {
    for (int64_t i = 0; i < n; ++i) {
        float s = 0.0f;
        for (int k = 0; k < SSIM_WINDOW; ++k) s += g[k] * src[k][i];
        dst[i] = s;
    }
}

// dst[i] += w src[i]
inline void add_scaled(float w, const float* __restrict src, int64_t n, float* __restrict dst) {
    for (int64_t i = 0; i < n; ++i) dst[i] += w * src[i];
}

// The x-blur over rows of w pixels of c channels, and its adjoint, through a row padded by
// reflection (R pixels each side), so that every element sums the same 11 taps in a register
// (`weighted_sum`). (With the reflected taps at the borders as scalar loops, as before, they
// cost about as much as the interior at w = 120.) Each element sums its taps in tap order. One
// per thread: it holds the padded row.
class XBlur {
  public:
    XBlur(int w, int c, const float* g)
        : w_(w), c_(c), g_(g), pad_(new float[(w + 2 * R) * c]), zeros_(new float[(w + 4 * R) * c]()) {}

    // dst = src blurred along x
    void row(const float* __restrict src, float* __restrict dst) const {
        float* __restrict p = pad_.get();
        const int n = w_ * c_;
        std::copy(src, src + n, p + R * c_);
        for (int x = -R; x < 0; ++x) std::copy_n(src + reflect(x, w_) * c_, c_, p + (x + R) * c_);
        for (int x = w_; x < w_ + R; ++x) std::copy_n(src + reflect(x, w_) * c_, c_, p + (x + R) * c_);
        const float* taps[SSIM_WINDOW];
        for (int k = 0; k < SSIM_WINDOW; ++k) taps[k] = p + k * c_;
        weighted_sum(taps, g_, n, dst);
    }

    // dst = the adjoint of row() applied to src: the taps gathered over src padded with zeros
    // (2R pixels each side), then the padding folded back onto the pixels it reflects
    void adjoint(const float* __restrict src, float* __restrict dst) const {
        float* __restrict z = zeros_.get();
        float* __restrict p = pad_.get();
        const int n = w_ * c_, m = n + 2 * R * c_;
        std::copy(src, src + n, z + 2 * R * c_);
        const float* taps[SSIM_WINDOW];  // p[j] = sum_k g[k] src[j - k c]
        for (int k = 0; k < SSIM_WINDOW; ++k) taps[k] = z + (2 * R - k) * c_;
        weighted_sum(taps, g_, m, p);
        std::copy(p + R * c_, p + R * c_ + n, dst);
        for (int x = -R; x < 0; ++x)
            for (int ch = 0; ch < c_; ++ch) dst[reflect(x, w_) * c_ + ch] += p[(x + R) * c_ + ch];
        for (int x = w_; x < w_ + R; ++x)
            for (int ch = 0; ch < c_; ++ch) dst[reflect(x, w_) * c_ + ch] += p[(x + R) * c_ + ch];
    }

  private:
    int w_, c_;
    const float* g_;
    std::unique_ptr<float[]> pad_;
    std::unique_ptr<float[]> zeros_;  // the adjoint's source, its 2R pixels each side kept zero
};

// dst = row y of the image blurred along y; rows(r) is row r of the image (n floats a row),
// asked only for r in [y - R, y + R] reflected into [0, h).
template <class Rows>
void blur_y_row(int y, int h, int n, const float* g, Rows rows, float* __restrict dst) {
    const float* src[SSIM_WINDOW];
    for (int k = 0; k < SSIM_WINDOW; ++k) src[k] = rows(reflect(y + k - R, h));
    weighted_sum(src, g, n, dst);
}

// Row y of the adjoint of the y-blur: it gathers every row whose window reads row y, so
// rows(r) is asked for r in [y - 2R, y + 2R] within [0, h).
template <class Rows>
void blur_y_adjoint_row(int y, int h, int n, const float* g, Rows rows, float* __restrict dst) {
    const float* src[3 * SSIM_WINDOW];  // (row, weight) pairs in order: at most 2R + 1 + R of them
    float weight[3 * SSIM_WINDOW];
    int count = 0;
    for (int src_y = std::max(0, y - 2 * R); src_y < std::min(h, y + 2 * R + 1); ++src_y)
        for (int k = 0; k < SSIM_WINDOW; ++k)
            if (reflect(src_y + k - R, h) == y) {
                src[count] = rows(src_y);
                weight[count++] = g[k];
            }
    // the first window's worth of pairs in registers (every pair of all rows but the few a
    // reflection reaches), the rest added in turn: the pairs' order either way
    const int head = count >= SSIM_WINDOW ? SSIM_WINDOW : 0;
    if (head > 0) weighted_sum(src, weight, n, dst);
    else std::fill(dst, dst + n, 0.0f);
    for (int q = head; q < count; ++q) add_scaled(weight[q], src[q], n, dst);
}

// Scratch floats left uninitialised (every pass writes its whole output before it is read;
// zeroing them was 6% of the loss's time).
struct Buffer {
    std::unique_ptr<float[]> p;
    explicit Buffer(int64_t n) : p(new float[n > 0 ? n : 1]) {}
    float* data() { return p.get(); }
};

// This thread's band of rows [y0, y1) out of h: a static split, called inside a parallel region.
void band(int h, int& y0, int& y1) {
    const int t = omp_get_thread_num(), threads = omp_get_num_threads();
    y0 = static_cast<int>(int64_t(h) * t / threads);
    y1 = static_cast<int>(int64_t(h) * (t + 1) / threads);
}

}  // namespace

namespace {

// Rows [y0, y1) of the blurred moments (a, b, a^2, b^2, ab) of two [h, w, c] images, into
// moments [5, h, w, c]. The y-blur reads rows [y0 - R, y1 + R) clipped to the image (its
// reflections fall inside them, as h > R); this band x-blurs those itself.
void blur_moments(int h, int w, int c, const float* a, const float* b, int y0, int y1, const float* g,
                  float* moments) {
    const int64_t row = int64_t(w) * c, n = h * row;
    const int lo = std::max(0, y0 - R), hi = std::min(h, y1 + R);
    Buffer raw(row), xs((hi - lo) * row);
    const XBlur x_blur(w, c, g);
    auto x_blurred = [&](int r) -> const float* { return xs.data() + (r - lo) * row; };
    for (int m = 0; m < 5; ++m) {
        for (int r = lo; r < hi; ++r) {
            const float *pa = a + r * row, *pb = b + r * row;
            const float* src = m == 0 ? pa : m == 1 ? pb : raw.data();
            float* __restrict out = raw.data();
            if (m == 2) for (int64_t i = 0; i < row; ++i) out[i] = pa[i] * pa[i];
            if (m == 3) for (int64_t i = 0; i < row; ++i) out[i] = pb[i] * pb[i];
            if (m == 4) for (int64_t i = 0; i < row; ++i) out[i] = pa[i] * pb[i];
            x_blur.row(src, xs.data() + (r - lo) * row);
        }
        for (int y = y0; y < y1; ++y) blur_y_row(y, h, row, g, x_blurred, moments + m * n + y * row);
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

// Rows [y0, y1) of v_a[i] = v_ssim(i) dSSIM_i/da + extra(i). The adjoint of the y-blur
// gathers rows [y0 - 2R, y1 + 2R) of the three per-pixel maps, which this band computes
// itself (they are pointwise in the moments); the x-adjoint then runs row by row.
template <class Upstream, class Extra>
void ssim_backward(int h, int w, int c, const float* a, const float* b, const float* moments,
                   Upstream v_ssim, Extra extra, float* v_a, int y0, int y1, const float* g) {
    const int64_t row = int64_t(w) * c, n = h * row;
    const int lo = std::max(0, y0 - 2 * R), hi = std::min(h, y1 + 2 * R);
    const int64_t span = (hi - lo) * row, first = lo * row;
    const float *mu_a = moments, *mu_b = moments + n, *aa = moments + 2 * n, *bb = moments + 3 * n,
                *ab = moments + 4 * n;
    Buffer maps(3 * span), tmp(row), back(3 * row);
    const XBlur x_blur(w, c, g);
    float* __restrict mp = maps.data();
    for (int64_t j = 0; j < span; ++j) {
        const int64_t i = first + j;
        // S = A1 A2 / D, D = B1 B2 + 1e-12, in the blurred moments mu_a, aa, ab (b is fixed)
        const float A1 = 2.0f * mu_a[i] * mu_b[i] + C1, A2 = 2.0f * (ab[i] - mu_a[i] * mu_b[i]) + C2;
        const float B1 = mu_a[i] * mu_a[i] + mu_b[i] * mu_b[i] + C1;
        const float B2 = (aa[i] - mu_a[i] * mu_a[i]) + (bb[i] - mu_b[i] * mu_b[i]) + C2;
        const float inv_D = 1.0f / (B1 * B2 + 1e-12f);
        const float S = A1 * A2 * inv_D, v = v_ssim(i);
        mp[j] = v * (2.0f * mu_b[i] * (A2 - A1) - 2.0f * mu_a[i] * S * (B2 - B1)) * inv_D;  // dS/dmu_a
        mp[span + j] = v * (-S * B1 * inv_D);                                                // dS/daa
        mp[2 * span + j] = v * (2.0f * A1 * inv_D);                                          // dS/dab
    }
    float *t = tmp.data(), *bk = back.data();
    for (int y = y0; y < y1; ++y) {
        for (int m = 0; m < 3; ++m) {
            blur_y_adjoint_row(y, h, row, g,
                               [&](int r) -> const float* { return mp + m * span + (r - lo) * row; }, t);
            x_blur.adjoint(t, bk + m * row);
        }
        const int64_t o = y * row;
        for (int64_t j = 0; j < row; ++j)
            v_a[o + j] = bk[j] + 2.0f * a[o + j] * bk[row + j] + b[o + j] * bk[2 * row + j] + extra(o + j);
    }
}

}  // namespace

void ssim_fwd_cpu(int h, int w, int c, const float* a, const float* b, float* moments, float* ssim) {
    float g[SSIM_WINDOW];
    window(g);
    const int64_t row = int64_t(w) * c, n = h * row;
// ns a pixel, serial, 3 channels: 15, 21 and 25 at 120x67, 240x135 and 480x270 (the moments outgrow
// the caches); the constant is the middle size's, near where a region starts to pay
#pragma omp parallel if (worth_threads(int64_t(h) * w, 21))
    {
        int y0, y1;
        band(h, y0, y1);
        blur_moments(h, w, c, a, b, y0, y1, g, moments);
        for (int y = y0; y < y1; ++y)  // a row at a time: the vector loop splits each row alike in any band
            for (int64_t i = y * row; i < (y + 1) * row; ++i) ssim[i] = ssim_at(moments, n, i);
    }
}

void ssim_bwd_cpu(int h, int w, int c, const float* a, const float* b, const float* moments,
                  const float* v_ssim, float* v_a) {
    float g[SSIM_WINDOW];
    window(g);
#pragma omp parallel if (worth_threads(int64_t(h) * w, 22))  // 19, 22 and 21 ns
    {
        int y0, y1;
        band(h, y0, y1);
        ssim_backward(h, w, c, a, b, moments, [&](int64_t i) { return v_ssim[i]; }, [](int64_t) { return 0.0f; },
                      v_a, y0, y1, g);
    }
}

namespace {

// The weights of elements [first, last) (each its pixel's, repeated over the channels), so
// that the loss's loops index elements only and vectorise (an element's pixel, i / c, would
// not); empty without `weight`.
Buffer element_weights(const float* weight, int c, int64_t first, int64_t last) {
    Buffer out(weight ? last - first : 0);
    if (weight)
        for (int64_t i = first; i < last; ++i) out.data()[i - first] = weight[i / c];
    return out;
}

// Sums over elements [lo, hi) of w, w |a - b|, w (a - b)^2 and w (1 - SSIM) (SSIM only when
// WITH_SSIM), w the element weight (we[i - lo]; 1 when not WEIGHTED), in float: a row at a time.
template <bool WITH_SSIM, bool WEIGHTED>
void element_sums(int64_t lo, int64_t hi, int64_t n, const float* a, const float* b, const float* we,
                  const float* moments, double* out) {
    float sw = 0.0f, l1 = 0.0f, se = 0.0f, ds = 0.0f;
#pragma omp simd reduction(+ : sw, l1, se, ds)
    for (int64_t i = lo; i < hi; ++i) {
        const float wt = WEIGHTED ? we[i - lo] : 1.0f;
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
    std::vector<double> rows(4 * static_cast<size_t>(h));  // per row: weight, L1, squared error, 1 - SSIM
    auto sums = with_ssim ? (weight ? element_sums<true, true> : element_sums<true, false>)
                          : (weight ? element_sums<false, true> : element_sums<false, false>);
#pragma omp parallel if (worth_threads(int64_t(h) * w, 21))
    {
        int y0, y1;
        band(h, y0, y1);
        if (with_ssim) blur_moments(h, w, c, a, b, y0, y1, g, moments);
        Buffer we = element_weights(weight, c, y0 * row, y1 * row);
        for (int y = y0; y < y1; ++y)
            sums(y * row, (y + 1) * row, n, a, b, we.data() + (y - y0) * row, moments, rows.data() + 4 * y);
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
    const int64_t pixels = int64_t(h) * w, row = int64_t(w) * c;
    double sw = 0.0;
    for (int64_t px = 0; px < pixels; ++px) sw += weight ? weight[px] : 1.0f;
    const float scale = static_cast<float>(v_loss / (c * std::max(sw, 1.0)));
    const bool with_ssim = ssim_lambda != 0.0f;
    const float l1_share = with_ssim ? 1.0f - ssim_lambda : 1.0f;
    const float v_ssim = -ssim_lambda * scale;
    float g[SSIM_WINDOW];
    window(g);
    auto sign = [&](int64_t i) {
        const float d = a[i] - b[i];
        return d > 0.0f ? 1.0f : d < 0.0f ? -1.0f : 0.0f;
    };
#pragma omp parallel if (worth_threads(int64_t(h) * w, 22))
    {
        int y0, y1;
        band(h, y0, y1);
        // the weights of the rows the backward reads (the band and 2R beyond), first at `first`
        const int64_t first = std::max(0, y0 - 2 * R) * row;
        Buffer we = element_weights(weight, c, first, std::min(h, y1 + 2 * R) * row);
        const float* wp = we.data();
        // the same loops twice, weighted or not, so that each vectorises without a test per element
        auto l1_w = [&](int64_t i) { return l1_share * scale * wp[i - first] * sign(i); };
        auto l1_1 = [&](int64_t i) { return l1_share * scale * sign(i); };
        if (!with_ssim) {
            for (int64_t i = y0 * row; i < y1 * row; ++i) v_a[i] = weight ? l1_w(i) : l1_1(i);
        } else if (weight) {
            ssim_backward(h, w, c, a, b, moments, [&](int64_t i) { return v_ssim * wp[i - first]; }, l1_w, v_a,
                          y0, y1, g);
        } else {
            ssim_backward(h, w, c, a, b, moments, [&](int64_t) { return v_ssim; }, l1_1, v_a, y0, y1, g);
        }
    }
}

}  // namespace sc
