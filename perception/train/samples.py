"""Training samples: prompt text + answer text for one screen, and their token ids.

Two kinds, both in the fixed prompt contract of docs/PROMPTS.md (query text BEFORE the image):
- grounding: "Find LABEL" -> `<|object_ref_start|>LABEL<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>`
- next action: "Task: ...\\nHistory: ...\\nNext action?" -> one action-grammar line, written by
  `policies.action_grammar.format_action_line` from oracle trajectories (behaviour cloning), so
  the targets and the policy's parser can never disagree.
`encode` gives ids and labels (-100 everywhere but the answer and its `<|im_end|>`), so the loss
is on answer tokens only.

The oracle's actions are in device px of a `DEFAULT_SIZE` phone (frame px == device px); they
are performed with `actuators.sim.apply_action`, and boxes go norm-1000 -> px through
`perception.coords`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from vlagent.perception.chat import expand_vision_pads
from vlagent.perception.coords import apply_box, norm1000_to_image
from vlagent.perception.special_tokens import (
    BOX_END,
    BOX_START,
    IM_END,
    OBJECT_REF_END,
    OBJECT_REF_START,
)
from vlagent.perception.train.screens import (
    NAV_LABELS,
    Screen,
    Target,
    render_screen,
    targets_of,
)
from vlagent.policies.prompts import agent_prompt, grounding_prompt
from vlagent.sim.phone import DEFAULT_SIZE

IGNORE = -100


@dataclass
class Sample:
    image: np.ndarray  # model-input px, uint8 RGB
    prompt: str  # rendered chat with one image pad, ending with the assistant turn opening
    answer: str  # without the closing <|im_end|>
    target: Target | None = None  # the grounded element, for grounding samples
    # for a query whose object is absent: the image's targets, so the dense heads learn what is
    # there and that no token is the queried one (batch.token_targets with target ABSENT)
    context: list[Target] | None = None
    kind: str | None = None  # what a held-out query tests (e.g. robot_frames.ABSENT_KINDS), for per-kind figures


ABSENT = Target("", (0, 0, 0, 0), (0, 0, 0, 0))  # the `target` of a query for an object not in the image


def box_text(label: str, box) -> str:
    x1, y1, x2, y2 = box
    return f"{OBJECT_REF_START}{label}{OBJECT_REF_END}{BOX_START}({x1},{y1}),({x2},{y2}){BOX_END}"


def grounding_sample(screen: Screen, target: Target) -> Sample:
    return Sample(screen.image, grounding_prompt(target.label), box_text(target.label, target.box), target)


def encode(tokenizer, sample: Sample, image_tokens: int) -> tuple[list[int], list[int]]:
    """Token ids of prompt + answer + <|im_end|>, and labels masking all but the answer."""
    prompt_ids = tokenizer.encode(expand_vision_pads(sample.prompt, [image_tokens]))
    answer_ids = tokenizer.encode(sample.answer + IM_END)
    return prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids


def _target_for(action, nodes, device_size=DEFAULT_SIZE) -> tuple[str, tuple] | None:
    """(label, box device px) of the smallest labelled clickable element under a tap point.

    The box is the target's outward-rounded norm-1000 box mapped back to device px, so the
    grammar (which converts px to norm-1000 again) writes the same ints as a grounding answer.
    """
    x, y = action.x, action.y
    hits = [t for t in targets_of(nodes, device_size)
            if t.bounds[0] <= x < t.bounds[2] and t.bounds[1] <= y < t.bounds[3]]
    if not hits:
        return None
    t = min(hits, key=lambda t: (t.bounds[2] - t.bounds[0]) * (t.bounds[3] - t.bounds[1]))
    return t.label, apply_box(norm1000_to_image(device_size), t.box)


def action_samples(template_id: str, seed: int, processor, max_steps: int = 20, detour: bool = False) -> list[Sample]:
    """Behaviour-cloning samples along the oracle's trajectory for one task (empty if any
    step cannot be written in the grammar, e.g. a long press on an unlabelled element).

    With `detour`, the trajectory starts with a wrong tap (a random labelled element other
    than the oracle's first target, chosen by `seed`) that is in the history but not a sample:
    the samples then teach recovering from a mistake the way the oracle does (home, back),
    which the loop needs when a tap lands on the wrong app.
    """
    from vlagent.actuators.sim import apply_action
    from vlagent.agent.actions import Finish, LongPress, Tap
    from vlagent.perception.image_ops import resize_bicubic, to_rgb_image
    from vlagent.policies.action_grammar import ActionGrammarError, format_action_line, history_line
    from vlagent.policies.oracle import OraclePolicy
    from vlagent.sim.tasks import make_task

    task = make_task(template_id, seed)
    phone = task.new_phone(*DEFAULT_SIZE)
    oracle = OraclePolicy(task)
    out, history = [], []
    if detour:
        nodes = phone.ui_tree()
        first = oracle.next_action(nodes)
        first_hit = _target_for(first, nodes) if isinstance(first, (Tap, LongPress)) else None
        wrong = [t for t in targets_of(nodes) if t.label not in NAV_LABELS
                 and (first_hit is None or t.label != first_hit[0])]
        if not wrong:
            return []
        t = random.Random(seed).choice(wrong)
        tap = Tap(x=(t.bounds[0] + t.bounds[2]) / 2, y=(t.bounds[1] + t.bounds[3]) / 2)
        apply_action(phone, tap)
        history.append(history_line(tap, t.label))
        oracle = OraclePolicy(task)  # plans afresh from the screen the detour left
    for _ in range(max_steps):
        nodes = phone.ui_tree()
        action = oracle.next_action(nodes)
        frame = phone.render()
        h, w = processor.resized_size(frame.shape[0], frame.shape[1])
        image = np.asarray(resize_bicubic(to_rgb_image(frame), (w, h), None, 1))
        label = None
        try:
            if isinstance(action, (Tap, LongPress)):
                found = _target_for(action, nodes)
                if found is None:
                    return []
                label = found[0]
                line = format_action_line(action, DEFAULT_SIZE, found)
            else:
                line = format_action_line(action, DEFAULT_SIZE)
        except ActionGrammarError:
            return []
        out.append(Sample(image, agent_prompt(task.instruction, history), line))
        if isinstance(action, Finish):
            break
        history.append(history_line(action, label))
        apply_action(phone, action)
    return out


def screen_for_seed(seed: int, processor) -> Screen:
    return render_screen(seed, processor)
