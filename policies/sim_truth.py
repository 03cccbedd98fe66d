"""`SimTruthGrounder`: the simulated robot's true target box, read from ROS 2, as a grounder (an oracle).

`vlagent sim-robot` publishes, with every camera frame, a std_msgs/String on `TRUTH_TOPIC` holding
JSON `{"stamp": [sec, nanosec], "label": "the red ball", "box": [x1, y1, x2, y2] | null}`: the
task target's visible bounds in that frame (frame px), stamped like the Image it belongs to.
`ground(frame, label)` returns the box whose stamp equals the frame's header stamp
(`frame.meta["stamp"]`), waiting up to `wait_s` for it (it may arrive just after the image);
None when the target is not visible or the label is not the task's target. No box for the frame at
all raises `SimTruthMissing`, a PolicyOutputError (the node's retry path), naming the stamp.
"""

import json
import threading
from collections import OrderedDict
from typing import Any

from vlagent.agent.errors import PolicyOutputError

TRUTH_TOPIC = "/sim/target_box"
KEEP = 128  # boxes kept, newest first out last: a few seconds of frames


class SimTruthMissing(PolicyOutputError):
    """No truth box arrived for a frame (is `vlagent sim-robot` publishing /sim/target_box?)."""


def stamp_key(sec: int, nanosec: int) -> int:
    return int(sec) * 1_000_000_000 + int(nanosec)


class SimTruthGrounder:
    """See the module docstring; `transport`: a vlagent ROS 2 Transport."""

    def __init__(self, transport: Any, topic: str = TRUTH_TOPIC, wait_s: float = 0.5):
        from vlagent.actuators.ros2.messages import String

        self.wait_s = wait_s
        self._boxes: OrderedDict[int, tuple[str, list | None]] = OrderedDict()
        self._cond = threading.Condition()
        self._subscription = transport.subscribe(topic, String, callback=self._on_truth)

    def _on_truth(self, msg: Any) -> None:
        data = json.loads(msg.data)
        key = stamp_key(*data["stamp"])
        with self._cond:
            self._boxes[key] = (str(data.get("label", "")), data.get("box"))
            while len(self._boxes) > KEEP:
                self._boxes.popitem(last=False)
            self._cond.notify_all()

    def ground(self, frame: Any, label: str):
        stamp = frame.meta.get("stamp")
        if stamp is None:
            raise SimTruthMissing("", "the frame has no header stamp to match a truth box with")
        key = round(float(stamp) * 1e9)
        with self._cond:
            found = self._cond.wait_for(lambda: self._match(key) is not None, timeout=self.wait_s)
            entry = self._match(key) if found else None
        if entry is None:
            raise SimTruthMissing("", f"no truth box for the frame stamped {stamp:.6f} s within {self.wait_s} s")
        truth_label, box = entry
        if box is None or truth_label.lower() != label.lower():
            return None
        return tuple(float(v) for v in box)

    def _match(self, key: int):
        # The frame's stamp went through a float (s): match within a microsecond.
        for stored in reversed(self._boxes):
            if abs(stored - key) <= 1_000:
                return self._boxes[stored]
        return None

    def close(self) -> None:
        self._subscription.close()
