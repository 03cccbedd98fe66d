"""A ROS 2 camera peer for tests/test_ros2_camera.py: `python tests/ros2_camera_peer.py pub|sub SECONDS`.

Run in a fresh interpreter so that `CycloneTransport(loopback=True)` sets CYCLONEDDS_URI before
cyclonedds is first imported. `pub` publishes 320x240 rgb8 Images on `camera/image_raw` at 30 Hz
for SECONDS; frame i has pixel (0, 0) = i encoded big-endian in R, G, B and every other pixel
= i % 256 (so a torn or wrong frame shows). `sub` reads them with `Ros2CameraSource`
(max_age_s=0.2), simulating a 300 ms policy between captures, and prints one JSON line.
"""

import json
import sys
import time

import numpy as np

CAMERA, WIDTH, HEIGHT, HZ, CAPTURES, POLICY_S, MAX_AGE_S = "/camera/image_raw", 320, 240, 30.0, 8, 0.3, 0.2


def frame_bytes(i):
    image = np.full((HEIGHT, WIDTH, 3), i % 256, dtype=np.uint8)
    image[0, 0] = ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    return image.tobytes()


def main(role, seconds):
    assert "cyclonedds" not in sys.modules
    from vlagent.actuators.ros2.transport import CycloneTransport

    transport = CycloneTransport(loopback=True)
    from vlagent.actuators.ros2 import messages as m

    deadline = time.monotonic() + seconds
    try:
        if role == "pub":
            i, start = 0, time.monotonic()
            while time.monotonic() < deadline:
                now = time.time()
                stamp = m.Time(int(now), int((now % 1) * 1e9))
                transport.publish(CAMERA, m.Image(header=m.Header(stamp, "camera"), height=HEIGHT, width=WIDTH,
                                                  encoding="rgb8", step=WIDTH * 3, data=frame_bytes(i)))
                i += 1
                time.sleep(max(0.0, start + i / HZ - time.monotonic()))
            return 0
        from vlagent.perception.sources.ros2 import Ros2CameraSource

        source = Ros2CameraSource(CAMERA, transport=transport, max_age_s=MAX_AGE_S, wait_s=1.0)
        first = None
        while first is None and time.monotonic() < deadline:  # discovery: wait for the publisher
            try:
                first = source.capture()
            except TimeoutError:
                pass
        captures = []
        for _ in range(CAPTURES if first is not None else 0):
            time.sleep(POLICY_S)  # the policy "thinks"; frames keep arriving meanwhile
            frame = source.capture()
            pixel = frame.image[0, 0]
            counter = (int(pixel[0]) << 16) | (int(pixel[1]) << 8) | int(pixel[2])
            rest_ok = bool((frame.image[1:] == counter % 256).all())
            captures.append({"counter": counter, "age_s": frame.meta["age_s"], "rest_ok": rest_ok,
                             "shape": list(frame.image.shape), "encoding": frame.meta["encoding"],
                             "stamp": frame.meta["stamp"], "lag_s": time.time() - frame.meta["stamp"]})
        source.close()
        print(json.dumps({"first": first is not None, "captures": captures}), flush=True)
        return 0 if len(captures) == CAPTURES else 1
    finally:
        transport.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
