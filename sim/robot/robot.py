"""`RobotSim`: a differential-drive base in a MuJoCo room; it takes velocities and shows camera frames.

The far side of a robot, as `sim.phone` is of a phone: it knows nothing of the agent.
- `command(linear, angular)`: the velocity wanted, m/s and rad/s (REP 103), clamped to
  `limits`; the base reaches it at most at its accelerations. With no command for
  `cmd_timeout_s` (0.5 s of simulated time, like diff_drive_controller's `cmd_vel_timeout`) the
  command falls back to zero: a base whose driver went quiet stops.
- `advance(seconds)`: simulated time passes (physics at 200 Hz). The base is driven kinematically
  (body velocities set each physics step) and MuJoCo's contacts stop it at walls and objects.
- `render()`: the robot's camera, H x W x 3 uint8 RGB, with seeded Gaussian noise.
- `target_box(name)`: the visible bounds of an object in the camera frame, in frame px
  (x1, y1, x2, y2), from MuJoCo's segmentation rendering (occlusion included) at half resolution
  (so within 2 px), or None when fewer than `MIN_VISIBLE_PX` pixels show. The oracle's and the
  trainer's ground truth.
- `pose()`, `speed()`, `distance_to(name)` (m, robot centre to the object's surface),
  `bearing_to(name)` (rad, object direction relative to the heading, counter-clockwise positive).

MuJoCo renders offscreen on the CPU: set `MUJOCO_GL=osmesa` (Debian libosmesa6) or `egl` before
mujoco is imported; `RobotSim` sets osmesa when `MUJOCO_GL` is unset. Call `close()` (the GL context).
"""

import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from vlagent.sim.robot.world import ROBOT_RADIUS_M, WorldSpec, world_xml

MIN_VISIBLE_PX = 12


class RobotSimError(RuntimeError):
    """The simulator cannot start: MuJoCo is missing or has no OpenGL to render with."""
PHYSICS_HZ = 200


@dataclass(frozen=True)
class BaseLimits:
    """The base's own limits: speeds (m/s, rad/s) and accelerations (m/s^2, rad/s^2)."""

    max_linear: float = 0.6
    max_angular: float = 1.8
    linear_accel: float = 1.5
    angular_accel: float = 4.0
    cmd_timeout_s: float = 0.5


def _toward(current: float, target: float, step: float) -> float:
    return current + max(-step, min(step, target - current))


