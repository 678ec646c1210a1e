# Makes sure the kiosk (Slint, software renderer) builds and runs here: fontconfig's headers to
# build against, and the X11 keyboard library winit loads to open a window. Sourced by .ci/run
# and tests/run; a kiosk machine needs only the run-time libraries (libfontconfig1,
# libxkbcommon-x11-0).

ensure_kiosk_libs() {
  if pkg-config --exists fontconfig 2>/dev/null && ldconfig -p | grep -q libxkbcommon-x11; then
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "The kiosk needs fontconfig: apt-get install libfontconfig-dev libxkbcommon-x11-0 pkg-config" >&2
      return 1
    fi
    sudo="sudo"
  fi
  echo "Installing fontconfig's headers for the kiosk from Debian's packages…" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q libfontconfig-dev libxkbcommon-x11-0 pkg-config >/dev/null ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q libfontconfig-dev libxkbcommon-x11-0 pkg-config >/dev/null; }
}
