#!/usr/bin/env bash
# The GPU machine's Python environment, rehearsed here as closely as this machine allows:
# a fresh virtualenv (no system site-packages, no splatcine install) holding only
#   - torch and numpy,
#   - the packages that machine's image already has and splatcine's check uses (IMAGE below,
#     from the device notes' package list; versions are PyPI's, not necessarily the image's),
#   - the wheels scripts/gpu_wheels.sh lists (for this machine's Python: 3.11 here, 3.12 there),
# then `python -m benchmarks.gpu_check --dry-run` from the source tree. A missing import (open3d,
# pycolmap, a package nobody listed) fails a part there. About 3 minutes and 1.5 GB the first time.
#
#   scripts/gpu_env_rehearsal.sh [extra gpu_check arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-build/gpu-env-rehearsal}
PYTHON=${PYTHON:-python3}
# what the GPU machine's image holds (hypothesis is not among them: the first H200 run found it
# missing, with ruamel.yaml, so both now travel as wheels)
IMAGE=(numpy scipy pyyaml rich typer imageio pillow matplotlib safetensors jaxtyping ninja setuptools
       packaging transformers tokenizers huggingface-hub accelerate requests filelock regex pytest)

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q torch==2.13.0 2>&1 | grep -v "is ignored" || true
  "$VENV/bin/python" -m pip install -q "${IMAGE[@]}" 2>&1 | grep -v "is ignored" || true
fi
PY_VERSION=$("$VENV/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
WHEEL_DIR=build/wheels-cp${PY_VERSION/./} PY_VERSION=$PY_VERSION PYTHON="$VENV/bin/python" scripts/gpu_wheels.sh
"$VENV/bin/python" -m pip install -q --no-index --no-deps --no-compile --upgrade \
  --target "$VENV/wheels" build/wheels-cp${PY_VERSION/./}/*.whl 2>&1 | grep -v "is ignored" || true
for forbidden in open3d pycolmap splatcine; do
  if PYTHONPATH="$VENV/wheels" "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('$forbidden') is None)" 2>/dev/null \
     && [ "$forbidden" != splatcine ]; then
    echo "error: $forbidden is importable in the rehearsal environment" >&2; exit 1
  fi
done
# its own extension cache: another torch install must not rebuild the shared one
SPLATCINE_CACHE_DIR="$VENV/cache" PYTHONPATH="$PWD:$VENV/wheels" "$VENV/bin/python" -m benchmarks.gpu_check --dry-run \
  --results build/gpu_check_env_rehearsal.json "$@"
