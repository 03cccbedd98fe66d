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
from vlagent.agent.errors import ConfigError
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
    """A list of actions from a list, a JSON list string, or a .json / .jsonl file path.
    Raises ConfigError naming what is wrong (an unreadable file, text that is not JSON)."""
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"scripted actions must be a list or a file path, got {type(value).__name__}")
    text = value.strip()
    try:
        if text.startswith("["):
            return json.loads(text)
        path = Path(text)
        content = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in content.splitlines() if line.strip()]
        return json.loads(content)
    except json.JSONDecodeError as error:
        raise ConfigError(f"scripted actions {text[:80]!r} are not valid JSON: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read scripted actions from {text[:200]!r}: {error}") from None


def from_context(context) -> ScriptedPolicy:
    """Registry factory: `actions` from the policy options."""
    if "actions" not in context.options:
        raise ConfigError("the scripted policy needs --policy-opt actions=FILE|JSON_LIST")
    actions = load_actions(context.options["actions"])
    if not isinstance(actions, list):
        raise ConfigError(f"scripted actions must be a JSON list, got {type(actions).__name__}")
    return ScriptedPolicy(actions)
