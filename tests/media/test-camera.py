#!/usr/bin/python3
"""A test street camera: an RTSP server (Debian's gst-rtsp-server) that serves live H.264 at
rtsp://127.0.0.1:PORT/live, as an IP camera does: 25 frames a second, a keyframe every two
seconds, with its parameter sets in band: a ball moving across a test pattern, or a still photo
(`--image`, a JPEG; Debian's darknet package ships some with people and vehicles in them), or
that photo at half the height of the picture walking across a grey street from left to right,
again and again, in `--walk` seconds from entering to leaving; or (`--stamp`) a grey picture whose
top 16 rows carry the moment each frame was made, for measuring glass-to-glass latency: 40 blocks
of 16×16 pixels, white for 1 and black for 0, the most significant bit first, of the Unix time in
milliseconds modulo 2^40.

    tests/media/test-camera.py --port 8554 [--size 1280x720] [--user U --password P]
        [--image F.jpg [--walk SECONDS] | --stamp]

It prints "ready" once it listens, and serves until killed.
"""

import argparse
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstController", "1.0")
from gi.repository import GLib, Gst, GstController, GstRtspServer  # noqa: E402


def walk(element, width, seconds, image_width):
    """Moves the photo's pad of the compositor from just off the left edge to just off the right
    one every `seconds`, for a day."""
    pad = element.get_by_name("mix").get_static_pad("sink_1")
    source = GstController.InterpolationControlSource()
    source.set_property("mode", GstController.InterpolationMode.LINEAR)
    pad.add_control_binding(GstController.DirectControlBinding.new_absolute(pad, "xpos", source))
    period = int(seconds * Gst.SECOND)
    for t in range(0, 24 * 3600 * Gst.SECOND, period):
        source.set(t, -image_width)
        source.set(t + period - Gst.MSECOND, width)


STAMP_BITS = 40
BLOCK = 16


class Stamper:
    """Makes I420 frames stamped with the time they are made and pushes them into an appsrc at the
    frame rate."""

    def __init__(self, width, height, fps):
        self.width, self.height, self.fps = width, height, fps
        luma, chroma = width * height, (width // 2) * (height // 2)
        self.frame = bytearray([110]) * luma + bytearray([128]) * (2 * chroma)
        self.src = None

    def attach(self, element):
        self.src = element.get_by_name("stamped")
        GLib.timeout_add(1000 // self.fps, self.push)

    def push(self):
        ms = int(time.time() * 1000) % (1 << STAMP_BITS)
        for i in range(STAMP_BITS):
            value = 235 if ms >> (STAMP_BITS - 1 - i) & 1 else 16
            row = bytes([value]) * BLOCK
            for y in range(BLOCK):
                at = y * self.width + i * BLOCK
                self.frame[at : at + BLOCK] = row
        return self.src.emit("push-buffer", Gst.Buffer.new_wrapped(bytes(self.frame))) == Gst.FlowReturn.OK


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--bitrate", type=int, default=2000, help="kbit/s")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--image", help="a JPEG to show instead of the test pattern")
    ap.add_argument("--walk", type=float, help="seconds the photo takes to walk across the picture")
    ap.add_argument("--stamp", action="store_true", help="stamp each frame with the time it is made")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    if args.stamp and width < STAMP_BITS * BLOCK:
        ap.error(f"--stamp needs a picture at least {STAMP_BITS * BLOCK} pixels wide")
    raw = f"video/x-raw,width={width},height={height},framerate={args.fps}/1"

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    encode = (
        f"! {raw} ! x264enc tune=zerolatency speed-preset=ultrafast bitrate={args.bitrate} "
        f"key-int-max={2 * args.fps} ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
    )
    if args.image and args.walk:
        # The photo as tall as half the picture, keeping darknet's 3:2.
        small = (height * 3 // 4 // 2 * 2, height // 2 // 2 * 2)
        factory.set_launch(
            f"( compositor name=mix background=black sink_1::ypos={height - small[1] - height // 18} {encode} "
            f"videotestsrc is-live=true pattern=solid-color foreground-color=0xff707070 ! {raw} ! mix.sink_0 "
            f"filesrc location={args.image} ! jpegdec ! videoconvert ! videoscale "
            f"! video/x-raw,width={small[0]},height={small[1]} ! imagefreeze is-live=true "
            f"! video/x-raw,framerate={args.fps}/1 ! mix.sink_1 )"
        )
        factory.connect("media-configure", lambda _f, media: walk(media.get_element(), width, args.walk, small[0]))
    elif args.stamp:
        stamper = Stamper(width, height, args.fps)
        factory.set_launch(
            f"( appsrc name=stamped is-live=true do-timestamp=true format=time "
            f"caps=video/x-raw,format=I420,width={width},height={height},framerate={args.fps}/1 "
            f"! videoconvert {encode} )"
        )
        factory.connect("media-configure", lambda _f, media: stamper.attach(media.get_element()))
    else:
        if args.image:
            source = f"filesrc location={args.image} ! jpegdec ! videoconvert ! videoscale ! imagefreeze is-live=true "
        else:
            source = "videotestsrc is-live=true pattern=ball motion=sweep "
        factory.set_launch(f"( {source}{encode} )")
    # One pipeline for every client, as a camera has one encoder.
    factory.set_shared(True)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password or ""), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory("/live", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
