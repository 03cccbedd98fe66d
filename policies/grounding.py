"""Grounding: find a named target in an image and act on its box centre.

`ground(engine, image, query)` prompts the model (a local engine or a remote server,
`policies.completion`) with `policies.prompts.grounding_messages`
(the query before the image), parses the answer's box tokens with
`perception.grounding.parse_groundings` and maps the first box from norm-1000 to px of the
image it saw. The model sees the whole image resized (smart-resize keeps the content, only
the scale changes), so norm-1000 is relative to the image and
`perception.coords.norm1000_to_image(image size)` is the whole mapping.

`GroundingPolicy` reads the target from the instruction ("tap Wi-Fi", "long press Note 3",
or just "Wi-Fi"), grounds it in the frame and answers a Tap (or LongPress) at the box
centre in frame px; once that was executed, it finishes. An answer without a box raises
`PolicyOutputError`: the loop's retry path, where the policy samples (it is greedy otherwise)
so that the retry can differ.
"""

import re
import time
from dataclasses import asdict, dataclass

import numpy as np

from vlagent.agent.actions import Finish, LongPress, Tap, action_to_json
from vlagent.agent.errors import PolicyOutputError
from vlagent.agent.interfaces import Decision, Observation
from vlagent.perception.coords import Box, apply_box, clamp_point, norm1000_to_image
from vlagent.perception.grounding import GroundingParseError, parse_groundings
from vlagent.policies.completion import complete
from vlagent.policies.prompts import PromptError, grounding_messages

GROUND_MAX_NEW_TOKENS = 48  # a label of ~20 tokens plus a box of ~15
RETRY_TEMPERATURE = 0.8  # sampling temperature of a retry after unparseable output
_VERB = re.compile(r"^\s*(tap|click|press|select|long[ _]press)(\s+on)?\s+", re.IGNORECASE)


class GroundingOutputError(PolicyOutputError):
    """The model's answer holds no well-formed box; `timings` (s) of the generation that made it."""

    def __init__(self, raw_text: str, reason: str, timings: dict[str, float] | None = None):
        super().__init__(raw_text, reason)
        self.timings = dict(timings or {})


@dataclass(frozen=True)
class GroundResult:
    """One grounding: the model's raw text, its label, the box in norm-1000 and in px of the
    image (width, height = image_size), the box centre in image px, and timings in seconds
    (preprocess, vision, prefill, decode, model = vision + prefill + decode, total)."""

    raw_text: str
    label: str | None
    box_norm: Box
    box_px: Box
    center_px: tuple[float, float]
    image_size: tuple[int, int]
    timings: dict[str, float]

    def to_dict(self) -> dict:
        return asdict(self)


def generation_timings(timings: dict, total: float) -> dict[str, float]:
    """Stage timings of a completion (`policies.completion`) plus the policy call's `total` (s)."""
    return {"preprocess": 0.0, "vision": 0.0, "prefill": 0.0, "decode": 0.0, "model": 0.0,
            **{k: float(v) for k, v in timings.items() if k != "total"}, "total": total}


def interpret(raw_text: str, image_size: tuple[int, int], timings: dict[str, float] | None = None) -> GroundResult:
    """The first box in `raw_text` (norm-1000) mapped to px of an image of `image_size`
    (width, height). Raises GroundingOutputError (a PolicyOutputError) when the text holds no
    well-formed box."""
    try:
        groundings = parse_groundings(raw_text)
    except GroundingParseError as error:
        raise GroundingOutputError(raw_text, f"the box tokens are malformed: {error}", timings) from None
    boxed = [g for g in groundings if g.boxes]
    if not boxed:
        raise GroundingOutputError(raw_text, "no box found: answer with <|object_ref_start|>label<|object_ref_end|>"
                                             "<|box_start|>(x1,y1),(x2,y2)<|box_end|>", timings)
    grounding = boxed[0]
    box_norm = grounding.boxes[0]
    box_px = apply_box(norm1000_to_image(image_size), box_norm)
    center = clamp_point((box_px[0] + box_px[2]) / 2, (box_px[1] + box_px[3]) / 2, image_size)
    return GroundResult(raw_text, grounding.label, box_norm, box_px, center, tuple(image_size), dict(timings or {}))


