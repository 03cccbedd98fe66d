"""`ScriptedPolicy`: answers with a fixed list of actions, for scripting, demos and replay checks.

The k-th answer is the action at index len(history) (so teacher-forced replay and live
runs agree), and `finish` once the script runs out. Actions are frame px, validated with
`parse_action` when the policy is built, never evaluated. Registered as "scripted" with
the option `actions`: a JSON list, or a path to a .json list / .jsonl file of actions.
"""

import json
from pathlib import Path
from typing import Any

from vlagent.agent.actions import Action, Finish, action_to_json, parse_action
from vlagent.agent.interfaces import Decision, Observation


class ScriptedPolicy:
    """Replay `actions` one per step; `Finish` after the last one."""

    def __init__(self, actions: list[Any]):
        self.actions: list[Action] = [parse_action(item) for item in actions]

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        index = len(history)
        action = self.actions[index] if index < len(self.actions) else Finish(reason="script finished")
        return Decision(action=action, raw_text=action_to_json(action), thought=f"scripted step {index}")


def load_actions(value: Any) -> list[Any]:
    """A list of actions from a list, a JSON list string, or a .json / .jsonl file path."""
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        raise ValueError(f"scripted actions must be a list or a file path, got {type(value).__name__}")
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    path = Path(text)
    content = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in content.splitlines() if line.strip()]
    return json.loads(content)


def from_context(context) -> ScriptedPolicy:
    """Registry factory: `actions` from the policy options."""
    if "actions" not in context.options:
        raise ValueError("the scripted policy needs --policy-opt actions=FILE|JSON_LIST")
    return ScriptedPolicy(load_actions(context.options["actions"]))
