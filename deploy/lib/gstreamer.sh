# Makes sure the test camera (tests/media/test-camera.py: Debian's gst-rtsp-server with x264)
# can run, with the photos of people and vehicles it can show (Debian's darknet package), and
# ffprobe (Debian's ffmpeg) that the tests read recorded footage with.
# Sourced by tests/run.

GST_PACKAGES="gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly darknet ffmpeg"

test_camera_ready() {
  /usr/bin/python3 - <<'PY' 2>/dev/null
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
assert Gst.ElementFactory.find("x264enc") and Gst.ElementFactory.find("rtph264pay")
assert Gst.ElementFactory.find("jpegdec") and Gst.ElementFactory.find("imagefreeze")
PY
  [ -f /usr/share/darknet/data/person.jpg ] && command -v ffprobe >/dev/null
}

ensure_test_camera() {
  if test_camera_ready; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "The test camera needs GStreamer's RTSP server: apt-get install $GST_PACKAGES" >&2
    return 1
  fi
  echo "Installing GStreamer's RTSP server and x264 from Debian's packages…" >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $GST_PACKAGES >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $GST_PACKAGES >/dev/null; }
  test_camera_ready || { echo "The test camera still cannot run." >&2; return 1; }
}
