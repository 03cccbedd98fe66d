"""Held-out evaluation of a grounding model: format validity, centre-in-box accuracy, mean IoU,
next-action accuracy.

Held-out screens are seeds EVAL_SEED0 + i (never in a training pool); one query per screen,
a target chosen by the same seed. `generate` is any callable (prompt text, image uint8) ->
answer text, so the same code scores the torch model during training and the exported ONNX
package through `perception.engine`.
- format valid: the answer parses (`perception.grounding`, strict) to exactly one box whose
  label is the queried label;
- grounding hit: the predicted box centre lies inside the element's true bounds (device px of
  the `DEFAULT_SIZE` phone mapped to norm-1000 by `perception.coords`, unrounded);
- IoU: predicted box vs the true bounds (0 for an invalid answer);
- next action: the parsed action line (`policies.action_grammar`) has the oracle's verb, and for
  taps the box centre is inside the oracle target's box, else the same line.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from vlagent.perception.coords import apply_box, image_to_norm1000
from vlagent.perception.grounding import GroundingParseError, parse_groundings
from vlagent.perception.train.recipe import EVAL_SEED0, EVAL_TASK_SEED0
from vlagent.perception.train.samples import Sample, action_samples, grounding_sample
from vlagent.perception.train.screens import NAV_LABELS, render_screen
from vlagent.sim.phone import DEFAULT_SIZE

Generate = Callable[[str, np.ndarray], str]


def held_out_grounding(n: int, processor) -> list[Sample]:
    out = []
    seed = EVAL_SEED0
    while len(out) < n:
        screen = render_screen(seed, processor)
        if screen.targets:
            out.append(grounding_sample(screen, random.Random(seed).choice(screen.targets)))
        seed += 1
    return out


def held_out_actions(processor, per_task: int = 1, limit: int | None = None) -> list[Sample]:
    from vlagent.sim.tasks import TASKS

    out = []
    for i, tid in enumerate(sorted(TASKS)):
        for k in range(per_task):
            out.extend(action_samples(tid, EVAL_TASK_SEED0 + 7 * i + k, processor))
            if limit is not None and len(out) >= limit:
                return out[:limit]
    return out


def true_norm(bounds, device_size=DEFAULT_SIZE) -> tuple[float, float, float, float]:
    """Device-px bounds -> norm-1000 box (floats, unrounded)."""
    return apply_box(image_to_norm1000(device_size), bounds)


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def score_grounding(answer: str, sample: Sample, image_size=DEFAULT_SIZE) -> tuple[bool, bool, float]:
    """(format valid, centre in true box, IoU) of one answer; the target's bounds are px of an
    image of `image_size` (the phone's device px by default)."""
    try:
        found = parse_groundings(answer, strict=True)
    except GroundingParseError:
        return False, False, 0.0
    if len(found) != 1 or len(found[0].boxes) != 1 or found[0].label != sample.target.label:
        return False, False, 0.0
    truth = true_norm(sample.target.bounds, image_size)
    cx, cy = found[0].center
    hit = truth[0] <= cx <= truth[2] and truth[1] <= cy <= truth[3]
    return True, hit, iou(found[0].boxes[0], truth)


def score_action(answer: str, sample: Sample) -> bool:
    from vlagent.policies.action_grammar import ActionGrammarError, parse_action_line

    try:
        got = parse_action_line(answer, DEFAULT_SIZE)
        want = parse_action_line(sample.answer, DEFAULT_SIZE)
    except ActionGrammarError:
        return False
    if want.box_norm is not None:
        if got.box_norm is None or type(got.action) is not type(want.action):
            return False
        cx, cy = (got.box_norm[0] + got.box_norm[2]) / 2, (got.box_norm[1] + got.box_norm[3]) / 2
        b = want.box_norm
        return b[0] <= cx <= b[2] and b[1] <= cy <= b[3]
    return answer.strip() == sample.answer.strip()


def evaluate(generate: Generate, grounding: list[Sample], actions: list[Sample] = ()) -> dict:
    """Figures over the given held-out samples (fractions in 0..1, IoU mean in 0..1)."""
    scores = [score_grounding(generate(s.prompt, s.image), s) for s in grounding]
    out = {"grounding_n": len(scores),
           "format_validity": float(np.mean([v for v, _, _ in scores])) if scores else None,
           "grounding_accuracy": float(np.mean([h for _, h, _ in scores])) if scores else None,
           "mean_iou": float(np.mean([u for _, _, u in scores])) if scores else None}
    other = [h for s, (_, h, _) in zip(grounding, scores, strict=True) if s.target.label not in NAV_LABELS]
    out |= {"non_nav_n": len(other), "grounding_accuracy_non_nav": float(np.mean(other)) if other else None}
    if actions:
        from vlagent.perception.train.copying import typed_value

        hits = [score_action(generate(s.prompt, s.image), s) for s in actions]
        out |= {"action_n": len(hits), "next_action_accuracy": float(np.mean(hits))}
        # the type steps whose value is in the task line: copied exactly or not (held-out values)
        typed = [h for s, h in zip(actions, hits, strict=True) if typed_value(s) is not None]
        out |= {"typed_n": len(typed), "typed_copy_accuracy": float(np.mean(typed)) if typed else None}
    return out
