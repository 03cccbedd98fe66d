"""The demo model's training data: sim screens, grounding targets and behaviour-cloning lines."""

import numpy as np
import pytest

from vlagent.perception.grounding import parse_groundings
from vlagent.perception.processor import ImageProcessor
from vlagent.perception.tokenizer import build_small_tokenizer
from vlagent.perception.train.batch import collate, token_targets
from vlagent.perception.train.recipe import Recipe
from vlagent.perception.train.samples import IGNORE, action_samples, encode, grounding_sample
from vlagent.perception.train.screens import random_phone, render_screen
from vlagent.sim.phone import DEFAULT_SIZE

PROCESSOR = ImageProcessor(max_pixels=Recipe().max_pixels, threads=1)


@pytest.mark.parametrize("seed", [0, 5, 11, 42])
def test_answer_boxes_contain_the_elements_pixels(seed):
    screen = render_screen(seed, PROCESSOR)
    phone = random_phone(seed)
    frame = phone.render()
    assert screen.targets, "every pool screen has at least the nav-bar targets"
    w, h = DEFAULT_SIZE
    for target in screen.targets:
        sample = grounding_sample(screen, target)
        (found,) = parse_groundings(sample.answer, strict=True)
        assert found.label == target.label
        x1, y1, x2, y2 = found.boxes[0]
        bx1, by1, bx2, by2 = target.bounds
        # the norm-1000 answer box, back in device px, covers every pixel of the element
        assert x1 * w / 1000 <= bx1 and y1 * h / 1000 <= by1
        assert x2 * w / 1000 >= bx2 and y2 * h / 1000 >= by2
        assert all(v % 10 == 0 for v in found.boxes[0])
        # and the element is really drawn there: its pixels are not all one flat colour
        crop = frame[by1:by2, bx1:bx2].reshape(-1, 3)
        assert len(np.unique(crop, axis=0)) > 1, f"{target.label!r} shows nothing inside its bounds"


def test_labels_are_unique_per_screen_and_screens_vary():
    screens = [render_screen(seed, PROCESSOR) for seed in range(12)]
    for screen in screens:
        labels = [t.label for t in screen.targets]
        assert len(labels) == len(set(labels))
    assert len({s.screen_id for s in screens}) >= 4
    assert screens[0].image.shape == (448, 196, 3)


def test_loss_only_on_answer_tokens():
    tok = build_small_tokenizer()
    screen = render_screen(3, PROCESSOR)
    sample = grounding_sample(screen, screen.targets[0])
    ids, labels = encode(tok, sample, 112)
    answer = [i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE]
    assert tok.decode(answer) == sample.answer + "<|im_end|>"
    assert ids.count(tok.token_id("<|image_pad|>")) == 112
    # the query comes before the image (the fixed prompt contract)
    assert ids.index(tok.token_id("<|vision_start|>")) > len(tok.encode("<|im_start|>user\nFind"))


def test_dense_targets_mark_the_queried_element():
    screen = render_screen(0, PROCESSOR)
    query = max(screen.targets, key=lambda t: (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]))
    labels, boxes, hit = token_targets(screen.targets, query, 16, 7)
    assert hit.sum() >= 1 and set(np.unique(hit)) <= {0.0, 1.0}
    assert (labels[hit == 1] > 0).all() and (boxes[hit == 1] == np.array(query.box) // 10).all()
    tok = build_small_tokenizer()
    batch = collate([grounding_sample(screen, query)], [screen.targets], tok, PROCESSOR, 0)
    assert batch.dense_label.shape[0] == int((batch.input_ids == tok.token_id("<|image_pad|>")).sum())


def test_next_action_samples_follow_the_oracle_in_the_grammar():
    from vlagent.policies.action_grammar import parse_action_line

    samples = action_samples("settings.wifi_on", 1, PROCESSOR)
    lines = [s.answer for s in samples]
    assert lines[0].startswith("tap <|object_ref_start|>Settings<|object_ref_end|>")
    assert lines[-1] == "finish success"
    for s in samples:
        parse_action_line(s.answer, DEFAULT_SIZE)
        assert "History: " in s.prompt and s.prompt.index("Task:") < s.prompt.index("<|vision_start|>")
    assert "History: none" in samples[0].prompt and "History: tap Settings" in samples[1].prompt


def test_repeated_texts_are_named_by_their_unique_content_desc():
    from vlagent.perception.train.screens import targets_of
    from vlagent.sim.tasks import make_task

    task = make_task("shop.buy", 100)
    phone = task.new_phone(*DEFAULT_SIZE)
    phone.open_app("Shop")
    nodes = phone.ui_tree()
    buttons = [n for n in nodes if n.clickable and n.text == "Add to cart"]
    assert len(buttons) >= 2, "the shop lists several products, each with an 'Add to cart' button"
    labels = {t.label for t in targets_of(nodes)}
    assert "Add to cart" not in labels  # ambiguous as a query
    assert {b.content_desc for b in buttons} <= labels  # each still a target, by its unique description


def test_detour_samples_start_with_a_wrong_tap_in_the_history_and_recover():
    from vlagent.policies.action_grammar import parse_action_line

    straight = action_samples("settings.wifi_on", 7, PROCESSOR)
    detour = action_samples("settings.wifi_on", 7, PROCESSOR, detour=True)
    first = detour[0].prompt.split("History: ")[1].split("\n")[0]
    assert first.startswith("tap ") and first != "tap Settings"
    assert detour[0].answer in ("key home", "key back"), "the oracle first leaves the wrong app"
    assert any(s.answer.startswith("tap <|object_ref_start|>Settings") for s in detour)
    assert detour[-1].answer == straight[-1].answer == "finish success"
    for s in detour:
        parse_action_line(s.answer, DEFAULT_SIZE)


def test_training_never_uses_the_demo_tasks():
    from vlagent.agent.demo import DEMO_TASKS
    from vlagent.perception.train.loop import build_actions
    from vlagent.perception.train.samples import action_samples as real

    seeds = sorted({int(ref.split(":")[1]) for ref in DEMO_TASKS})
    log = []
    samples = build_actions(PROCESSOR, seeds[:1], log.append)
    # every template except the demo's own ids at that seed contributed
    expected = sum(len(real(ref.split(":")[0], seeds[0], PROCESSOR)) for ref in _templates_not_in_demo(seeds[0]))
    assert len(samples) == expected and "oracle trajectories" in log[0]


def _templates_not_in_demo(seed):
    from vlagent.agent.demo import DEMO_TASKS
    from vlagent.sim.tasks import TASKS

    return [f"{tid}:{seed}" for tid in sorted(TASKS) if f"{tid}:{seed}" not in DEMO_TASKS]
