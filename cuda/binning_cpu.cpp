// CPU tile binning: every visible Gaussian is listed in each 16x16 tile its footprint
// (the ellipse where its alpha can reach 1/255, include/pixel.h) touches, each tile's list
// in depth order (ties by index, as the reference sorts). One global depth sort (radix),
// then a counting sort by tile keeps that order for free; the counting sort runs on every
// thread over consecutive slices of the depth order, each slice writing after the slices
// before it in every tile, so the lists do not depend on the thread count.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include <omp.h>

#include "include/launchers.h"
#include "include/threads_cpu.h"

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

int64_t tile_visits_cpu(int n, const float* means2d, const float* conics, const float* opacities,
                        const int32_t* radii, int width, int height, int32_t* gauss_offsets,
                        std::vector<int32_t>& slot_tiles) {
    const int tiles_x = (width + TILE - 1) / TILE;
    // Each thread walks a contiguous run of Gaussians into a list of its own (the first into
    // slot_tiles itself), so the lists, put one after the other, are the slots in order.
    const int threads = worth_threads(n, 27) ? omp_get_max_threads() : 1;  // ns a Gaussian
    std::vector<std::vector<int32_t>> lists(threads);
    std::vector<size_t> lengths(threads, 0);
    int used = 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (t == 0) used = nt;
        std::vector<int32_t>& list = t == 0 ? slot_tiles : lists[t];
        list.resize(static_cast<size_t>(n / nt) * 4);  // ~2.4 tiles a Gaussian at 120x67: grows rarely
        size_t length = 0;
        for (int i = static_cast<int>(int64_t{n} * t / nt); i < int64_t{n} * (t + 1) / nt; ++i) {
            if (radii[i] <= 0) {
                gauss_offsets[i + 1] = 0;
                continue;
            }
            // room for the whole box first, so each tile is a plain store (push_back's checks
            // cost a third of this loop)
            int tx0, tx1, ty0, ty1;
            tile_range(means2d[2 * i], means2d[2 * i + 1], radii[i], width, height, tx0, tx1, ty0, ty1);
            const size_t box = static_cast<size_t>(tx1 - tx0 + 1) * static_cast<size_t>(ty1 - ty0 + 1);
            if (length + box > list.size()) list.resize(std::max(2 * list.size(), length + box));
            int32_t* slot = list.data() + length;
            const int count = visit_tiles(means2d[2 * i], means2d[2 * i + 1], radii[i], conics[3 * i],
                                          conics[3 * i + 1], conics[3 * i + 2], opacities[i], width, height,
                                          [&](int tx, int ty) { *slot++ = ty * tiles_x + tx; });
            gauss_offsets[i + 1] = count;
            length += count;
        }
        lengths[t] = length;
    }
    slot_tiles.resize(lengths[0]);
    int64_t total = 0;
    for (int i = 0; i < n; ++i) total += gauss_offsets[i + 1];
    if (total >= INT32_MAX) return total;
    gauss_offsets[0] = 0;
    for (int i = 0; i < n; ++i) gauss_offsets[i + 1] += gauss_offsets[i];
    for (int t = 1; t < used; ++t) slot_tiles.insert(slot_tiles.end(), lists[t].begin(), lists[t].begin() + lengths[t]);
    return total;
}

void bin_gaussians_cpu(int n, const int32_t* gauss_offsets, const int32_t* slot_tiles,
                       const float* depths, int tiles, int32_t* tile_offsets, int32_t* flat_ids,
                       int32_t* entry_slots) {
    std::vector<int32_t> order;
    order.reserve(n);
    for (int i = 0; i < n; ++i)
        if (gauss_offsets[i + 1] > gauss_offsets[i]) order.push_back(i);
    depth_sort(order, depths);
    const int64_t m = static_cast<int64_t>(order.size());
    // Each Gaussian's slots and first tile, in depth order: read from scattered memory in a
    // loop of loads alone (many misses in flight), so the passes below read them in sequence.
    std::vector<int32_t> first_slot(m), slot_count(m), first_tile(m);
    std::vector<int32_t> cursor;  // [slices][tiles]: where each slice writes next in each tile
    int slices = 1;
    // ~32 ns a Gaussian, but two barriers inside: each may wait on a wake-up as a region does
#pragma omp parallel if (worth_threads(m, 32.0 / 3))
    {
#pragma omp single
        {
            slices = omp_get_num_threads();
            cursor.assign(static_cast<size_t>(slices) * tiles, 0);
        }  // implicit barrier
        const int s = omp_get_thread_num();
        const int64_t a = m * s / slices, b = m * (s + 1) / slices;
        int32_t* mine = cursor.data() + static_cast<size_t>(s) * tiles;
        for (int64_t j = a; j < b; ++j) {
            first_slot[j] = gauss_offsets[order[j]];
            slot_count[j] = gauss_offsets[order[j] + 1] - first_slot[j];
            first_tile[j] = slot_tiles[first_slot[j]];
        }
        for (int64_t j = a; j < b; ++j) {
            ++mine[first_tile[j]];
            for (int q = first_slot[j] + 1; q < first_slot[j] + slot_count[j]; ++q) ++mine[slot_tiles[q]];
        }
#pragma omp barrier
#pragma omp single
        {  // exclusive offsets, tile-major then slice: slice s writes after slices < s
            int32_t sum = 0;
            for (int t = 0; t < tiles; ++t) {
                tile_offsets[t] = sum;
                for (int q = 0; q < slices; ++q) {
                    const int32_t c = cursor[static_cast<size_t>(q) * tiles + t];
                    cursor[static_cast<size_t>(q) * tiles + t] = sum;
                    sum += c;
                }
            }
            tile_offsets[tiles] = sum;
        }  // implicit barrier
        for (int64_t j = a; j < b; ++j) {
            const int32_t g = order[j], q0 = first_slot[j];
            int32_t at = mine[first_tile[j]]++;
            flat_ids[at] = g;
            entry_slots[at] = q0;
            for (int q = q0 + 1; q < q0 + slot_count[j]; ++q) {
                at = mine[slot_tiles[q]]++;
                flat_ids[at] = g;
                entry_slots[at] = q;
            }
        }
    }
}

}  // namespace sc
