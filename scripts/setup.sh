#!/usr/bin/env bash
# Create .venv with everything splatcine needs. Idempotent; safe on a bare machine.
# - torch: a torch the user already has (importable by $PYTHON) is reused through
#   --system-site-packages; otherwise torch==2.13.0 is installed (the local CPU build
#   on CPU machines; any other pin would pull gigabytes of CUDA packages).
# - open3d needs libusb at import time: installed through apt when we are root.
# - the dev extra's browser test needs Chromium: installed through apt when we are root.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-dev}

if ! ldconfig -p 2>/dev/null | grep -q libusb-1.0 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "splatcine setup: installing libusb-1.0-0 (needed by open3d)"
    (apt-get update -qq && apt-get install -y -qq libusb-1.0-0) >/dev/null
fi
# The editor's browser test drives Debian's Chromium (playwright's own download needs the network).
if [[ ",$EXTRAS," == *,dev,* ]] && ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "splatcine setup: installing chromium (for the editor's browser test)"
    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || echo "splatcine setup: chromium not installed; the browser test will skip"
fi

if [ ! -x "$VENV/bin/python" ]; then
    if "$PYTHON" -c "import torch" 2>/dev/null; then
        echo "splatcine setup: reusing your torch $("$PYTHON" -c 'import torch; print(torch.__version__)')"
        "$PYTHON" -m venv --system-site-packages "$VENV"
    else
        "$PYTHON" -m venv "$VENV"
    fi
fi
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "splatcine setup: installing torch==2.13.0"
    $PIP install "torch==2.13.0"
fi
echo "splatcine setup: installing splatcine[$EXTRAS] into $VENV"
$PIP install -e ".[$EXTRAS]"
touch "$VENV/.splatcine-installed"
