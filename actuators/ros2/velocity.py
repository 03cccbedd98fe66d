"""Velocity safety for a differential-drive base: clamps, an acceleration limit, finite values only.

Pure functions on `Velocity` (linear m/s forward, angular rad/s counter-clockwise, REP 103):
- `clamp(v, limits)`: each component clamped to +-max; a non-finite component raises
  `VelocityError`, so NaN or inf can never reach the wire (NaN would pass `min`/`max` unchanged).
- `ramp(previous, target, dt_s, limits)`: moves from `previous` toward `target` by at most
  `max_*_accel * dt_s` per component. Braking is never slowed by the ramp: a component that
  moves toward zero (same sign, smaller magnitude, or zero) goes there at once, because the
  safe direction must not wait for an acceleration budget. Only speeding up is limited.
- `bounded(previous, target, dt_s, limits)`: clamp, then ramp; what the node sends.
"""

import math
from dataclasses import dataclass

from vlagent.actuators.ros2.errors import Ros2Error


class VelocityError(Ros2Error, ValueError):
    """A velocity that must not be sent (a non-finite component); the message names it."""


@dataclass(frozen=True)
class Velocity:
    """A base velocity: `linear` m/s along the base's x axis, `angular` rad/s about its z axis."""

    linear: float = 0.0
    angular: float = 0.0

    @property
    def is_zero(self) -> bool:
        return self.linear == 0.0 and self.angular == 0.0


ZERO = Velocity()


@dataclass(frozen=True)
class VelocityLimits:
    """Largest |linear| (m/s), |angular| (rad/s), and accelerations (m/s^2, rad/s^2) when speeding up."""

    max_linear: float = 0.5
    max_angular: float = 1.0
    max_linear_accel: float = 1.0
    max_angular_accel: float = 2.0

    def __post_init__(self):
        for name in ("max_linear", "max_angular", "max_linear_accel", "max_angular_accel"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise VelocityError(f"velocity limit {name} must be a finite number > 0, got {value!r}")


def _finite(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise VelocityError(f"{name} velocity {value!r} is not a number") from None
    if not math.isfinite(value):
        raise VelocityError(f"{name} velocity {value!r} is not finite; refusing to send it")
    return value


def clamp(velocity: Velocity, limits: VelocityLimits) -> Velocity:
    """`velocity` with each component clamped to +-its max; VelocityError when one is not finite."""
    linear = _finite("linear", velocity.linear)
    angular = _finite("angular", velocity.angular)
    return Velocity(max(-limits.max_linear, min(limits.max_linear, linear)),
                    max(-limits.max_angular, min(limits.max_angular, angular)))


def _ramp_one(previous: float, target: float, step: float) -> float:
    braking = target == 0.0 or (previous * target > 0 and abs(target) <= abs(previous))
    if braking:
        return target
    if previous * target < 0:  # reversing: stop first (braking is free), then speed up within the budget
        previous = 0.0
    delta = target - previous
    return previous + max(-step, min(step, delta))


def ramp(previous: Velocity, target: Velocity, dt_s: float, limits: VelocityLimits) -> Velocity:
    """From `previous` toward `target` over `dt_s` seconds, speeding up at most at the limits' accelerations."""
    dt_s = max(0.0, _finite("dt", dt_s))
    return Velocity(_ramp_one(previous.linear, target.linear, limits.max_linear_accel * dt_s),
                    _ramp_one(previous.angular, target.angular, limits.max_angular_accel * dt_s))


def bounded(previous: Velocity, target: Velocity, dt_s: float, limits: VelocityLimits) -> Velocity:
    """What to send now: `target` clamped, then ramped from `previous` (see the module docstring)."""
    return ramp(clamp(previous, limits), clamp(target, limits), dt_s, limits)
