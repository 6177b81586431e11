// CPU tile binning: every visible Gaussian is listed in each 16x16 tile its box
// touches, each tile's list in depth order (ties by index, as the reference sorts).
// One global depth sort, then a counting sort by tile keeps that order for free.
#include <algorithm>
#include <numeric>
#include <vector>

#include "include/launchers.h"

namespace sc {

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
    std::stable_sort(order.begin(), order.end(),
                     [depths](int32_t a, int32_t b) { return depths[a] < depths[b]; });
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
