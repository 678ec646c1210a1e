# Makes sure Node.js and npm are there: building q10 installs the web front end's packages from
# the npm registry with them (ui/build.rs). Sourced by deploy/demo, tests/run and .ci/run.

ensure_npm() {
  if command -v npm >/dev/null 2>&1; then
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "npm is not installed. Install Node.js and npm (apt-get install nodejs npm)." >&2
      return 1
    fi
    sudo="sudo"
  fi
  echo "Installing Node.js and npm from Debian's packages…" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q nodejs npm >/dev/null ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q nodejs npm >/dev/null; }
}
