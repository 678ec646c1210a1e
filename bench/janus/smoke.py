#!/usr/bin/env python3
"""End-to-end check of a Janus started by bench/janus/start: N aiortc publishers send VP8 (and
optionally Opus) into a fresh VideoRoom room, one aiortc subscriber receives every publisher in a
single PeerConnection, over the plain HTTP API with a long-poll loop. It proves the config and the message sequence in README.md work;
it measures nothing.

Needs aiortc and aiohttp (a throwaway venv: python3 -m venv /tmp/aiortc-venv &&
/tmp/aiortc-venv/bin/pip install aiortc aiohttp), then:
    /tmp/aiortc-venv/bin/python bench/janus/smoke.py [--url URL] [--seconds 5] [--publishers 1] [--audio]
        [--strip-ssrc] [--trace]
--strip-ssrc removes a=ssrc/ssrc-group lines from the publisher's offer, the way an offer without
SSRC signalling looks, to show Janus then maps packets by the mid header extension.
--no-client-candidates removes a=candidate/a=end-of-candidates from the client's SDPs (no trickle
either), to show Janus then finds the client through its connectivity checks.
"""
import argparse
import asyncio
import fractions
import json
import random
import re
import sys

import aiohttp
import aioice.ice
import av
from aiortc import (MediaStreamTrack, RTCConfiguration, RTCPeerConnection,
                    RTCSessionDescription, VideoStreamTrack)
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import AudioStreamTrack

# aioice never offers 127.0.0.1 on its own; the bench keeps all media on loopback.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


