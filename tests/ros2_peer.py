"""A ROS 2 peer process for tests/test_ros2_transport.py: `python tests/ros2_peer.py pub|sub SECONDS`.

Run in a fresh interpreter so that `CycloneTransport(loopback=True)` sets CYCLONEDDS_URI
before cyclonedds is first imported. `pub` publishes numbered Twists on `cmd_vel` (reliable)
and a 64x48 rgb8 Image on `camera/image_raw` (best-effort) at about 50 Hz for SECONDS.
`sub` waits up to SECONDS for 20 consecutive Twists and one Image, checks their values, and
prints one JSON line; exit status 0 only when everything arrived intact.
"""

import hashlib
import json
import sys
import time

FRAME = bytes((x * 3 + y * 7 + c * 50) % 256 for y in range(48) for x in range(64) for c in range(3))
CAMERA, CMD_VEL, WANTED = "/camera/image_raw", "cmd_vel", 20


def twist_values(i):
    return {"linear": [0.1 * i, -0.5, 1e-3 * i], "angular": [0.0, 2.5, -0.01 * i]}


def main(role, seconds):
    assert "cyclonedds" not in sys.modules
    from vlagent.actuators.ros2.transport import CycloneTransport, loopback_uri

    transport = CycloneTransport(loopback=True)
    import os

    assert os.environ["CYCLONEDDS_URI"] == loopback_uri()
    from vlagent.actuators.ros2 import messages as m

    deadline = time.monotonic() + seconds
    try:
        if role == "pub":
            i = 0
            while time.monotonic() < deadline:
                values = twist_values(i)
                transport.publish(CMD_VEL, m.Twist(m.Vector3(*values["linear"]), m.Vector3(*values["angular"])))
                transport.publish(CAMERA, m.Image(header=m.Header(m.Time(i, 500), "camera"), height=48, width=64,
                                                  encoding="rgb8", step=64 * 3, data=FRAME))
                i += 1
                time.sleep(0.02)
            return 0
        assert transport.qos_for(CAMERA, m.Image).reliable is False and transport.qos_for(CAMERA, m.Image).depth == 1
        assert transport.qos_for(CMD_VEL, m.Twist).reliable is True and transport.qos_for(CMD_VEL, m.Twist).depth == 10
        twists = []
        transport.subscribe(CMD_VEL, m.Twist, callback=twists.append)
        camera = transport.subscribe(CAMERA, m.Image)
        image = None
        while time.monotonic() < deadline and (len(twists) < WANTED or image is None):
            image = camera.latest() or image
            time.sleep(0.01)
        report = {"twists": len(twists), "image": image is not None}
        if twists:
            first = round(twists[0].linear.x / 0.1)
            report["consecutive"] = all(
                [t.linear.x, t.linear.y, t.linear.z] == twist_values(first + k)["linear"]
                and [t.angular.x, t.angular.y, t.angular.z] == twist_values(first + k)["angular"]
                for k, t in enumerate(twists[:WANTED]))
        if image is not None:
            report.update(size=[image.width, image.height, image.step], encoding=image.encoding,
                          frame_id=image.header.frame_id, nanosec=image.header.stamp.nanosec,
                          data_type=type(image.data).__name__,
                          intact=hashlib.sha256(bytes(image.data)).digest() == hashlib.sha256(FRAME).digest())
        print(json.dumps(report), flush=True)
        ok = len(twists) >= WANTED and report.get("consecutive") and report.get("intact")
        return 0 if ok else 1
    finally:
        transport.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
