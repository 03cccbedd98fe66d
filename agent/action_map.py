"""Move an Action's points between coordinate spaces (frame px -> device px, or back).

Actions carry frame px; actuators and episode records also need the same action in
device px. `map_action(action, transform, clamp_to)` returns a copy of the action with
every point field passed through `transform` (a `perception.coords` transform) and
optionally clamped into a (width, height) space. Non-spatial actions come back unchanged.
The copy skips validation on purpose: a device-px action is a record of what is sent, not
untrusted input, and its frame-size check would be against the wrong space.
"""

from vlagent.agent.actions import Action
from vlagent.perception.coords import Size, Transform, clamp_point

_POINT_FIELDS = {
    "tap": (("x", "y"),),
    "double_tap": (("x", "y"),),
    "long_press": (("x", "y"),),
    "scroll": (("x", "y"),),
    "swipe": (("x1", "y1"), ("x2", "y2")),
    "drag": (("x1", "y1"), ("x2", "y2")),
}


def point_fields(action: Action) -> tuple[tuple[str, str], ...]:
    """The (x, y) field-name pairs of `action` that hold screen points."""
    return _POINT_FIELDS.get(action.type, ())


def map_action(action: Action, transform: Transform, clamp_to: Size | None = None) -> Action:
    """`action` with its points mapped by `transform` (and clamped into `clamp_to`, if given)."""
    update = {}
    for x_name, y_name in point_fields(action):
        x, y = getattr(action, x_name), getattr(action, y_name)
        if x is None or y is None:
            continue
        mx, my = transform.apply(x, y)
        if clamp_to is not None:
            mx, my = clamp_point(mx, my, clamp_to)
        update[x_name], update[y_name] = mx, my
    return action.model_copy(update=update) if update else action


def to_device(action: Action, frame_to_device: Transform) -> Action:
    """The action in device px: mapped through the frame's transform, clamped to the device."""
    return map_action(action, frame_to_device, frame_to_device.dst)
