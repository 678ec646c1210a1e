#!/usr/bin/python3
"""A test street camera: an RTSP server (Debian's gst-rtsp-server) that serves live H.264 at
rtsp://127.0.0.1:PORT/live, as an IP camera does: 25 frames a second, a keyframe every two
seconds, with its parameter sets in band: a ball moving across a test pattern, or a still photo
(`--image`, a JPEG; Debian's darknet package ships some with people and vehicles in them).

    tests/media/test-camera.py --port 8554 [--size 1280x720] [--user U --password P] [--image F.jpg]

It prints "ready" once it listens, and serves until killed.
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--bitrate", type=int, default=2000, help="kbit/s")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--image", help="a JPEG to show instead of the test pattern")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.split("x"))

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    if args.image:
        source = (
            f"filesrc location={args.image} ! jpegdec ! videoconvert ! videoscale ! imagefreeze is-live=true "
        )
    else:
        source = "videotestsrc is-live=true pattern=ball motion=sweep "
    factory.set_launch(
        f"( {source}"
        f"! video/x-raw,width={width},height={height},framerate={args.fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast bitrate={args.bitrate} key-int-max={2 * args.fps} "
        f"! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
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
