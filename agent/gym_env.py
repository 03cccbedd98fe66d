"""`PhoneEnv`, the Gymnasium environment `vlagent/Phone-v0`: one simulator task per episode.

It composes the far side (a `vlagent.sim` phone set up by a task), the frame source, the
actuator and the safety gate, and steps through `vlagent.agent.step.gated_execute`, the
same path as `vlagent act` and the agent loop: so it lives beside the loop, not in `sim/`,
and no action reaches the phone past the gate. Registered by
`vlagent.agent.registry.register_gym_envs()`.

- Observation: the frame, H x W x 3 uint8 RGB (frame px == device px); with
  `include_ui_tree=True` a Dict {"image": frame, "ui_tree": uiautomator XML string}.
- Action: an `Action` object or its JSON (`action_space` is text). Unparseable or invalid
  actions change nothing; the error is reported in `info["action_error"]`, as the loop
  feeds parse errors back to a model instead of crashing. An action the gate denies
  (headless: `SafetyConfig` rules, no one to confirm) changes nothing either; `info["safety"]`
  holds the gate's decision for every parsed action.
- Reward 1.0 on the step the task's state check first succeeds, else 0.0. The episode
  terminates on success or on a Finish action, and is truncated at the task's step budget.
- info: task_id, template_id, instruction, step, success, action_error, safety.

Gymnasium's `Text` space only contains strings over a fixed character set, while actions
and UI trees carry any Unicode; `UnicodeText` keeps Text's length bounds and ASCII sampling
but contains every string, so `check_env` runs in full (see tests/test_sim_gym.py).
"""

import string
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from vlagent.actuators.sim import SimActuator
from vlagent.agent.actions import (
    MAX_TEXT_LENGTH,
    PHONE_ACTION_TYPES,
    ActionParseError,
    Finish,
    parse_action,
)
from vlagent.agent.config import SafetyConfig
from vlagent.agent.safety import SafetyGate, deny_all
from vlagent.agent.step import gated_execute
from vlagent.perception.sources.sim import SimSource
from vlagent.sim.phone import DEFAULT_SIZE
from vlagent.sim.tasks import TASKS, Task, make_task

MAX_ACTION_CHARS = MAX_TEXT_LENGTH + 1024
MAX_TREE_CHARS = 2_000_000
_SAMPLE_CHARSET = string.ascii_letters + string.digits + string.punctuation + " "


class UnicodeText(spaces.Text):
    """A Text space whose members are all strings of allowed length (any Unicode)."""

    def __init__(self, max_length: int, min_length: int = 0, seed: int | None = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=_SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"


class PhoneEnv(gym.Env):
    """One task on a simulated phone. `task` is a template id, a Task, or None (drawn per reset)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, task: str | Task | None = None, seed: int | None = None, render_mode: str | None = "rgb_array",
                 include_ui_tree: bool = False, width: int = DEFAULT_SIZE[0], height: int = DEFAULT_SIZE[1],
                 orientation: str = "portrait", safety: SafetyConfig | None = None) -> None:
        """`seed` seeds the first reset() that passes none; later resets continue the env's RNG.
        `safety` configures the headless gate (default `SafetyConfig()`)."""
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        if isinstance(task, str) and task not in TASKS:
            raise ValueError(f"unknown task template {task!r}; known: {', '.join(sorted(TASKS))}")
        self.render_mode = render_mode
        self._task_spec = task
        self._include_tree = include_ui_tree
        self._natural = (width, height)
        self._orientation = orientation
        w, h = (width, height) if orientation == "portrait" else (height, width)
        image = spaces.Box(0, 255, (h, w, 3), np.uint8)
        self.observation_space = (spaces.Dict({"image": image, "ui_tree": UnicodeText(MAX_TREE_CHARS)})
                                  if include_ui_tree else image)
        self.action_space = UnicodeText(MAX_ACTION_CHARS, min_length=1)
        self._first_seed = seed
        self.gate = SafetyGate(safety or SafetyConfig(), deny_all, "headless")
        self.task: Task | None = None
        self.phone = None
        self.source: SimSource | None = None
        self.actuator: SimActuator | None = None
        self._steps = 0
        self._succeeded = False

    def _observation(self):
        image = self.phone.render()
        if self._include_tree:
            return {"image": image, "ui_tree": self.phone.ui_xml()}
        return image

    def _info(self, action_error: str | None = None, safety: dict | None = None) -> dict:
        return {"task_id": self.task.id, "template_id": self.task.template_id, "instruction": self.task.instruction,
                "step": self._steps, "success": self._succeeded, "action_error": action_error, "safety": safety}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode. options: {"task": template id, "task_seed": int} override the draw."""
        if seed is None and self._first_seed is not None:
            seed = self._first_seed
        self._first_seed = None
        super().reset(seed=seed)
        options = options or {}
        task_seed = int(options.get("task_seed", self.np_random.integers(0, 2**31 - 1)))
        spec = options.get("task", self._task_spec)
        if spec is None:
            spec = sorted(TASKS)[int(self.np_random.integers(0, len(TASKS)))]
        self.task = spec if isinstance(spec, Task) else make_task(spec, task_seed)
        width, height = self._natural
        self.phone = self.task.new_phone(width, height, self._orientation)
        self.source, self.actuator = SimSource(self.phone), SimActuator(self.phone)
        self._steps = 0
        self._succeeded = False
        return self._observation(), self._info()

    def step(self, action):
        if self.phone is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        self._steps += 1
        error, safety, parsed = None, None, None
        frame = self.source.capture()
        try:
            parsed = parse_action(action, frame_size=frame.size)
            if not isinstance(parsed, PHONE_ACTION_TYPES):
                raise ActionParseError(f"{parsed.type} is not a phone action")
        except ActionParseError as exc:
            error = str(exc)
        if error is None:
            outcome = gated_execute(parsed, frame, gate=self.gate, actuator=self.actuator, source=self.source)
            safety = outcome.safety.to_dict()
            if not outcome.result.ok:
                error = outcome.result.message
        success = self.task.is_successful(self.phone.state)
        reward = 1.0 if success and not self._succeeded else 0.0
        self._succeeded = self._succeeded or success
        terminated = bool(success or isinstance(parsed, Finish))
        truncated = bool(not terminated and self._steps >= self.task.step_budget)
        return self._observation(), reward, terminated, truncated, self._info(error, safety)

    def render(self):
        if self.render_mode != "rgb_array" or self.phone is None:
            return None
        return self.phone.render()

    def close(self) -> None:
        self.phone = self.source = self.actuator = None
