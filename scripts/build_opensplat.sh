#!/usr/bin/env bash
# Build OpenSplat's CPU trainer, the peer `bench_train` times beside splatcine's step in one run.
#   scripts/build_opensplat.sh SOURCE [BUILD]     # SOURCE: an OpenSplat checkout (1.1.5 was measured)
# prints the binary's path (BUILD/opensplat; BUILD defaults to build/opensplat).
# Against the venv's own torch (libtorch ships inside the wheel) and Debian's OpenCV,
# nlohmann-json, nanoflann and cxxopts, installed through apt when we are root: OpenSplat's
# CMakeLists fetches the last three from GitHub, which this machine cannot reach, so
# FetchContent is told to take the installed packages instead.
set -euo pipefail
SOURCE=${1:?usage: scripts/build_opensplat.sh OPENSPLAT_SOURCE [BUILD_DIR]}
cd "$(dirname "$0")/.."
BUILD=${2:-build/opensplat}
PY=${PY:-.venv/bin/python}
[ -f "$SOURCE/CMakeLists.txt" ] || { echo "error: $SOURCE: not an OpenSplat checkout (no CMakeLists.txt)" >&2; exit 2; }

PACKAGES="cmake g++ libopencv-dev nlohmann-json3-dev libnanoflann-dev libcxxopts-dev"
if ! dpkg -s $PACKAGES >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "build_opensplat: installing $PACKAGES" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES) >/dev/null
fi
TORCH_CMAKE=$("$PY" -c "import torch.utils; print(torch.utils.cmake_prefix_path)")
cmake -S "$SOURCE" -B "$BUILD" -DGPU_RUNTIME=CPU -DCMAKE_BUILD_TYPE=Release \
    -DFETCHCONTENT_TRY_FIND_PACKAGE_MODE=ALWAYS -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
    -DCMAKE_PREFIX_PATH="$TORCH_CMAKE" >&2
cmake --build "$BUILD" --target opensplat -j "$(nproc)" >&2
realpath "$BUILD/opensplat"
