"""A third WebRTC stack against q10: aiortc publishes a test pattern (VP8 or H.264) and audio
(Opus) over WHIP, a second aiortc watches the room over WHEP and must decode 30 video frames and
50 audio frames, in the codec asked for. Usage: BASE ROOM PUB_TOKEN SUB_TOKEN [video/VP8|video/H264]."""
import asyncio, sys, time
import aiohttp
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import AudioStreamTrack
from aiortc.contrib.media import MediaBlackhole

BASE, ROOM, PUB_TOKEN, SUB_TOKEN = sys.argv[1:5]
CODEC = sys.argv[5] if len(sys.argv) > 5 else "video/VP8"

def only(transceiver, mime):
    """Offers just one video codec (and its retransmission format)."""
    codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType in (mime, "video/rtx")]
    transceiver.setCodecPreferences(codecs)

async def gathered(pc):
    while pc.iceGatheringState != "complete":
        await asyncio.sleep(0.05)

async def post(session, path, token, sdp):
    async with session.post(BASE + path, data=sdp, headers={"Authorization": "Bearer " + token, "Content-Type": "application/sdp"}) as r:
        body = await r.text()
        assert r.status == 201, (r.status, body)
        return body, r.headers["Location"]

async def main():
    async with aiohttp.ClientSession() as s:
        pub = RTCPeerConnection()
        only(pub.addTransceiver(VideoStreamTrack(), direction="sendonly"), CODEC)
        pub.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await pub.setLocalDescription(await pub.createOffer())
        await gathered(pub)
        answer, loc = await post(s, f"/whip/{ROOM}", PUB_TOKEN, pub.localDescription.sdp)
        await pub.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        codec_name = CODEC.split("/")[1]
        assert f" {codec_name}/90000" in answer, f"the server's answer does not take {CODEC}:\n{answer}"
        print("whip created", loc)

        sub = RTCPeerConnection()
        only(sub.addTransceiver("video", direction="recvonly"), CODEC)
        sub.addTransceiver("audio", direction="recvonly")
        frames = []
        sounds = []
        @sub.on("track")
        def on_track(track):
            into = frames if track.kind == "video" else sounds
            async def read():
                while True:
                    try:
                        f = await track.recv()
                    except Exception:
                        return
                    into.append(f)
            asyncio.ensure_future(read())
        await asyncio.sleep(2)
        await sub.setLocalDescription(await sub.createOffer())
        await gathered(sub)
        answer, loc2 = await post(s, f"/whep/{ROOM}", SUB_TOKEN, sub.localDescription.sdp)
        await sub.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        print("whep created", loc2)
        t0 = time.time()
        while time.time() - t0 < 15 and (len(frames) < 30 or len(sounds) < 50):
            await asyncio.sleep(0.2)
        print(CODEC, "pub state", pub.connectionState, "sub state", sub.connectionState,
              "video frames decoded by viewer:", len(frames), "audio frames:", len(sounds))
        if frames:
            print("frame size", frames[-1].width, frames[-1].height)
        for path, tok in ((loc, PUB_TOKEN), (loc2, SUB_TOKEN)):
            async with s.delete(BASE + path, headers={"Authorization": "Bearer " + tok}) as r:
                print("DELETE", path, r.status)
        await pub.close(); await sub.close()
        sys.exit(0 if len(frames) >= 30 and len(sounds) >= 50 else 1)

asyncio.run(main())
