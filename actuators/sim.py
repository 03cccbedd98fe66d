"""`SimActuator`: execute Actions on a simulated phone (`sim.phone.Phone`).

The action arrives in frame px; it is mapped to device px through `frame.to_device`
(clamped to the screen) and applied with `Phone.apply`. Input the phone refuses (an app
that is not installed, a robot action, an off-screen point) comes back as
`ActionResult(ok=False, message=...)` so the loop can feed it to the policy; anything else
propagates. `wait` does not sleep: simulated time does not pass.
"""

import time
from typing import Any

from vlagent.agent.action_map import to_device
from vlagent.agent.actions import Action, action_to_json
from vlagent.agent.interfaces import ActionResult
from vlagent.perception.frame import Frame


class SimActuator:
    """Apply Actions to `phone`. A context manager for symmetry with real actuators."""

    name = "sim-phone"

    def __init__(self, phone: Any):
        self.phone = phone

    def execute(self, action: Action, frame: Frame) -> ActionResult:
        from vlagent.sim.phone import PhoneInputError, UnknownAppError

        started = time.perf_counter()
        device_size = tuple(float(v) for v in self.phone.size)
        if tuple(frame.device_size) != device_size:
            return ActionResult(False, action, message=f"stale frame: it maps to a {frame.device_size} device, "
                                                       f"the phone is now {device_size}", executed=False)
        device_action = to_device(action, frame.to_device)
        sent = {"phone.apply": action_to_json(device_action)}
        try:
            self.phone.apply(device_action)
        except (PhoneInputError, UnknownAppError) as error:
            return ActionResult(False, action, sent=sent, message=str(error), seconds=time.perf_counter() - started)
        return ActionResult(True, action, sent=sent, message="applied", seconds=time.perf_counter() - started)

    def close(self) -> None:
        """Nothing to release; the phone lives on."""

    def __enter__(self) -> "SimActuator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
