#!/usr/bin/env bash
# Smoke-test a PyInstaller build of srgan-desktop (scripts/build_app.sh runs it after building).
#
#   scripts/smoke_frozen.sh                    # tests dist/srgan-desktop
#   APP_DIR=/tmp/dist/srgan-desktop scripts/smoke_frozen.sh
#   GUI_TIMEOUT=120 scripts/smoke_frozen.sh    # seconds to wait for the main window (default 90)
#   SKIP_GUI=1 scripts/smoke_frozen.sh         # selftest and bundle checks only
#   GUI_MODE=offscreen scripts/smoke_frozen.sh # GUI with Qt's offscreen platform instead of Xvfb
#   SCREENSHOT=/tmp/gui.png scripts/smoke_frozen.sh   # keep a screenshot of the Xvfb screen
#
# Checks, in order:
#   1. bundle layout: resources (weights + cards, samples, icons), app metadata, Qt plugins
#      (platforms xcb/offscreen/wayland, imageformats), nothing excluded slipped in
#   2. every bundled shared library resolves its links (ldd), apart from libraries a desktop
#      provides itself (libcuda driver, Wayland client libs, GTK3 for the GTK theme plugin)
#   3. `srgan-desktop selftest --output PNG` with no display: exit 0, JSON report valid, every
#      available model ran, and the small spandrel model selftest builds itself (Real-ESRGAN
#      Compact) loaded and ran; PNG written; timed
#   4. the GUI under a virtual X display (xvfb-run), started as
#      `srgan-desktop <bundled astronaut_lr.png> --quit-after MS`:
#      the main window is mapped, the app closes it by itself MS later (it opens and runs the
#      sample meanwhile) and exits 0, with no Python traceback or Qt plugin error; time from
#      launch to the window's appearance is measured by polling `xdotool search --onlyvisible --pid`.
#      Without xvfb-run/xdotool, falls back to QT_QPA_PLATFORM=offscreen (starts, runs, exits 0;
#      no start-up time then).
#
# Needs (Debian/Ubuntu) for step 4:
#   apt-get install -y xvfb xauth xdotool libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
#       libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-cursor0
# Prints one summary line "SMOKE ..." with the figures; exit status 0 only if everything passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
APP_DIR=${APP_DIR:-$ROOT/dist/srgan-desktop}
EXE=$APP_DIR/srgan-desktop
INTERNAL=$APP_DIR/_internal
GUI_TIMEOUT=${GUI_TIMEOUT:-90}
GUI_STAY_MS=${GUI_STAY_MS:-8000}   # the window stays up this long (--quit-after), running the sample
# the README's launch: the bundled LR sample (also keeps `--quit-after` from being read as a subcommand)
GUI_IMAGE=${GUI_IMAGE:-$INTERNAL/resources/samples/astronaut_lr.png}
PY=$(command -v python3 || echo "$ROOT/.venv/bin/python")   # only parses JSON/PNG headers
PY_BUILD=${PYTHON:-$ROOT/.venv/bin/python}                   # the build environment (archive viewer)
TMP=$(mktemp -d /tmp/srgan-smoke.XXXXXX)
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok:   $*"; }
now() { date +%s.%N; }
elapsed() { "$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

[[ -x $EXE ]] || { echo "no executable at $EXE: build first (scripts/build_app.sh)"; exit 2; }
echo "== smoke test of $APP_DIR (logs in $TMP)"

# --- 1. bundle layout ---------------------------------------------------------------------
cards=0
for card in "$ROOT"/resources/weights/*.json; do
    [[ -e $card ]] || continue
    name=$(basename "$card" .json)
    cards=$((cards + 1))
    [[ -f $INTERNAL/resources/weights/$name.json ]] || fail "model card $name.json not bundled"
    if [[ -f $ROOT/resources/weights/$name.safetensors ]]; then
        cmp -s "$ROOT/resources/weights/$name.safetensors" "$INTERNAL/resources/weights/$name.safetensors" \
            || fail "weights $name.safetensors missing or different in the bundle (rebuild?)"
    fi
done
for f in samples/SOURCES.md samples/astronaut_lr.png icons/srgan-desktop.png icons/srgan-desktop.ico; do
    [[ -f $INTERNAL/resources/$f ]] || fail "resources/$f not bundled"
done
compgen -G "$INTERNAL/srgan_desktop*.dist-info/METADATA" >/dev/null \
    || compgen -G "$INTERNAL/srgan_desktop*.egg-info/PKG-INFO" >/dev/null \
    || fail "srgan-desktop package metadata not bundled (version would be unknown)"
for p in platforms/libqxcb.so platforms/libqoffscreen.so platforms/libqwayland.so \
         imageformats/libqjpeg.so imageformats/libqtiff.so imageformats/libqwebp.so; do
    [[ -f $INTERNAL/PySide6/Qt/plugins/$p ]] || fail "Qt plugin $p not bundled"
done
for d in triton trainer tests tkinter matplotlib IPython PySide6/Qt/qml; do
    [[ -e $INTERNAL/$d ]] && fail "$d is in the bundle but should not be"
done
if [[ ${SRGAN_DESKTOP_CUDA:-trim} == trim && -e $INTERNAL/nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9 ]]; then
    fail "cuDNN engine libraries are in a CPU-only (trim) bundle"
fi
VIEWER=$(dirname "$PY_BUILD")/pyi-archive_viewer
if [[ -x $VIEWER ]]; then
    # the Python modules inside the executable's archive
    "$VIEWER" --recursive --brief "$EXE" > "$TMP/archive.txt" 2>&1
    bad=$(grep -oE "^ *(trainer|tkinter|matplotlib|IPython|triton|pytest|PySide6\.Qt(Qml|Quick|WebEngine[A-Za-z]*|3D[A-Za-z]*|Multimedia[A-Za-z]*))(\.|$)" \
          "$TMP/archive.txt" | tr -d ' .' | sort -u | tr '\n' ' ')
    [[ -z $bad ]] || fail "excluded modules inside the archive: $bad"
fi
[[ $FAILS == 0 ]] && ok "bundle layout: $cards model card(s), samples, icons, metadata, Qt plugins; no excluded packages"

# --- 2. shared libraries resolve -------------------------------------------------------------
# (torch/lib too: torchvision's operators link torch's libraries by name, which torch has
#  loaded before torchvision imports them, in the bundle as in a source install)
find "$INTERNAL" -type f \( -name "*.so" -o -name "*.so.*" \) -print0 \
    | LD_LIBRARY_PATH=$INTERNAL:$INTERNAL/torch/lib xargs -0 -n 50 ldd 2>/dev/null \
    | awk '/^\//{f=$1} /not found/{print f, $1}' | sort -u > "$TMP/ldd-missing.txt"
grep -vE ' (libcuda\.so\.1|libwayland-[a-z]+\.so\.[0-9]+|libgtk-3\.so\.0|libgdk-3\.so\.0)$' \
    "$TMP/ldd-missing.txt" > "$TMP/ldd-bad.txt"
if [[ -s $TMP/ldd-bad.txt ]]; then
    fail "unresolved shared libraries:"; sed 's/^/      /' "$TMP/ldd-bad.txt" | head -20
else
    ok "shared libraries resolve ($(wc -l < "$TMP/ldd-missing.txt") optional system libs not bundled: driver/Wayland/GTK)"
fi

# --- 3. selftest (no display) ----------------------------------------------------------------
PNG=$TMP/selftest.png
t0=$(now)
env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM "$EXE" selftest --output "$PNG" \
    > "$TMP/selftest.json" 2> "$TMP/selftest.err"
rc=$?
selftest_s=$(elapsed "$t0" "$(now)")
if [[ $rc != 0 ]]; then
    fail "selftest exited $rc"; tail -20 "$TMP/selftest.err"; head -c 2000 "$TMP/selftest.json"
fi
summary=$("$PY" - "$TMP/selftest.json" "$PNG" 2>&1 <<'EOF'
import json, struct, sys
report = json.load(open(sys.argv[1]))
with open(sys.argv[2], "rb") as fh:
    head = fh.read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "output is not a PNG"
width, height = struct.unpack(">II", head[16:24])
models = report.get("models", [])
ran = [m["name"] for m in models if m.get("ok")]
failed = [m["name"] for m in models if m.get("ok") is False]
assert report.get("frozen") is True, "selftest does not report a frozen app"
assert report.get("inference_ok") is True and not failed, f"models failed: {failed}"
assert ran, "no bundled model ran"
spandrel = report.get("spandrel", {})
assert spandrel.get("ok") is True, f"the spandrel model did not run: {spandrel.get('error')}"
ran.append(f"{spandrel.get('name')} ({spandrel.get('architecture')})")
print(f"version {report.get('version')}, models ran: {','.join(ran)}, "
      f"unavailable: {','.join(m['name'] for m in models if not m.get('available')) or '-'}, "
      f"device {report.get('device')}, torch {report.get('packages', {}).get('torch')} "
      f"(cuda {report.get('torch_cuda')}), png {width}x{height}")
EOF
)
if [[ $? == 0 && $rc == 0 ]]; then
    ok "selftest in ${selftest_s} s: $summary"
else
    fail "selftest report: $(tail -1 <<< "$summary")"
fi

# --- 4. GUI start-up ---------------------------------------------------------------------------
gui_s=n/a
check_gui_log() {  # $1 = log file
    local pattern="Traceback|Fatal Python error|Segmentation fault|Could not load the Qt platform plugin|could not connect to display|This application failed to start"
    if grep -qiE "$pattern" "$1"; then
        fail "GUI printed errors:"; grep -niE -A8 "$pattern" "$1" | head -40
        return 1
    fi
    return 0
}
if [[ ${SKIP_GUI:-0} == 1 ]]; then
    echo "skip: GUI (SKIP_GUI=1)"
elif [[ ${GUI_MODE:-auto} != offscreen ]] && command -v xvfb-run >/dev/null && command -v xdotool >/dev/null; then
    cat > "$TMP/gui.sh" <<'EOF'
#!/usr/bin/env bash
# runs inside xvfb-run: launch, poll for a visible window of our process, let the app close itself
exe=$1 log=$2 timeout=$3 stay_ms=$4 image=$5 PY_BUILD=$6
start=$(date +%s%N)
env -u QT_QPA_PLATFORM "$exe" "$image" --quit-after "$stay_ms" > "$log" 2>&1 &
pid=$!
shown=""
while (( ($(date +%s%N) - start) / 1000000000 < timeout )); do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; echo "EXITED $? before a window was shown"; exit 0; fi
    if xdotool search --onlyvisible --pid "$pid" >/dev/null 2>&1; then
        shown=$(( ($(date +%s%N) - start) / 1000000 )); break
    fi
    sleep 0.05
done
if [[ -z $shown ]]; then echo "TIMEOUT: no window after $timeout s"; kill "$pid" 2>/dev/null; exit 0; fi
wid=$(xdotool search --onlyvisible --pid "$pid" 2>/dev/null | head -1)
title=$(xdotool getwindowname "$wid" 2>/dev/null)
sleep 3  # let it open and run the sample, then keep a screenshot if asked (SCREENSHOT=file.png)
if [[ -n ${SCREENSHOT:-} ]]; then
    "$PY_BUILD" -c "import sys; from PIL import ImageGrab; ImageGrab.grab(xdisplay=None).save(sys.argv[1])" \
        "$SCREENSHOT" 2>/dev/null || echo "note: no screenshot (needs Pillow with X support)" >&2
fi
# the app closes its window stay_ms after showing it (--quit-after); it must exit 0 by itself
for _ in $(seq 1 $(( stay_ms / 100 + 300 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid"; echo "HUNG: still running 30 s after --quit-after (shown after $shown ms)"; exit 0; fi
wait "$pid"; rc=$?
if [[ $rc != 0 ]]; then echo "EXIT $rc after showing the window ($shown ms)"; exit 0; fi
echo "SHOWN $shown ms, title: $title"
EOF
    result=$(xvfb-run -a -s "-screen 0 1600x1000x24" bash "$TMP/gui.sh" "$EXE" "$TMP/gui.log" "$GUI_TIMEOUT" "$GUI_STAY_MS" "$GUI_IMAGE" "$PY_BUILD" 2>&1 | tail -1)
    case $result in
        SHOWN*)
            ms=$(sed -E 's/^SHOWN ([0-9]+) ms.*/\1/' <<< "$result")
            gui_s=$("$PY" -c "print(f'{$ms / 1000:.2f}')")
            check_gui_log "$TMP/gui.log" \
                && ok "GUI under Xvfb: main window visible after ${gui_s} s, ran $((GUI_STAY_MS / 1000)) s, closed with exit 0 (${result#*, })" ;;
        *)
            fail "GUI under Xvfb: $result"; tail -30 "$TMP/gui.log" ;;
    esac
else
    echo "note: checking the GUI with QT_QPA_PLATFORM=offscreen only (GUI_MODE=offscreen, or no xvfb-run/xdotool)"
    QT_QPA_PLATFORM=offscreen timeout "$GUI_TIMEOUT" "$EXE" \
        "$GUI_IMAGE" --quit-after "$GUI_STAY_MS" > "$TMP/gui.log" 2>&1
    rc=$?
    if [[ $rc == 0 ]] && check_gui_log "$TMP/gui.log"; then
        ok "GUI (offscreen) started, ran $((GUI_STAY_MS / 1000)) s and exited 0 without errors"
    else
        fail "GUI (offscreen) exited $rc"; tail -30 "$TMP/gui.log"
    fi
fi

size=$(du -sh "$APP_DIR" | cut -f1)
echo "SMOKE $([[ $FAILS == 0 ]] && echo PASS || echo "FAIL($FAILS)") size=$size selftest_s=$selftest_s gui_window_s=$gui_s"
[[ $FAILS == 0 ]] && rm -rf "$TMP"
exit $(( FAILS > 0 ))
