"""`RobotEnv`, the Gymnasium environment `vlagent/Robot-v0`: one simulated robot task per episode.

- Observation: the robot's camera frame, H x W x 3 uint8 RGB (320 x 240 by default).
- Action: a Box of two float32, (linear m/s, angular rad/s), within the node's velocity limits.
  Each step goes the node's way to the base: the pair becomes a `Twist` Action (the one schema,
  validated), then `actuators.ros2.velocity.bounded` clamps it and limits its acceleration from the
  previous command, exactly as `vlagent ros2-node` does before publishing; the simulator then runs
  for one control period (`1 / control_hz` s).
- Reward: the decrease of the distance to the target (m) each step, plus 1.0 on success; for the
  absent-target task, -0.01 per step while moving. Terminates when the task's check passes (for the
  absent target: as soon as the base stands still, having travelled little), truncates after
  `max_steps`.
- info: task_id, instruction, target (label), target_box (frame px or None), distance_m, success.

`task` is a template ("robot.drive_to") whose seed comes from `reset(seed=...)`, or a full id.
Registered by `vlagent.agent.registry.register_gym_envs()`.
"""

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from vlagent.actuators.ros2.velocity import ZERO, Velocity, VelocityLimits, bounded
from vlagent.agent.actions import Twist
from vlagent.sim.robot.robot import RobotSim
from vlagent.sim.robot.tasks import check, make_task, parse_task_id


class RobotEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 5}

    def __init__(self, task: str = "robot.drive_to", control_hz: float = 5.0, max_steps: int = 150,
                 width: int = 320, height: int = 240, limits: VelocityLimits | None = None,
                 render_mode: str | None = None):
        template, _ = parse_task_id(task)  # a bad id fails here
        self.template, self.fixed_seed = template, (task.partition(":")[2] or None)
        self.control_hz, self.max_steps, self.width, self.height = control_hz, max_steps, width, height
        self.limits = limits or VelocityLimits()
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0, 255, (height, width, 3), dtype=np.uint8)
        high = np.array([self.limits.max_linear, self.limits.max_angular], dtype=np.float32)
        self.action_space = spaces.Box(-high, high, dtype=np.float32)
        self._sim: RobotSim | None = None
        self._task = None
        self._frame: np.ndarray | None = None

    def _info(self, success: bool = False) -> dict[str, Any]:
        task, sim = self._task, self._sim
        return {"task_id": task.id, "instruction": task.instruction, "target": task.target_label,
                "target_box": sim.target_box(task.target) if task.target else None,
                "distance_m": sim.distance_to(task.target) if task.target else None, "success": success}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        episode_seed = int(self.fixed_seed) if self.fixed_seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        if self._sim is not None:
            self._sim.close()
        self._task = make_task(f"robot.{self.template}:{episode_seed}")
        self._sim = RobotSim(self._task.world, self.width, self.height)
        self._sent, self._steps = ZERO, 0
        self._frame = self._sim.render()
        return self._frame, self._info()

    def step(self, action):
        if self._sim is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        linear, angular = (float(v) for v in np.asarray(action, dtype=np.float64).reshape(2))
        period = 1.0 / self.control_hz
        twist = Twist(linear=linear, angular=angular, seconds=period)  # the one Action schema
        self._sent = bounded(self._sent, Velocity(twist.linear, twist.angular), period, self.limits)
        task, sim = self._task, self._sim
        before = sim.distance_to(task.target) if task.target else 0.0
        sim.command(self._sent.linear, self._sent.angular)
        sim.advance(period)
        self._steps += 1
        self._frame = sim.render()
        result = check(task, sim, ended_by_driver=True)
        if task.target is None:
            reward = -0.01 if not self._sent.is_zero else 0.0
        else:
            reward = before - sim.distance_to(task.target)
        reward += 1.0 if result.success else 0.0
        truncated = self._steps >= self.max_steps and not result.success
        return self._frame, float(reward), bool(result.success), bool(truncated), self._info(result.success)

    def render(self):
        return self._frame

    def close(self):
        if self._sim is not None:
            self._sim.close()
            self._sim = None
