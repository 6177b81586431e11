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

namespace sc {

constexpr double PARALLEL_MIN_NS = 4e5;

inline bool worth_threads(int64_t units, double ns_per_unit) {
    return static_cast<double>(units) * ns_per_unit >= PARALLEL_MIN_NS;
}

}  // namespace sc
