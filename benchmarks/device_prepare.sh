#!/usr/bin/env bash
# Build the folder a device call carries: Human3.6M 3D packed to ~34 MB, and the script that unpacks it.
#
#   bash benchmarks/device_prepare.sh            # in the checkout that the device call sends
#
# The folder (.device/) is ignored through .git/info/exclude, so it travels only when `carry`
# names it. Set SHARED to the folder holding device/ and data/ (default: /work/shared).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
SHARED="${SHARED:-/work/shared}"
PYTHON="${PYTHON:-python3}"
exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")" .device
grep -qxF '/.device/' "$exclude" 2>/dev/null || echo '/.device/' >> "$exclude"
if [ ! -s .device/h36m_3d_pack.npz ]; then
  "$PYTHON" "$SHARED/device/pack_h36m.py" "$SHARED/data/data_3d_h36m.npz" .device/h36m_3d_pack.npz
fi
cp "$SHARED/device/unpack_h36m.py" .device/
# The device image lacks tomli_w (gastbench writes cards with it) and has no network: carry the
# pure-Python package; the device command puts .device/pylib on PYTHONPATH.
rm -rf .device/pylib && mkdir -p .device/pylib
cp -r "$("$PYTHON" -c 'import os, tomli_w; print(os.path.dirname(tomli_w.__file__))')" .device/pylib/
rm -rf .device/pylib/tomli_w/__pycache__
cp "$SHARED/data/cameras.json" .device/ 2>/dev/null || true
if git status --porcelain --ignored=no | grep -q '\.device'; then
  echo "error: .device/ is not ignored; it would travel with every call" >&2
  exit 1
fi
du -sh .device
echo "ready: carry [\".device\"] (see benchmarks/DEVICE.md)"