class RobotSim:
    """A seeded room with a robot (see the module docstring); `width` x `height` px camera."""

    def __init__(self, spec: WorldSpec, width: int = 320, height: int = 240, limits: BaseLimits | None = None):
        if "mujoco" not in sys.modules:
            os.environ.setdefault("MUJOCO_GL", "osmesa")  # read once, when mujoco is imported
        elif not os.environ.get("MUJOCO_GL") and not os.environ.get("DISPLAY"):
            # mujoco chose its default (GLFW, a window system) and there is none: creating a
            # context would abort the process, so say what to do instead
            raise RobotSimError("mujoco was imported before MUJOCO_GL was set and there is no DISPLAY; "
                                "set MUJOCO_GL=osmesa (or egl) before mujoco is first imported")
        try:
            import mujoco
        except ImportError as error:
            raise RobotSimError(f"the simulated robot needs mujoco (pip install 'vlagent[sim]'): {error}") from None

        self._mujoco = mujoco
        self.spec, self.width, self.height = spec, width, height
        self.limits = limits or BaseLimits()
        self.model = mujoco.MjModel.from_xml_string(world_xml(spec, width, height))
        self.data = mujoco.MjData(self.model)
        mujoco.mj_resetDataKeyframe(self.model, self.data, 0)
        mujoco.mj_forward(self.model, self.data)
        try:
            self._renderer = mujoco.Renderer(self.model, height, width)
        except Exception as error:  # noqa: BLE001 - mujoco.FatalError: no GL context
            raise RobotSimError(
                f"MuJoCo cannot render ({error}); MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}: set MUJOCO_GL=osmesa "
                "(Debian libosmesa6) or egl before mujoco is first imported") from None
        # Segmentation for true boxes at half resolution: a quarter of the cost, boxes within 2 px.
        self._truth_scale = 2 if width >= 128 and height >= 96 else 1
        self._segmenter = mujoco.Renderer(self.model, height // self._truth_scale, width // self._truth_scale)
        self._segmenter.enable_segmentation_rendering()
        self._rng = np.random.default_rng(spec.seed)
        self.time_s = 0.0
        self._wanted = (0.0, 0.0)
        self._wanted_at = -math.inf
        self._velocity = (0.0, 0.0)
        self.odometer_m = 0.0
        self._closed = False

    # -- input --------------------------------------------------------------------------------

    def command(self, linear: float, angular: float) -> None:
        """Drive at `linear` m/s and `angular` rad/s from now (clamped; non-finite means zero)."""
        if not (math.isfinite(linear) and math.isfinite(angular)):
            linear = angular = 0.0
        lim = self.limits
        self._wanted = (max(-lim.max_linear, min(lim.max_linear, float(linear))),
                        max(-lim.max_angular, min(lim.max_angular, float(angular))))
        self._wanted_at = self.time_s

    def advance(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass."""
        steps = max(1, int(round(seconds * PHYSICS_HZ)))
        dt = self.model.opt.timestep
        lim = self.limits
        for _ in range(steps):
            fresh = self.time_s - self._wanted_at <= lim.cmd_timeout_s
            target = self._wanted if fresh else (0.0, 0.0)
            linear = _toward(self._velocity[0], target[0], lim.linear_accel * dt)
            angular = _toward(self._velocity[1], target[1], lim.angular_accel * dt)
            self._velocity = (linear, angular)
            yaw = self.data.qpos[2]
            self.data.qvel[:3] = (linear * math.cos(yaw), linear * math.sin(yaw), angular)
            before = self.data.qpos[:2].copy()
            self._mujoco.mj_step(self.model, self.data)
            self.odometer_m += float(np.hypot(*(self.data.qpos[:2] - before)))
            self.time_s += dt
        # contacts may have stopped the base: what it really does is what the joints did
        actual = float(np.hypot(*self.data.qvel[:2]))
        self._velocity = (math.copysign(min(abs(self._velocity[0]), actual + 1e-9), self._velocity[0]), self._velocity[1])

    # -- output -------------------------------------------------------------------------------

    def render(self) -> np.ndarray:
        """The camera frame, H x W x 3 uint8 RGB, with the world's camera noise."""
        self._renderer.update_scene(self.data, camera="front")
        image = self._renderer.render()
        if self.spec.noise > 0:
            noisy = image.astype(np.int16) + self._rng.normal(0.0, self.spec.noise, image.shape).astype(np.int16)
            image = np.clip(noisy, 0, 255).astype(np.uint8)
        return image

    def target_box(self, name: str) -> tuple[float, float, float, float] | None:
        """The visible bounds of object `name` in frame px (x1, y1, x2, y2), or None if not visible."""
        try:
            self.model.geom(name)
        except KeyError:
            return None
        return self.visible_boxes((name,)).get(name)

    def visible_boxes(self, names: tuple[str, ...] | None = None, min_px: int = MIN_VISIBLE_PX
                      ) -> dict[str, tuple[float, float, float, float]]:
        """{object name: visible bounds in frame px} for the objects (default: all of them)
        showing at least `min_px` frame px, from one segmentation rendering (occlusion included)."""
        names = tuple(o.name for o in self.spec.objects) if names is None else names
        self._segmenter.update_scene(self.data, camera="front")
        segmentation = self._segmenter.render()
        geoms = segmentation[..., 0][segmentation[..., 1] == int(self._mujoco.mjtObj.mjOBJ_GEOM)]
        ids = segmentation[..., 0]
        is_geom = segmentation[..., 1] == int(self._mujoco.mjtObj.mjOBJ_GEOM)
        k = self._truth_scale
        out = {}
        present = set(np.unique(geoms).tolist())
        for name in names:
            geom_id = self.model.geom(name).id
            if geom_id not in present:
                continue
            mask = (ids == geom_id) & is_geom
            if int(mask.sum()) * k * k < min_px:
                continue
            ys, xs = np.nonzero(mask)
            out[name] = (float(xs.min() * k), float(ys.min() * k), float(min(self.width, (xs.max() + 1) * k)),
                         float(min(self.height, (ys.max() + 1) * k)))
        return out

    def place(self, x: float, y: float, yaw: float) -> None:
        """Put the robot at (x m, y m, yaw rad), at rest (for rendering training views; no physics)."""
        self.data.qpos[:3] = (x, y, yaw)
        self.data.qvel[:] = 0.0
        self._velocity = (0.0, 0.0)
        self._mujoco.mj_forward(self.model, self.data)

    def pose(self) -> tuple[float, float, float]:
        """(x m, y m, yaw rad in -pi..pi)."""
        x, y, yaw = (float(v) for v in self.data.qpos[:3])
        return x, y, math.atan2(math.sin(yaw), math.cos(yaw))

    def speed(self) -> tuple[float, float]:
        """The base's current (linear m/s, angular rad/s)."""
        return self._velocity

    def distance_to(self, name: str) -> float:
        """Metres from the robot's edge to the object's surface (in the floor plane)."""
        o = self._object(name)
        x, y, _ = self.pose()
        return math.hypot(o.x - x, o.y - y) - o.size - ROBOT_RADIUS_M

    def bearing_to(self, name: str) -> float:
        """Radians from the heading to the object, counter-clockwise positive, in -pi..pi."""
        o = self._object(name)
        x, y, yaw = self.pose()
        angle = math.atan2(o.y - y, o.x - x) - yaw
        return math.atan2(math.sin(angle), math.cos(angle))

    def _object(self, name: str):
        for o in self.spec.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object {name!r} in this world ({', '.join(o.name for o in self.spec.objects)})")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._renderer.close()
            self._segmenter.close()

    def __enter__(self) -> "RobotSim":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