class Janus:
    """Minimal Janus HTTP client: synchronous replies come back on the POST, everything
    asynchronous (plugin events with jsep, webrtcup, media, hangup) through one long-poll loop."""

    def __init__(self, url, trace):
        self.url, self.trace = url, trace
        self.http = aiohttp.ClientSession()
        self.events = asyncio.Queue()
        self.waiting = []  # (predicate, future)
        self.session = None

    def _tx(self):
        return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))

    async def post(self, path, body, tx=None):
        body = dict(body, transaction=tx or self._tx())
        if self.trace:
            print(">>> POST", path, json.dumps(_short(body)), file=sys.stderr)
        async with self.http.post(self.url + path, json=body) as r:
            reply = await r.json(content_type=None)
        if self.trace:
            print("<<<", json.dumps(_short(reply)), file=sys.stderr)
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus error: {reply}")
        return body["transaction"], reply

    async def create_session(self):
        _, r = await self.post("", {"janus": "create"})
        self.session = r["data"]["id"]
        self.poller = asyncio.create_task(self._poll())

    async def _poll(self):
        # One GET per round trip; maxev lets Janus batch several events into one JSON array.
        while True:
            try:
                async with self.http.get(f"{self.url}/{self.session}?maxev=10",
                                         timeout=aiohttp.ClientTimeout(total=40)) as r:
                    evs = await r.json(content_type=None)
            except asyncio.CancelledError:
                return
            except Exception as e:  # the session is gone at teardown
                print("poll stopped:", e, file=sys.stderr)
                return
            for ev in evs if isinstance(evs, list) else [evs]:
                if ev.get("janus") == "keepalive":
                    continue  # an empty long poll (30 s without events)
                if self.trace:
                    print("<<< event", json.dumps(_short(ev)), file=sys.stderr)
                for pred, fut in list(self.waiting):
                    if not fut.done() and pred(ev):
                        fut.set_result(ev)
                        self.waiting.remove((pred, fut))
                        break

    def expect(self, pred):
        fut = asyncio.get_running_loop().create_future()
        self.waiting.append((pred, fut))
        return fut

    async def attach(self):
        _, r = await self.post(f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return r["data"]["id"]

    async def message(self, handle, body, jsep=None, asynchronous=True):
        """Sends a plugin message. Requests Janus answers at once (create, list, ...) come back as
        'success'; join/configure/start come back as 'ack' and the real answer is an 'event' with
        the same transaction on the long poll."""
        msg = {"janus": "message", "body": body}
        if jsep:
            msg["jsep"] = jsep
        # Register before posting: the event can reach the long poll before the POST returns.
        tx = self._tx()
        fut = self.expect(lambda ev: ev.get("transaction") == tx and ev.get("janus") == "event")
        _, reply = await self.post(f"/{self.session}/{handle}", msg, tx)
        if reply["janus"] == "success":
            fut.cancel()
            return reply
        assert reply["janus"] == "ack", reply
        ev = await asyncio.wait_for(fut, 10)
        data = ev["plugindata"]["data"]
        if "error" in data:
            raise RuntimeError(f"videoroom error: {data}")
        return ev

    async def close(self):
        try:
            await self.post(f"/{self.session}", {"janus": "destroy"})
        finally:
            self.poller.cancel()
            await self.http.close()


def _short(obj):
    """Trace output without multi-kB SDP bodies."""
    if isinstance(obj, dict):
        return {k: ("<sdp %d bytes>" % len(v) if k == "sdp" else _short(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_short(v) for v in obj]
    return obj


class Pattern(VideoStreamTrack):
    """Small moving pattern, so VP8 encoding stays cheap on a 2-core box."""

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=160, height=120, format="yuv420p")
        shade = (pts // 3000) % 256
        for p in frame.planes:
            p.update(bytes([shade]) * p.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def strip_lines(sdp, prefixes):
    return "".join(l + "\r\n" for l in sdp.split("\r\n") if l and not l.startswith(prefixes))


# Dropping these from the client's SDP shows Janus still connects: it learns the client's address
# as a peer-reflexive candidate from the client's own connectivity checks.
NO_CANDS = ("a=candidate:", "a=end-of-candidates")


def summarize(label, sdp):
    cands = re.findall(r"a=candidate:.*", sdp)
    exts = sorted(set(re.findall(r"a=extmap:\d+ (\S+)", sdp)))
    flags = [f for f in ("a=end-of-candidates", "a=rtcp-mux", "a=group:BUNDLE", "a=ice-lite", "a=setup:active",
                         "a=setup:passive", "a=setup:actpass") if f in sdp]
    print(f"{label}: candidates={cands} flags={flags}")
    print(f"{label}: extmaps={exts}")


async def publish(j, a, room, n, cfg, quiet):
    """One publisher handle + PeerConnection; returns (handle, feed id, pc) once Janus reports
    webrtcup, because only then does the feed exist for subscribers."""
    h = await j.attach()
    joined = await j.message(h, {"request": "join", "ptype": "publisher", "room": room, "display": f"pub{n}"})
    feed = joined["plugindata"]["data"]["id"]
    pc = RTCPeerConnection(cfg)
    pc.addTransceiver(Pattern(), direction="sendonly")
    if a.audio:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers fully: candidates are in the SDP
    offer = pc.localDescription.sdp
    if a.strip_ssrc:
        offer = strip_lines(offer, ("a=ssrc:", "a=ssrc-group:"))
    if a.no_client_candidates:
        offer = strip_lines(offer, NO_CANDS)
    if not quiet:
        summarize("publisher offer (aiortc)", offer)
    up = j.expect(lambda ev: ev.get("janus") == "webrtcup" and ev.get("sender") == h)
    # "publish" is the 1.1 way to start sending; "configure" with the offer works too, but its
    # audio/video flags are deprecated. Janus publishes every m-line of the offer.
    ev = await j.message(h, {"request": "publish"}, jsep={"type": "offer", "sdp": offer})
    if not quiet:
        summarize("publisher answer (janus)", ev["jsep"]["sdp"])
    await pc.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await asyncio.wait_for(up, 10)
    print(f"publisher {n} webrtcup (feed {feed})")
    return h, feed, pc


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:18088/janus")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--publishers", type=int, default=1)
    ap.add_argument("--audio", action="store_true")
    ap.add_argument("--strip-ssrc", action="store_true")
    ap.add_argument("--no-client-candidates", action="store_true")
    ap.add_argument("--trace", action="store_true")
    a = ap.parse_args()

    j = Janus(a.url, a.trace)
    await j.create_session()
    room = random.randint(10_000, 1_000_000)
    admin_h = await j.attach()
    await j.message(admin_h, {"request": "create", "room": room, "publishers": 100, "bitrate": 10_000_000,
                              "bitrate_cap": False, "videocodec": "vp8", "audiocodec": "opus",
                              "record": False, "permanent": False})
    cfg = RTCConfiguration(iceServers=[])  # aiortc would otherwise add a public STUN server
    pubs = [await publish(j, a, room, n, cfg, n > 0) for n in range(a.publishers)]

    # One subscriber handle, one PeerConnection carrying every publisher's streams (multistream).
    sub_h = await j.attach()
    ev = await j.message(sub_h, {"request": "join", "ptype": "subscriber", "room": room,
                                 "streams": [{"feed": feed} for _, feed, _ in pubs]})
    summarize("subscriber offer (janus)", ev["jsep"]["sdp"])
    print("subscriber streams:", json.dumps(ev["plugindata"]["data"].get("streams")))
    sub = RTCPeerConnection(cfg)
    got = {}

    @sub.on("track")
    def on_track(track: MediaStreamTrack):
        key = f"{track.kind}#{len(got)}"
        got[key] = 0

        async def drain():
            while True:
                try:
                    await track.recv()
                except Exception:
                    return
                got[key] += 1
        asyncio.ensure_future(drain())

    await sub.setRemoteDescription(RTCSessionDescription(**ev["jsep"]))
    await sub.setLocalDescription(await sub.createAnswer())
    sub_up = j.expect(lambda ev: ev.get("janus") == "webrtcup" and ev.get("sender") == sub_h)
    answer = sub.localDescription.sdp
    if a.no_client_candidates:
        answer = strip_lines(answer, NO_CANDS)
    summarize("subscriber answer (aiortc)", answer)
    await j.message(sub_h, {"request": "start"}, jsep={"type": "answer", "sdp": answer})
    await asyncio.wait_for(sub_up, 10)
    print("subscriber webrtcup")
    await asyncio.sleep(a.seconds)
    print(f"frames received through janus in {a.seconds}s per track: {got}")

    # Teardown in the order a generator should use: leave (hangs the PC up), close the local PC,
    # detach handles, destroy the room, destroy the session.
    await j.message(sub_h, {"request": "leave"})
    await sub.close()
    for h, _, pc in pubs:
        await j.message(h, {"request": "leave"})
        await pc.close()
    for h in [sub_h] + [h for h, _, _ in pubs]:
        await j.post(f"/{j.session}/{h}", {"janus": "detach"})
    await j.message(admin_h, {"request": "destroy", "room": room})
    await j.close()
    # aiortc (1.16) decodes only the first of several audio m-lines in one PeerConnection; a capture
    # on lo showed Janus does send every audio stream with the SSRC from its offer. So: every video
    # track must have frames, and at least one audio track when --audio is given.
    video = [v for k, v in got.items() if k.startswith("video")]
    audio = [v for k, v in got.items() if k.startswith("audio")]
    ok = len(video) == a.publishers and all(video) and (not a.audio or any(audio))
    print("OK" if ok else f"FAILED: expected media on {a.publishers} video track(s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
