"""The copy rung: type steps drawn again with a fresh value in the task line and the answer."""

import random

import pytest

from vlagent.perception.processor import ImageProcessor
from vlagent.perception.train.copying import HELD_OUT_MINUTES, copy_sample, fresh_value, typed_value
from vlagent.perception.train.recipe import Recipe
from vlagent.perception.train.samples import action_samples
from vlagent.policies.action_grammar import parse_action_line
from vlagent.sim.phone import DEFAULT_SIZE
from vlagent.sim.phone.values import HELD_OUT

PROCESSOR = ImageProcessor(max_pixels=Recipe().max_pixels, threads=1)


def task_line(sample):
    return sample.prompt.split("Task: ")[1].split("\n")[0]


@pytest.mark.parametrize("template", ["contacts.add", "clock.alarm_create_labelled", "messages.send_unicode",
                                      "browser.open_site"])
def test_swapped_steps_copy_a_fresh_value_from_the_task(template):
    steps = [s for s in action_samples(template, 5_000_011, PROCESSOR) if typed_value(s) is not None]
    assert steps, f"{template} types a value from its instruction"
    rng = random.Random(0)
    for step in steps:
        old = typed_value(step)
        for _ in range(5):
            swapped = copy_sample(step, rng)
            new = parse_action_line(swapped.answer, DEFAULT_SIZE).action.text
            assert new != old and task_line(swapped).count(new) == 1 and old not in task_line(swapped)
            assert swapped.image is step.image  # the screen is the same: the field is empty before typing
            # only the task line and the answer changed
            assert swapped.prompt.split("History: ")[1] == step.prompt.split("History: ")[1]


def test_steps_whose_value_is_not_once_in_the_task_are_not_swapped():
    steps = action_samples("settings.wifi_on", 1, PROCESSOR)
    assert all(typed_value(s) is None for s in steps)
    with pytest.raises(ValueError, match="not a swappable type step"):
        copy_sample(steps[0], random.Random(0))


def test_fresh_values_keep_their_kind_and_avoid_held_out_ranges():
    rng = random.Random(1)
    held_out = {v for pool in HELD_OUT.values() for v in pool if isinstance(v, str)}
    for like in ("4", "26", "1234", "+81 19 4379 7106", "gnu.org/software", "Jovana", "Got the tickets"):
        for _ in range(50):
            value = fresh_value(like, rng)
            assert value not in held_out
            if like.isdigit():
                assert value.isdigit() and len(value) != 3 and not (len(value) <= 2 and int(value) in HELD_OUT_MINUTES)
            if like.startswith("+"):
                assert value.startswith("+") and 20 <= int(value.split()[1]) <= 99


def test_the_sampler_draws_the_copy_rung_at_its_share():
    from vlagent.perception.train.loop import Sampler
    from vlagent.perception.train.screens import ScreenPool, render_screen

    actions = action_samples("contacts.add", 5_000_012, PROCESSOR) + action_samples("settings.wifi_on", 1, PROCESSOR)
    pool = ScreenPool([render_screen(0, PROCESSOR)])
    sampler = Sampler(pool, actions, 0.0, random.Random(0), copy_share=0.5)
    assert len(sampler.copy_steps) == 3  # first name, last name, number
    samples, _ = sampler.draw(400)
    swapped = [s for s in samples if s.answer.startswith("type ")]
    assert 150 < len(swapped) < 250
    originals = {s.answer for s in actions}
    assert sum(s.answer not in originals for s in swapped) >= len(swapped) - 2  # fresh values, not the trajectory's
