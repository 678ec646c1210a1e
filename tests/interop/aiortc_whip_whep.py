"""A third WebRTC stack against q10: aiortc publishes a VP8 test pattern over WHIP, a second
aiortc watches the room over WHEP and must decode 30 frames. Usage: BASE ROOM PUB_TOKEN SUB_TOKEN."""
import asyncio, sys, time
import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack, RTCRtpTransceiver
from aiortc.contrib.media import MediaBlackhole

BASE, ROOM, PUB_TOKEN, SUB_TOKEN = sys.argv[1:5]

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
        pub.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await pub.setLocalDescription(await pub.createOffer())
        await gathered(pub)
        answer, loc = await post(s, f"/whip/{ROOM}", PUB_TOKEN, pub.localDescription.sdp)
        await pub.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        print("whip created", loc)

        sub = RTCPeerConnection()
        sub.addTransceiver("video", direction="recvonly")
        frames = []
        @sub.on("track")
        def on_track(track):
            async def read():
                while True:
                    try:
                        f = await track.recv()
                    except Exception:
                        return
                    frames.append(f)
            asyncio.ensure_future(read())
        await asyncio.sleep(2)
        await sub.setLocalDescription(await sub.createOffer())
        await gathered(sub)
        answer, loc2 = await post(s, f"/whep/{ROOM}", SUB_TOKEN, sub.localDescription.sdp)
        await sub.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        print("whep created", loc2)
        t0 = time.time()
        while time.time() - t0 < 15 and len(frames) < 30:
            await asyncio.sleep(0.2)
        print("pub state", pub.connectionState, "sub state", sub.connectionState, "frames decoded by viewer:", len(frames))
        if frames:
            print("frame size", frames[-1].width, frames[-1].height)
        for path, tok in ((loc, PUB_TOKEN), (loc2, SUB_TOKEN)):
            async with s.delete(BASE + path, headers={"Authorization": "Bearer " + tok}) as r:
                print("DELETE", path, r.status)
        await pub.close(); await sub.close()
        sys.exit(0 if len(frames) >= 30 else 1)

asyncio.run(main())
