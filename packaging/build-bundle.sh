#!/usr/bin/env bash
# Build the one-folder bundle dist/mailclient/ with PyInstaller, then check that it works:
# started under Xvfb with an empty environment it must show its window with its icon, use
# no Python from outside the bundle, take over a second start given a mailto: URL, and
# store a password in a (private) Secret Service.
# Prints the build time and the bundle's size; exits non-zero when any check fails.
#
# Usage: packaging/build-bundle.sh [--fresh]   (--fresh: recreate the build venv first)
# The venv lives in build/bundle-venv, PyInstaller's work files in build/pyinstaller.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/build/bundle-venv
bundle=$root/dist/mailclient

[ "${1:-}" = --fresh ] && rm -rf "$venv"
tools/install-deps.sh
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
# The app goes in as a built wheel, the way users get it, not as the source tree.
"$venv/bin/python" -m pip install -q "pyinstaller>=6.10" "$root"
"$venv/bin/python" -m pip install -q --no-deps --force-reinstall "$root"

echo "== PyInstaller"
started=$(date +%s)
# Run away from the source tree, so that only the installed package can be picked up.
(cd "$root/build" && "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$root/dist" --workpath "$root/build/pyinstaller" "$root/packaging/mailclient.spec")
build_seconds=$(($(date +%s) - started))

echo "== smoke test"
work=$(mktemp -d)
xvfb_pid="" app_pid="" bus_pid="" keyring_pid=""
cleanup() {
  for pid in $app_pid $keyring_pid $bus_pid; do kill "$pid" 2>/dev/null || true; done
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "build-bundle.sh: FAILED: $*" >&2; [ -f "$work/app.log" ] && cat "$work/app.log" >&2; exit 1; }

executable=$bundle/mailclient
[ -x "$executable" ] || fail "no executable at $executable"
find "$bundle" -name "org.mailclient.Mailclient.png" -path "*mailclient/resources/icons*" \
  | grep -q . || fail "the icons of mailclient.resources are not in the bundle"
find "$bundle" -name QtWebEngineProcess -perm -u+x | grep -q . || fail "no QtWebEngineProcess"

Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || fail "Xvfb did not start"
display=:$(cat "$work/display")
mkdir -m 700 "$work/home" "$work/run"
# A private session bus with an unlocked gnome-keyring: the app gets a bus of its own
# (none is autolaunched and left behind), and keyring, which finds its backends at run
# time where PyInstaller cannot see them, is tried for real below.
dbus-daemon --session --nofork --print-address=1 --address="unix:dir=$work/run" \
  >"$work/bus" 2>/dev/null &
bus_pid=$!
for _ in $(seq 100); do [ -s "$work/bus" ] && break; sleep 0.1; done
bus=$(head -n 1 "$work/bus")
[ -n "$bus" ] || fail "dbus-daemon did not start"
printf 'smoke-test' | env -i HOME="$work/home" XDG_RUNTIME_DIR="$work/run" PATH=/usr/bin:/bin \
  DBUS_SESSION_BUS_ADDRESS="$bus" gnome-keyring-daemon --foreground --unlock \
  --components=secrets >/dev/null 2>&1 &
keyring_pid=$!
for _ in $(seq 100); do
  dbus-send --bus="$bus" --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
    | grep -q "boolean true" && break
  sleep 0.1
done

# An empty environment: no PYTHONPATH, no venv, nothing of the build leaks in.
bundle_env=(env -i HOME="$work/home" DISPLAY="$display" PATH=/usr/bin:/bin LANG=C.UTF-8
  XDG_RUNTIME_DIR="$work/run" DBUS_SESSION_BUS_ADDRESS="$bus")
# Chromium's sandbox refuses to run as root.
[ "$(id -u)" -ne 0 ] || bundle_env+=(QTWEBENGINE_DISABLE_SANDBOX=1)

version=$("${bundle_env[@]}" "$executable" --version) || fail "--version failed"
echo "version: $version"
"${bundle_env[@]}" "$executable" -v --profile "$work/profile" >"$work/app.log" 2>&1 &
app_pid=$!
# The window exists before it is shown and gets its properties one by one: wait for all.
window="" viewable="" icon=""
for _ in $(seq 600); do
  kill -0 "$app_pid" 2>/dev/null || fail "the bundle exited before showing its window"
  window=$(DISPLAY=$display xwininfo -root -tree 2>/dev/null \
    | awk '/\("mailclient" "Mailclient"\)/ && !/ 1x1\+/ {print $1; exit}')
  if [ -n "$window" ]; then
    DISPLAY=$display xwininfo -id "$window" | grep -q "Map State: IsViewable" && viewable=yes
    DISPLAY=$display xprop -id "$window" _NET_WM_ICON | grep -q "Icon (" && icon=yes
    [ -n "$viewable" ] && [ -n "$icon" ] && break
  fi
  sleep 0.1
done
[ -n "$window" ] || fail "no window appeared within 60 s"
[ -n "$viewable" ] || fail "the window was created but never shown"
[ -n "$icon" ] || fail "the window has no icon (mailclient.resources not found in the bundle?)"
echo "window: $(DISPLAY=$display xwininfo -id "$window" | awk -F'"' '/xwininfo/ {print $2}')"
# Every Python library the process maps must come from the bundle.
python_maps=$(grep -E 'libpython|\.cpython-' "/proc/$app_pid/maps" | awk '{print $6}' | sort -u)
grep -q "^$bundle/.*libpython" <<<"$python_maps" || fail "no libpython of the bundle is loaded"
outside=$(grep -v "^$bundle/" <<<"$python_maps" || true)
[ -z "$outside" ] || fail "the bundle loads Python from outside: $outside"
sleep 1  # let the first paint land before the screenshot
DISPLAY=$display import -window root "$root/dist/bundle-smoke.png"

url="mailto:bob@example.org?subject=Hi"
timeout 60 "${bundle_env[@]}" "$executable" --profile "$work/profile" "$url" \
  || fail "a second start with a mailto: URL did not exit 0"
for _ in $(seq 100); do grep -qF "Asked to open $url" "$work/app.log" && break; sleep 0.1; done
grep -qF "Asked to open $url" "$work/app.log" || fail "the running bundle did not get the URL"

printf 'password\n' | "${bundle_env[@]}" "$executable" \
  --profile "$work/keyring-profile" account add smoke --email smoke@example.org \
  --imap-host 127.0.0.1 --password-stdin \
  || fail "the bundle cannot store a password in the Secret Service"
"${bundle_env[@]}" "$executable" \
  --profile "$work/keyring-profile" account remove smoke \
  || fail "the bundle cannot remove a password from the Secret Service"

echo "OK: the bundle shows its window with its icon, takes over a second start, keeps passwords."
echo "build time: ${build_seconds} s"
echo "bundle size: $(du -sh "$bundle" | cut -f1) in $(find "$bundle" -type f | wc -l) files ($bundle)"
echo "screenshot: dist/bundle-smoke.png"
