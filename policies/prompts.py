"""The two prompts vlagent's model policies send, rendered with `perception.chat.render_chat`.

Both are one user turn after the default system message, with one image, and the text
BEFORE the image: under causal attention an image token can only attend to what precedes
it, so putting the query first lets the vision tokens' hidden states condition on what is
being looked for (see docs/PROMPTS.md). The training data (perception/train) builds its
samples with these same functions, so prompts at training and at run time are identical.

- grounding: "Find {label}" -> `<|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>`
- agent: "Task: ...\\nHistory: ...\\nNext action?" -> one line of `policies.action_grammar`
"""

from collections.abc import Sequence

from vlagent.perception.chat import render_chat
from vlagent.perception.errors import VlagentError

HISTORY_LENGTH = 4  # previous actions shown in the agent prompt, most recent last
NO_HISTORY = "none"


class PromptError(VlagentError, ValueError):
    """A prompt argument that cannot be rendered (empty label or instruction, bad history)."""


def _one_line(text: object, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise PromptError(f"{what} must be non-empty text, got {text!r}")
    # A line break would read as a new prompt field; other white space is kept, since the
    # model copies text (what to type) from the instruction verbatim.
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def grounding_messages(label: str) -> list[dict]:
    """The chat messages asking the model to find `label` in the one image."""
    return [{"role": "user", "content": [{"type": "text", "text": f"Find {_one_line(label, 'label')}"},
                                         {"type": "image"}]}]


def grounding_prompt(label: str) -> str:
    """The rendered grounding prompt, ending with the opening of the assistant turn."""
    return render_chat(grounding_messages(label))


def history_text(history: Sequence[str] | str) -> str:
    """The last HISTORY_LENGTH history lines (`action_grammar.history_line`) joined by "; ",
    or "none" when there are none. A string is taken as history text already joined."""
    if isinstance(history, str):
        return _one_line(history, "history") if history.strip() else NO_HISTORY
    recent = [_one_line(line, "a history line") for line in list(history)[-HISTORY_LENGTH:]]
    return "; ".join(recent) if recent else NO_HISTORY


def agent_messages(instruction: str, history: Sequence[str] | str = ()) -> list[dict]:
    """The chat messages asking for the next action towards `instruction`, given the
    previous actions `history` (oldest first, in `history_line` form)."""
    text = f"Task: {_one_line(instruction, 'instruction')}\nHistory: {history_text(history)}\nNext action?"
    return [{"role": "user", "content": [{"type": "text", "text": text}, {"type": "image"}]}]


def agent_prompt(instruction: str, history: Sequence[str] | str = ()) -> str:
    """The rendered agent prompt, ending with the opening of the assistant turn."""
    return render_chat(agent_messages(instruction, history))
