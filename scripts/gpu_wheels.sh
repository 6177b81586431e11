#!/usr/bin/env bash
# The Python packages `make gpu-check` needs on a GPU machine that reaches no package registry,
# downloaded here as CPython 3.12 x86-64 wheels into .whl/ (git-ignored), to travel with the
# working tree (64 MiB in all, wheels and tree together).
#
# That machine's image already holds torch, numpy, scipy, pyyaml, rich, typer, imageio, pillow,
# matplotlib, safetensors, jaxtyping, ninja, transformers, tokenizers, huggingface-hub, accelerate,
# requests, filelock, regex and packaging; what splatcine needs beyond them is listed below, each
# pinned to the version the project is tested with. open3d (~900 MB) and pycolmap never travel:
# nothing the check runs imports them (the check verifies that, part by part).
#
#   scripts/gpu_wheels.sh            # into .whl/, prints each wheel's size and the total
#   WHEEL_DIR=elsewhere scripts/gpu_wheels.sh
#
# On the GPU machine (see README, "GPU check"):
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
#       --target /tmp/site .whl/*.whl && export PYTHONPATH=$PWD:/tmp/site
set -euo pipefail

cd "$(dirname "$0")/.."
WHEEL_DIR=${WHEEL_DIR:-.whl}
PYTHON=${PYTHON:-python3}
PY_VERSION=${PY_VERSION:-3.12}  # the GPU machine's; scripts/gpu_env_rehearsal.sh asks for 3.11
LIMIT_MIB=${LIMIT_MIB:-52}  # of the 64 MiB that travel: the rest is for the tree itself

WHEELS=(
  gsplat==1.5.3                 # the measured peer; pure Python, compiles its CUDA on first use
  pydantic==2.14.4              # TrainConfig, path schema
  pydantic_core==2.50.5
  annotated-types==0.8.0
  typing-inspection==0.4.5
  typing_extensions==4.16.0     # pydantic_core needs a newer one than some images carry
  kornia==0.9.0                 # SSIM in the loss, quaternions in densification
  kornia_rs==0.2.0
  plyfile==1.1.5                # splat.ply
  splines==0.3.3                # camera-path interpolation (the 121-frame render)
  imageio-ffmpeg==0.5.1         # mp4 previews: its bundled ffmpeg is 26 MB (0.8.1's, 65 MB, cannot travel)
  diffusers==0.42.1             # generate: the tiny random Wan VACE pipeline
  ftfy==6.3.1                   # Wan's prompt cleaning
  wcwidth==0.9.4                # ftfy's one dependency
  ruamel.yaml==0.19.1           # path YAML that keeps a file's comments (splatcine.paths)
  hypothesis==6.170.17          # tests/raster/test_fuzz.py, in both test parts
  sortedcontainers==2.4.0       # hypothesis's one dependency
)

mkdir -p "$WHEEL_DIR"
# `.whl/` is ignored by .gitignore; the device tool also wants it in .git/info/exclude
exclude="$(git rev-parse --git-path info/exclude 2>/dev/null || true)"
if [ -n "$exclude" ] && ! grep -qx '/.whl/' "$exclude" 2>/dev/null; then
  mkdir -p "$(dirname "$exclude")" && echo '/.whl/' >>"$exclude"
fi

for spec in "${WHEELS[@]}"; do
  name=${spec%%==*}
  norm=$(echo "$name" | tr 'A-Z-' 'a-z_')
  if ls "$WHEEL_DIR" 2>/dev/null | tr 'A-Z' 'a-z' | grep -q "^${norm}-${spec##*==}-"; then
    continue  # already here
  fi
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux2010_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64 --platform manylinux_2_35_x86_64 \
    -d "$WHEEL_DIR" "$spec" 2>&1 | grep -v "is ignored" || true
  ls "$WHEEL_DIR" | tr 'A-Z' 'a-z' | grep -q "^${norm}-" || { echo "error: no cp$PY_VERSION wheel for $spec" >&2; exit 1; }
done

# one version of each: two would stop the install on the GPU machine
dupes=$(ls "$WHEEL_DIR"/*.whl | xargs -n1 basename | cut -d- -f1 | tr 'A-Z' 'a-z' | sort | uniq -d)
[ -z "$dupes" ] || { echo "error: several versions of: $dupes in $WHEEL_DIR" >&2; exit 1; }

du -b "$WHEEL_DIR"/*.whl | sort -n | awk '{printf "%8.2f MiB  %s\n", $1 / 1048576, $2}'
total=$(du -cb "$WHEEL_DIR"/*.whl | tail -1 | cut -f1)
printf "%8.2f MiB  total (limit %s MiB of the 64 that travel)\n" "$(echo "$total / 1048576" | bc -l)" "$LIMIT_MIB"
[ "$total" -le $((LIMIT_MIB * 1048576)) ] || { echo "error: the wheels exceed ${LIMIT_MIB} MiB" >&2; exit 1; }
