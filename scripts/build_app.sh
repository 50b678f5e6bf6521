#!/usr/bin/env bash
# Build the one-folder desktop app with PyInstaller, then smoke-test it.
#
#   scripts/build_app.sh                 # uses .venv (the README's set-up), output dist/srgan-desktop/
#   PYTHON=/path/to/python scripts/build_app.sh      # another environment (e.g. a CPU-only torch)
#   SRGAN_DESKTOP_CUDA=full scripts/build_app.sh     # keep all NVIDIA libraries (GPU-capable bundle)
#   SKIP_SMOKE=1 scripts/build_app.sh                # build only
#   DIST=/tmp/dist WORK=/tmp/build scripts/build_app.sh   # build elsewhere (default: dist/, build/)
#
# Prints the build time, the folder size and its biggest parts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
DIST=${DIST:-$ROOT/dist}
WORK=${WORK:-$ROOT/build}
APP=$DIST/srgan-desktop

if [[ ! -x $PYTHON ]]; then
    echo "no Python at $PYTHON: run the README's set-up first:" >&2
    echo '  python3 -m venv .venv && .venv/bin/pip install -e ".[test]"' >&2
    exit 2
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "== installing PyInstaller (the 'build' extra)"
    "$PYTHON" -m pip install -q -e ".[build]"
fi
# the frozen app reads its version from the package metadata: the package must be installed
"$PYTHON" -c "import importlib.metadata as m; m.version('srgan-desktop')" 2>/dev/null || {
    echo "== installing srgan-desktop into $PYTHON's environment"
    "$PYTHON" -m pip install -q -e ".[build]"
}

echo "== $("$PYTHON" -m PyInstaller --version 2>/dev/null | sed 's/^/PyInstaller /'), torch $("$PYTHON" -c 'import importlib.metadata as m; print(m.version("torch"))'), CUDA mode ${SRGAN_DESKTOP_CUDA:-trim}"
start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --distpath "$DIST" --workpath "$WORK" srgan-desktop.spec
build_s=$(( $(date +%s) - start ))

echo
echo "== built $APP in ${build_s} s"
echo "== folder size: $(du -sh "$APP" | cut -f1)  ($(find "$APP" -type f | wc -l) files)"
echo "== biggest parts:"
{ du -sh "$APP"/_internal/* 2>/dev/null | sort -rh | head -12 | sed 's/^/   /'; } || true
if [[ -d $APP/_internal/nvidia ]]; then
    echo "== NVIDIA libraries: $(du -sh "$APP/_internal/nvidia" | cut -f1)"
fi

if [[ ${SKIP_SMOKE:-0} != 1 ]]; then
    echo
    APP_DIR=$APP scripts/smoke_frozen.sh
fi
