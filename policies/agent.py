"""The agent policy: screenshot + task + history in, one action out, in the model family's own form.

Each step builds the prompt with the policy's profile (`policies.profiles`: vlagent's grammar,
Qwen2-VL, Qwen2.5-VL's mobile_use, UI-TARS), sends it with the frame as the one image to the
model (a local engine or a remote server, `policies.completion`), greedily, and parses the
answer with the same profile into an Action in frame px. The profile's coordinates go through
`perception.coords` with the smart-resized size the model saw (`Screen`), which the policy
computes with the model's own resize settings (the engine's processor, or the pixel limits a
remote request sends).

An unreadable answer raises the profile's `PolicyOutputError` into the loop's retry path.
Profiles of released families show the loop's feedback (the parse error) to the model; the
vlagent profile does not (its model was not trained on such text). A retry
(`Observation.retry`: the loop asks again at the same step after an unusable answer) samples
(temperature `retry_temperature`, seeded per attempt) so it can differ from the greedy answer
that failed; feedback alone (after a blocked or failed action, at a new step) does not sample.
"""

import time

from vlagent.agent.interfaces import Decision, Observation
from vlagent.perception.coords import apply_box, norm1000_to_image
from vlagent.policies.completion import complete
from vlagent.policies.grounding import RETRY_TEMPERATURE, generation_timings
from vlagent.policies.profiles import get_profile
from vlagent.policies.profiles.base import HistoryItem, Profile, Screen

AGENT_MAX_NEW_TOKENS = 64
FAMILY_MAX_NEW_TOKENS = 256  # released families write a thought or a JSON call: longer answers


def history_items(history: list[Decision]) -> list[HistoryItem]:
    """Previous decisions as profiles show them, oldest first; a tap carries the label its
    decision grounded (`Decision.grounding["label"]`)."""
    items = []
    for decision in history:
        label = decision.grounding.get("label") if isinstance(decision.grounding, dict) else None
        items.append(HistoryItem(decision.action, decision.raw_text or "", label, decision.thought))
    return items


def history_lines(history: list[Decision]) -> list[str]:
    """The vlagent prompt's history lines for previous decisions (taps named by their label)."""
    from vlagent.policies.profiles.vlagent import history_line_of

    return [history_line_of(item) for item in history_items(history)]


def model_screen(model, frame_size) -> Screen:
    """The Screen for a frame of `frame_size` (w, h) px: the model-input size from the model's
    own resize (`resized_size(h, w)`, or its processor's)."""
    width, height = int(frame_size[0]), int(frame_size[1])
    resize = getattr(model, "resized_size", None) or model.processor.resized_size
    model_h, model_w = resize(height, width)
    return Screen((float(width), float(height)), (float(model_w), float(model_h)))


class AgentPolicy:
    """`Policy` for a perception.engine.Engine (onnx or torch; its image token budget is set
    when it is loaded) or a remote model, speaking `profile` (default: vlagent's grammar).
    `seed` makes retries' sampling reproducible."""

    def __init__(self, engine, manifest_sha256: str | None = None, max_new_tokens: int = AGENT_MAX_NEW_TOKENS,
                 retry_temperature: float = RETRY_TEMPERATURE, seed: int = 0, profile: Profile | None = None):
        self.engine = engine
        self.manifest_sha256 = manifest_sha256
        self.max_new_tokens = max_new_tokens
        self.retry_temperature = retry_temperature
        self.seed = seed
        self.profile = profile or get_profile("vlagent")
        self._attempts = 0

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        started = time.perf_counter()
        frame = observation.frame
        screen = model_screen(self.engine, frame.size)
        items = history_items(history)
        owed = self.profile.follow_up(items, screen)
        if owed is not None:  # e.g. UI-TARS's finished(content=...): answered, now finish
            return Decision(action=owed, thought=f"{self.profile.name}: the previous answer ended the task")
        messages = self.profile.messages(observation.instruction, items, screen, observation.feedback)
        self._attempts += 1
        sample = observation.retry  # a retry at the same step, never mere feedback
        generation = complete(self.engine, messages, [frame.image], self.max_new_tokens, do_sample=sample,
                              temperature=self.retry_temperature if sample else 1.0,
                              seed=self.seed * 100_003 + self._attempts if sample else None)
        answer = self.profile.parse(generation.text, screen)  # a PolicyOutputError -> the loop retries
        timings = generation_timings(generation.timings, time.perf_counter() - started)
        grounding = None
        if answer.box_norm is not None:
            grounding = {"label": answer.label, "box_norm": list(answer.box_norm),
                         "box_frame_px": list(apply_box(norm1000_to_image(frame.size), answer.box_norm))}
        thought = answer.thought or ("sampled retry" if sample else None)
        return Decision(action=answer.action, raw_text=generation.text, grounding=grounding, thought=thought,
                        timings={k: timings[k] for k in ("preprocess", "model")})


def default_max_new_tokens(profile: Profile) -> int:
    return AGENT_MAX_NEW_TOKENS if profile.name == "vlagent" else FAMILY_MAX_NEW_TOKENS


def from_context(context) -> AgentPolicy:
    """Registry factory ("agent"): the engine from the policy options (policies.model_options),
    the profile from option `profile` or the model itself (policies.profiles.choose_profile)."""
    from vlagent.policies.model_options import load_engine, manifest_sha256, model_options
    from vlagent.policies.profiles import choose_profile

    options = dict(context.options)
    explicit = options.pop("profile", None)
    parsed = model_options(options)
    engine = load_engine(parsed)  # first: a missing model is named as such, not as an unknown family
    profile = choose_profile(explicit, model_dir=parsed.model, env=context.env)
    max_new = parsed.max_new_tokens if "max_new_tokens" in options else default_max_new_tokens(profile)
    return AgentPolicy(engine, manifest_sha256(parsed.model), max_new, profile=profile)
