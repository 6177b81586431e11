// CPU tile binning: every visible Gaussian is listed in each 16x16 tile its box
// touches, each tile's list in depth order (ties by index, as the reference sorts).
// One global depth sort (radix), then a counting sort by tile keeps that order for free.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "include/launchers.h"

namespace sc {

namespace {

// Stable sort of `order` by depth: an LSD radix sort on the depths' bit patterns, which
// order like the values themselves because a visible Gaussian's depth is positive (past
// the near plane). Stable, so ties keep index order; three 11-bit passes, no compares.
void depth_sort(std::vector<int32_t>& order, const float* depths) {
    const size_t m = order.size();
    if (m == 0) return;
    std::vector<uint32_t> keys(m), keys_tmp(m);
    std::vector<int32_t> order_tmp(m);
    for (size_t i = 0; i < m; ++i) std::memcpy(&keys[i], depths + order[i], sizeof(uint32_t));
    constexpr int BITS = 11, BUCKETS = 1 << BITS;
    for (int shift = 0; shift < 32; shift += BITS) {
        size_t count[BUCKETS + 1] = {};
        for (size_t i = 0; i < m; ++i) ++count[((keys[i] >> shift) & (BUCKETS - 1)) + 1];
        if (count[((keys[0] >> shift) & (BUCKETS - 1)) + 1] == m) continue;  // one bucket: nothing moves
        for (int b = 0; b < BUCKETS; ++b) count[b + 1] += count[b];
        for (size_t i = 0; i < m; ++i) {
            const size_t at = count[(keys[i] >> shift) & (BUCKETS - 1)]++;
            keys_tmp[at] = keys[i];
            order_tmp[at] = order[i];
        }
        keys.swap(keys_tmp);
        order.swap(order_tmp);
    }
}

}  // namespace

int64_t count_intersections_cpu(int n, const float* means2d, const int32_t* radii, int width,
                                int height, int32_t* counts) {
    int64_t total = 0;
#pragma omp parallel for schedule(static, 1024) reduction(+ : total)
    for (int i = 0; i < n; ++i) {
        counts[i] = 0;
        if (radii[i] <= 0) continue;
        int tx0, tx1, ty0, ty1;
        tile_range(means2d[2 * i], means2d[2 * i + 1], radii[i], width, height, tx0, tx1, ty0, ty1);
        counts[i] = std::max(tx1 - tx0 + 1, 0) * std::max(ty1 - ty0 + 1, 0);
        total += counts[i];
    }
    return total;
}

void bin_gaussians_cpu(int n, const float* means2d, const int32_t* radii, const float* depths,
                       int width, int height, int32_t* tile_offsets, int32_t* flat_ids) {
    const int tiles_x = (width + TILE - 1) / TILE, tiles_y = (height + TILE - 1) / TILE;
    const int tiles = tiles_x * tiles_y;
    std::vector<int32_t> order;
    order.reserve(n);
    for (int i = 0; i < n; ++i)
        if (radii[i] > 0) order.push_back(i);
    depth_sort(order, depths);
    std::vector<int32_t> cursor(tiles + 1, 0);
    for (int32_t g : order) {
        int tx0, tx1, ty0, ty1;
        tile_range(means2d[2 * g], means2d[2 * g + 1], radii[g], width, height, tx0, tx1, ty0, ty1);
        for (int ty = ty0; ty <= ty1; ++ty)
            for (int tx = tx0; tx <= tx1; ++tx) ++cursor[ty * tiles_x + tx + 1];
    }
    std::partial_sum(cursor.begin(), cursor.end(), cursor.begin());
    std::copy(cursor.begin(), cursor.end(), tile_offsets);
    for (int32_t g : order) {
        int tx0, tx1, ty0, ty1;
        tile_range(means2d[2 * g], means2d[2 * g + 1], radii[g], width, height, tx0, tx1, ty0, ty1);
        for (int ty = ty0; ty <= ty1; ++ty)
            for (int tx = tx0; tx <= tx1; ++tx) flat_ids[cursor[ty * tiles_x + tx]++] = g;
    }
}

}  // namespace sc
