"""The agent policy: screenshot + task + action history in, one action-grammar line out.

Each step sends `policies.prompts.agent_messages(instruction, history)` with the frame as the
one image to the model (a local engine or a remote server, `policies.completion`), greedily, and parses the answer with
`policies.action_grammar.parse_action_line` into an Action in frame px (box centre for taps).
History lines are the previous actions in `history_line` form (taps by label, no boxes).

Unparseable output raises `ActionGrammarError`, a `PolicyOutputError`, into the loop's retry
path. The loop's feedback text is not put into the prompt (the model was not trained on it);
instead a retry (`Observation.retry`: the loop asks again at the same step after an
unparseable answer, or to re-plan a repeated action) samples (temperature `retry_temperature`,
seeded per attempt) so it can differ from the greedy answer that failed. Feedback alone (after
a blocked or failed action, at a new step) does not make it sample.
"""

import time

from vlagent.agent.actions import Action
from vlagent.agent.interfaces import Decision, Observation
from vlagent.perception.coords import apply_box, norm1000_to_image
from vlagent.policies.action_grammar import ActionGrammarError, history_line, parse_action_line
from vlagent.policies.completion import complete
from vlagent.policies.grounding import RETRY_TEMPERATURE, generation_timings
from vlagent.policies.prompts import agent_messages

AGENT_MAX_NEW_TOKENS = 64


def history_lines(history: list[Decision]) -> list[str]:
    """The prompt history of previous decisions, oldest first; a tap is named by the label
    its decision grounded (`Decision.grounding["label"]`)."""
    lines = []
    for decision in history:
        label = decision.grounding.get("label") if isinstance(decision.grounding, dict) else None
        lines.append(_history_line(decision.action, label))
    return lines


def _history_line(action: Action, label: str | None) -> str:
    try:
        return history_line(action, label)
    except ActionGrammarError:
        # An action from outside the grammar (another policy, a human): name its type so
        # the history still shows that something happened.
        return action.type


class AgentPolicy:
    """`Policy` for a perception.engine.Engine (onnx or torch; its image token budget is set
    when it is loaded). `seed` makes retries' sampling reproducible."""

    def __init__(self, engine, manifest_sha256: str | None = None, max_new_tokens: int = AGENT_MAX_NEW_TOKENS,
                 retry_temperature: float = RETRY_TEMPERATURE, seed: int = 0):
        self.engine = engine
        self.manifest_sha256 = manifest_sha256
        self.max_new_tokens = max_new_tokens
        self.retry_temperature = retry_temperature
        self.seed = seed
        self._attempts = 0

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        started = time.perf_counter()
        frame = observation.frame
        messages = agent_messages(observation.instruction, history_lines(history))
        self._attempts += 1
        sample = observation.retry  # a retry at the same step, never mere feedback
        generation = complete(self.engine, messages, [frame.image], self.max_new_tokens, do_sample=sample,
                              temperature=self.retry_temperature if sample else 1.0,
                              seed=self.seed * 100_003 + self._attempts if sample else None)
        parsed = parse_action_line(generation.text, frame.size)  # ActionGrammarError -> the loop retries
        timings = generation_timings(generation.timings, time.perf_counter() - started)
        grounding = None
        if parsed.label is not None:
            grounding = {"label": parsed.label, "box_norm": list(parsed.box_norm),
                         "box_frame_px": list(apply_box(norm1000_to_image(frame.size), parsed.box_norm))}
        return Decision(action=parsed.action, raw_text=generation.text, grounding=grounding,
                        thought="sampled retry" if sample else None,
                        timings={k: timings[k] for k in ("preprocess", "model")})


def from_context(context) -> AgentPolicy:
    """Registry factory ("agent"): the engine from the policy options (policies.model_options)."""
    from vlagent.policies.model_options import load_engine, manifest_sha256, model_options

    options = model_options(dict(context.options), max_new_tokens=AGENT_MAX_NEW_TOKENS)
    return AgentPolicy(load_engine(options), manifest_sha256(options.model), options.max_new_tokens)
