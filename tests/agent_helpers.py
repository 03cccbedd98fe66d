"""Shared pieces for the agent-loop tests: a small simulated phone and a few real policies.

The policies here are real `Policy` implementations (they read the observation's UI tree
and answer Actions in frame px); the phone is the real simulator at a small resolution.
"""

from pathlib import Path

from vlagent.agent.actions import Finish, Tap, action_to_json
from vlagent.agent.config import LoopConfig, SettleConfig
from vlagent.agent.envs import SimPhoneEnv
from vlagent.agent.interfaces import Decision, Observation

WIDTH, HEIGHT = 360, 800


def small_env(tmp_path: Path, seed: int = 0, frame_width: int | None = None) -> SimPhoneEnv:
    """A fresh 360x800 simulated phone whose state file lives in `tmp_path`."""
    return SimPhoneEnv(seed, width=WIDTH, height=HEIGHT, frame_width=frame_width,
                       state_file=tmp_path / f"sim-{seed}.json", fresh=True)


def fast_loop(**overrides) -> LoopConfig:
    """A LoopConfig with a quick settle (the simulator is stable right after input)."""
    settle = SettleConfig(interval_s=0.0, stable_frames=1, timeout_s=1.0)
    return LoopConfig(**{"settle": settle, **overrides})


def find_node(observation: Observation, text: str):
    """The first UI node whose text is `text`, or None."""
    return next((n for n in observation.frame.ui_tree or () if n.text == text), None)


class TapText:
    """Taps the node showing `text` (centre, mapped to frame px) every step; finishes if it is gone."""

    def __init__(self, text: str):
        self.text = text
        self.seen: list[Observation] = []

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        self.seen.append(observation)
        node = find_node(observation, self.text)
        if node is None:
            return Decision(Finish(status="failure", reason=f"no {self.text!r} on screen"))
        x, y = observation.frame.to_frame_px(*node.center)
        action = Tap(x=x, y=y)
        return Decision(action, raw_text=action_to_json(action), grounding={"label": self.text})
