"""vlagent's own profile: the prompt and one-line action grammar the shipped model was trained on.

Prompt: `policies.prompts.agent_messages` (task, the last 4 actions in `history_line` form, then
the screenshot); answer: one line of `policies.action_grammar`, targets in Qwen2-VL box tokens,
norm-1000 of the whole frame. The loop's feedback is not shown (the model never saw such text
in training; a retry samples instead). See docs/PROMPTS.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from vlagent.policies.action_grammar import (
    ActionGrammarError,
    format_action_line,
    history_line,
    parse_action_line,
)
from vlagent.policies.profiles.base import HistoryItem, Profile, ProfileAnswer, Screen
from vlagent.policies.prompts import agent_messages

NAME = "vlagent"
SPACE = "norm1000"


def history_line_of(item: HistoryItem) -> str:
    """The history line of one previous step (`action_grammar.history_line`)."""
    try:
        return history_line(item.action, item.label)
    except ActionGrammarError:
        # An action from outside the grammar (another policy, a human): name its type so the
        # history still shows that something happened.
        return getattr(item.action, "type", "unknown")


def messages(instruction: str, history: Sequence[HistoryItem], screen: Screen, feedback: str | None = None) -> list[dict]:
    return agent_messages(instruction, [history_line_of(item) for item in history])


def parse(text: str, screen: Screen) -> ProfileAnswer:
    parsed = parse_action_line(text, screen.frame_size)  # ActionGrammarError is a PolicyOutputError
    return ProfileAnswer(parsed.action, parsed.label, parsed.box_norm)


def format_answer(action, screen: Screen, target=None, thought: str | None = None) -> str:
    return format_action_line(action, screen.frame_size, target)


# The shipped model's budget comes from its package; these are only the fallbacks for a
# remote server that serves a vlagent-trained model (Qwen2-VL's processor defaults).
PROFILE = Profile(name=NAME, space=SPACE, messages=messages, parse=parse, format_answer=format_answer,
                  min_pixels=4 * 28 * 28, max_pixels=16384 * 28 * 28,
                  description="vlagent's one-line action grammar (the shipped model), 0..1000")
