// When a CPU kernel's loop is worth a parallel region (CPU only; the CUDA kernels never include it).
//
// splatcine makes OpenMP threads wait passively (splatcine/__init__.py: spinning waits
// collapse when another process shares the cores), so opening a region wakes a sleeping
// thread, and the region's end waits for it. On the 2-core VMs this was measured on, an
// empty region costs 75-100 us that way (8-14 us with spinning waits), and in a 120x67
// training step each small kernel's region cost 0.15-0.25 ms against 0.02-0.18 ms of work.
// Two threads save half of a loop's serial time, so a region pays for itself from about
// 0.4 ms of serial work: each kernel gives its units of work and their serial cost (measured
// on one thread of those cores, AVX2), and smaller calls run on the calling thread alone.
#pragma once

#include <stdint.h>

#include <omp.h>

namespace sc {

constexpr double PARALLEL_MIN_NS = 4e5;

inline bool worth_threads(int64_t units, double ns_per_unit) {
    return static_cast<double>(units) * ns_per_unit >= PARALLEL_MIN_NS;
}

// body(lo, hi) over [0, n): on the calling thread alone when the loop is not worth a region,
// else one contiguous range per thread. For elementwise loops: the same loop under
// `#pragma omp parallel for if (false)` still runs in the region's outlined function, where
// g++ 12 compiled it ~10x slower than in a plain one (exp over 13.5k floats: 50 us, not 5),
// and libgomp still makes a futex call (~1 us) for the region it does not open.
template <class Body>
void parallel_range(int64_t n, double ns_per_unit, Body&& body) {
    if (!worth_threads(n, ns_per_unit)) {
        body(int64_t{0}, n);
        return;
    }
#pragma omp parallel
    {
        const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
        body(n * t / threads, n * (t + 1) / threads);
    }
}

}  // namespace sc
