# Makes sure the kiosk (Slint, software renderer) builds and runs here: fontconfig's, libopus' and
# ALSA's headers to build against (the interface's fonts, a call's sound), espeak-ng to read pages
# aloud, and the X11 keyboard library winit loads to open a window (ensure_kiosk_libs,
# sourced by .ci/run and tests/run); and a virtual screen with a tool to find windows on it, for
# measuring the kiosk's start (ensure_kiosk_display, bench/kiosk-start). A kiosk machine needs only
# the run-time libraries (libfontconfig1, libopus0, libasound2, libxkbcommon-x11-0) and espeak-ng.

# Installs Debian packages (as root, or through sudo), refreshing the lists once if need be.
kiosk_apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "The kiosk needs: apt-get install $*" >&2
      return 1
    fi
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q "$@" >/dev/null ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q "$@" >/dev/null; }
}

ensure_kiosk_libs() {
  # (grep reads all of it: under pipefail, a grep -q that stops early fails the pipe.)
  if pkg-config --exists fontconfig opus alsa 2>/dev/null && ldconfig -p | grep libxkbcommon-x11 >/dev/null &&
    command -v espeak-ng >/dev/null; then
    return 0
  fi
  echo "Installing fontconfig's, libopus' and ALSA's headers and espeak-ng for the kiosk from Debian's packages…" >&2
  kiosk_apt_install libfontconfig-dev libopus-dev libasound2-dev libxkbcommon-x11-0 pkg-config espeak-ng
}

# For the kiosk's `linuxkms` feature (drawing without a compositor): libudev's, libinput's and
# libxkbcommon's headers.
ensure_kiosk_linuxkms_libs() {
  if pkg-config --exists libudev libinput xkbcommon 2>/dev/null; then
    return 0
  fi
  echo "Installing libudev's, libinput's and libxkbcommon's headers for the kiosk's linuxkms feature…" >&2
  kiosk_apt_install libudev-dev libinput-dev libxkbcommon-dev pkg-config
}

ensure_kiosk_display() {
  if command -v Xvfb >/dev/null 2>&1 && command -v xdotool >/dev/null 2>&1; then
    return 0
  fi
  echo "Installing Xvfb and xdotool from Debian's packages…" >&2
  kiosk_apt_install xvfb xdotool
}
