"""`SimActuator`: execute Actions on a simulated phone (`sim.phone.Phone`) as device input.

The action arrives in frame px; it is mapped to device px through `frame.to_device`
(clamped to the screen) and `apply_action` turns it into the phone's device-input calls:
tap, double tap, long press, swipe (a drag is a slower swipe), a scroll-wheel event, a key,
typed text, an app launch. Answer and Finish are not device input: they go to
`Phone.report_answer` / `Phone.report_finish`, so a task's check can read what the agent
reported. `wait` does nothing (simulated time does not pass), and neither does a hotkey
chord of two or more keys (the simulated apps have no shortcuts).

Input the phone refuses (an app that is not installed, a robot action, an off-screen
point) comes back as `ActionResult(ok=False, message=...)` so the loop can feed it to the
policy; anything else propagates. `ActionResult.sent` names the call and its arguments,
e.g. `{"phone.tap": [540.0, 1200.0]}` (device px); `{}` when nothing was sent.
"""

import time
from typing import Any

from vlagent.agent.action_map import to_device
from vlagent.agent.actions import (
    Action,
    Answer,
    DoubleTap,
    Drag,
    Finish,
    KeyPress,
    LongPress,
    OpenApp,
    Scroll,
    Swipe,
    Tap,
    TypeText,
    Wait,
)
from vlagent.agent.interfaces import ActionResult
from vlagent.perception.frame import Frame

PhoneCall = tuple[str, tuple[Any, ...]]  # (Phone method name, positional arguments)


def phone_call(action: Action) -> PhoneCall | None:
    """The phone method call that performs a device-px `action`, or None for one that sends nothing.

    Pure: nothing is called. Raises `PhoneInputError` for an action a phone cannot take
    (a robot action such as Twist).
    """
    if isinstance(action, Tap):
        return "tap", (action.x, action.y)
    if isinstance(action, DoubleTap):
        return "double_tap", (action.x, action.y)
    if isinstance(action, LongPress):
        return "long_press", (action.x, action.y, action.seconds)
    if isinstance(action, (Swipe, Drag)):
        return "swipe", (action.x1, action.y1, action.x2, action.y2, action.seconds)
    if isinstance(action, Scroll):
        return "scroll", (action.direction, action.x, action.y, action.amount)
    if isinstance(action, TypeText):
        return "type_text", (action.text, action.clear, action.submit)
    if isinstance(action, KeyPress):
        # KeyPress validation already canonicalised the names, which are the phone's key names.
        if isinstance(action.key, str):
            return "key", (action.key,)
        return ("key", (action.key[0],)) if len(action.key) == 1 else None  # a chord: no shortcuts here
    if isinstance(action, OpenApp):
        return "open_app", (action.app,)
    if isinstance(action, Answer):
        return "report_answer", (action.text,)
    if isinstance(action, Finish):
        return "report_finish", (action.status,)
    if isinstance(action, Wait):
        return None  # simulated time does not pass
    from vlagent.sim.phone import PhoneInputError

    raise PhoneInputError(f"{action.type} is not a phone action")


def apply_action(phone: Any, action: Action) -> PhoneCall | None:
    """Perform a device-px `action` on `phone` (a `sim.phone.Phone`); returns the call made.

    Raises `PhoneInputError` for a non-phone action or input the phone refuses, and
    `UnknownAppError` for an app that is not installed.
    """
    call = phone_call(action)
    if call is not None:
        name, args = call
        getattr(phone, name)(*args)
    return call


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
        sent: dict[str, Any] = {}
        try:
            call = phone_call(device_action)  # first, so `sent` names the call even when the phone refuses it
            if call is not None:
                sent = {f"phone.{call[0]}": list(call[1])}
            apply_action(self.phone, device_action)
        except (PhoneInputError, UnknownAppError) as error:
            return ActionResult(False, action, sent=sent, message=str(error), seconds=time.perf_counter() - started)
        message = "applied" if sent else f"{action.type}: nothing to send to the phone"
        return ActionResult(True, action, sent=sent, message=message, seconds=time.perf_counter() - started)

    def close(self) -> None:
        """Nothing to release; the phone lives on."""

    def __enter__(self) -> "SimActuator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