def ground(engine, image: np.ndarray, query: str, max_new_tokens: int = GROUND_MAX_NEW_TOKENS,
           temperature: float | None = None, seed: int | None = None) -> GroundResult:
    """Find `query` in `image` (H x W x 3 uint8 RGB); greedy, or sampled at `temperature`.
    Boxes are returned in norm-1000 and in image px. Raises GroundingOutputError when the
    answer holds no box, PromptError for an empty query."""
    started = time.perf_counter()
    sample = {"do_sample": True, "temperature": temperature, "seed": seed} if temperature else {}
    completion = complete(engine, grounding_messages(query), [image], max_new_tokens, **sample)
    height, width = image.shape[:2]
    timings = generation_timings(completion.timings, time.perf_counter() - started)
    return interpret(completion.text, (width, height), timings)


def target_of(instruction: str) -> tuple[str, bool]:
    """(target label, long press?) from "tap Wi-Fi", "Long press 'Note 3'" or just "Wi-Fi"."""
    match = _VERB.match(instruction)
    long = bool(match) and match.group(1).lower().startswith("long")
    label = instruction[match.end():] if match else instruction
    label = label.strip()
    if len(label) >= 2 and label[0] == label[-1] and label[0] in "'\"":
        label = label[1:-1].strip()
    if not label:
        raise PromptError(f"the instruction {instruction!r} names no target")
    return label, long


class GroundingPolicy:
    """`Policy` that taps what the instruction names. `engine`: a perception.engine.Engine
    (onnx or torch, its image token budget set when it was loaded)."""

    def __init__(self, engine, manifest_sha256: str | None = None, max_new_tokens: int = GROUND_MAX_NEW_TOKENS,
                 retry_temperature: float = RETRY_TEMPERATURE, seed: int = 0):
        self.engine = engine
        self.manifest_sha256 = manifest_sha256
        self.max_new_tokens = max_new_tokens
        self.retry_temperature = retry_temperature
        self.seed = seed
        self._attempts = 0

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        label, long = target_of(observation.instruction)
        if history:  # the one tap was executed: the instruction is done
            done = Finish(status="success", reason=f"tapped {label!r}")
            return Decision(action=done, raw_text="", thought="the target was tapped")
        frame = observation.frame
        self._attempts += 1
        retry = observation.feedback is not None  # greedy would repeat the answer that failed
        result = ground(self.engine, frame.image, label, self.max_new_tokens,
                        temperature=self.retry_temperature if retry else None,
                        seed=self.seed * 100_003 + self._attempts if retry else None)
        x, y = result.center_px  # the image is the frame, so image px are frame px
        action = LongPress(x=x, y=y) if long else Tap(x=x, y=y)
        grounding = {"label": result.label or label, "query": label, "box_norm": list(result.box_norm),
                     "box_frame_px": list(result.box_px)}
        return Decision(action=action, raw_text=result.raw_text, thought=f"ground {label!r}: {action_to_json(action)}",
                        timings={k: result.timings[k] for k in ("preprocess", "model")}, grounding=grounding)


NOT_VISIBLE = "not visible"  # what a grounding model answers for a target that is not in the image


class ModelGrounder:
    """`policies.servo.Grounder` on the grounding model: the box in frame px (the image is the
    frame), None when the model answers that the target is not visible; any other answer
    without a box raises GroundingOutputError (the caller's retry path). After each call,
    `last_text` is the model's answer and `last_timings` its stage timings (s)."""

    def __init__(self, engine, max_new_tokens: int = GROUND_MAX_NEW_TOKENS):
        self.engine, self.max_new_tokens = engine, max_new_tokens
        self.last: GroundResult | None = None
        self.last_text: str | None = None
        self.last_timings: dict[str, float] = {}

    @classmethod
    def open(cls, options: dict) -> "ModelGrounder":
        """From model policy options (`model=DIR`, `backend`, `threads`, ...; policies.model_options)."""
        from vlagent.policies.model_options import load_engine, model_options

        parsed = model_options(dict(options), max_new_tokens=GROUND_MAX_NEW_TOKENS)
        return cls(load_engine(parsed), parsed.max_new_tokens)

    def ground(self, frame, label: str):
        try:
            self.last = ground(self.engine, frame.image, label, self.max_new_tokens)
        except GroundingOutputError as error:
            self.last, self.last_text, self.last_timings = None, error.raw_text, dict(error.timings)
            if NOT_VISIBLE in error.raw_text.lower():
                return None
            raise
        self.last_text, self.last_timings = self.last.raw_text, dict(self.last.timings)
        return self.last.box_px


def from_context(context) -> GroundingPolicy:
    """Registry factory ("grounding"): the engine from the policy options (policies.model_options)."""
    from vlagent.policies.model_options import load_engine, manifest_sha256, model_options

    options = model_options(dict(context.options), max_new_tokens=GROUND_MAX_NEW_TOKENS)
    return GroundingPolicy(load_engine(options), manifest_sha256(options.model), options.max_new_tokens)
