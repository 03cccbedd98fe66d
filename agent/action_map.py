"""Move an Action's points between coordinate spaces (frame px -> device px, or back).

Actions carry frame px; actuators and episode records also need the same action in
device px. `map_action(action, transform, clamp_to)` returns a copy of the action with
every point field passed through `transform` (a `perception.coords` transform) and
optionally clamped into a (width, height) space. Non-spatial actions come back unchanged.
The copy skips validation on purpose: a device-px action is a record of what is sent, not
untrusted input, and its frame-size check would be against the wrong space.
"""

from vlagent.agent.actions import Action, Scroll
from vlagent.perception.coords import Size, Transform, clamp_point

DEFAULT_SCROLL_AMOUNT = 0.5  # screens, when a Scroll gives no amount

_POINT_FIELDS = {
    "tap": (("x", "y"),),
    "click": (("x", "y"),),
    "hover": (("x", "y"),),
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


def scroll_stroke(action: Scroll, size: Size, default_amount: float = DEFAULT_SCROLL_AMOUNT,
                  ) -> tuple[tuple[float, float], tuple[float, float]]:
    """The finger stroke (start, end) that performs `action` on a screen of `size`.

    Points are in the space of `size` (frame px for the gate, device px for an actuator; the
    two agree up to the frame's scale). The finger moves against `direction` by `amount`
    screens (the default when None) centred on (x, y) (the screen centre when None), kept
    inside the screen: "down" reveals what is below, so the finger moves up.
    """
    width, height = size
    x = width / 2 if action.x is None else action.x
    y = height / 2 if action.y is None else action.y
    amount = default_amount if action.amount is None else action.amount
    if action.direction in ("up", "down"):
        half = min(amount * height, height - 1) / 2
        y = min(max(y, half), height - 1 - half)
        sign = 1 if action.direction == "down" else -1
        return (x, y + sign * half), (x, y - sign * half)
    half = min(amount * width, width - 1) / 2
    x = min(max(x, half), width - 1 - half)
    sign = 1 if action.direction == "right" else -1
    return (x + sign * half, y), (x - sign * half, y)
