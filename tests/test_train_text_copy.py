"""The text-only copy rung: type-step prompts without an image, a random value to copy."""

import random

import pytest
import torch

from vlagent.perception.special_tokens import ENDOFTEXT, IMAGE_PAD, VISION_START
from vlagent.perception.tokenizer import build_small_tokenizer
from vlagent.perception.train.copying import HELD_OUT_MINUTES
from vlagent.perception.train.text_copy import (
    TypeStep,
    lm_batch,
    random_value,
    text_copy_sample,
    text_lm_loss,
    type_steps,
)
from vlagent.policies.action_grammar import parse_action_line
from vlagent.sim.phone import DEFAULT_SIZE

TOKENIZER = build_small_tokenizer()


@pytest.fixture(scope="module")
def steps():
    return type_steps(["browser.open_site", "clock.alarm_create", "messages.send_unicode", "contacts.add"],
                      range(5_000_000, 5_000_003))


def task_line(prompt):
    return prompt.split("Task: ")[1].split("\n")[0]


def test_type_steps_are_the_oracles_typed_values_once_in_the_instruction(steps):
    assert len(steps) >= 8
    kinds = {s.instruction.split()[0] for s in steps}
    assert {"Open", "Set", "Send"} <= kinds or len(kinds) >= 3
    for step in steps:
        assert step.instruction.count(step.value) == 1
        # the history is what came before the type step: the value was not typed yet
        assert all(step.value not in line for line in step.history if line.startswith("type"))


def test_samples_copy_a_new_value_from_the_task_line_with_no_image(steps):
    rng = random.Random(0)
    for step in steps:
        for _ in range(10):
            prompt, answer = text_copy_sample(step, rng)
            new = parse_action_line(answer, DEFAULT_SIZE).action.text
            assert new != step.value and task_line(prompt).count(new) == 1
            assert step.value not in task_line(prompt)
            assert IMAGE_PAD not in prompt and VISION_START not in prompt
            assert prompt.endswith("<|im_start|>assistant\n")
            assert "History: " + ("; ".join(step.history[-4:]) or "none") in prompt


def test_random_values_avoid_held_out_values_and_ranges():
    rng = random.Random(3)
    from vlagent.sim.phone.values import HELD_OUT

    held_out = {v if isinstance(v, str) else " ".join(v) for pool in HELD_OUT.values() for v in pool}
    name_parts = set(HELD_OUT["first_names"]) | set(HELD_OUT["last_names"])
    for like in ("4", "26", "+81 19 4379 7106", "gnu.org", "Jovana", "Got the tickets"):
        for _ in range(300):
            value = random_value(like, rng)
            assert value and value == value.strip() and "  " not in value and "\n" not in value
            # as sim.phone.values.generate promises: never a held-out value, never a held-out name part
            assert value not in held_out and not set(value.split()) & name_parts
            if value.isdigit():
                assert len(value) != 3 and int(value) not in HELD_OUT_MINUTES


def test_the_batch_masks_all_but_the_answer():
    pairs = [text_copy_sample(TypeStep("Open abc.de in the Browser", ("tap Browser",), "abc.de"),
                              random.Random(i)) for i in range(3)]
    pad = TOKENIZER.token_id(ENDOFTEXT)
    ids, mask, labels = lm_batch(pairs, TOKENIZER, pad)
    for row, (prompt, answer) in enumerate(pairs):
        n = int(mask[row].sum())
        kept = labels[row][labels[row] != -100].tolist()
        assert TOKENIZER.decode(kept) == answer + "<|im_end|>"
        assert ids[row, :n].tolist()[-len(kept):] == kept
        assert TOKENIZER.decode(ids[row, :n - len(kept)].tolist()) == prompt
        assert (ids[row, n:] == pad).all()


def test_a_few_steps_on_one_batch_lower_the_copy_loss():
    from vlagent.perception.model.qwen2vl import Qwen2VL
    from vlagent.perception.train.recipe import Recipe, model_config

    torch.manual_seed(0)
    model = Qwen2VL(model_config(Recipe(hidden=48, heads=2, intermediate=96, layers=2), TOKENIZER))
    rng = random.Random(1)
    step = TypeStep("Send 'hi' to Ana", ("tap Messages",), "hi")
    pairs = [text_copy_sample(step, rng) for _ in range(8)]
    pad = TOKENIZER.token_id(ENDOFTEXT)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    with torch.no_grad():
        first = float(text_lm_loss(model, pairs, TOKENIZER, pad))
    for _ in range(15):
        loss = text_lm_loss(model, pairs, TOKENIZER, pad)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        assert float(text_lm_loss(model, pairs, TOKENIZER, pad)) < 0.8 * first


def test_the_sampler_draws_text_batches_at_their_share(steps):
    from vlagent.perception.train.loop import Sampler
    from vlagent.perception.train.screens import ScreenPool

    pool = ScreenPool([])
    sampler = Sampler(pool, [], 0.0, random.Random(0), text_steps=steps, text_share=0.3, text_batch=5)
    draws = [sampler.wants_text() for _ in range(2000)]
    assert 0.25 < sum(draws) / len(draws) < 0.35
    batch = sampler.draw_text()
    assert len(batch) == 5 and all(answer.startswith('type "') for _, answer in batch)
    assert not any(Sampler(pool, [], 0.0, random.Random(0), text_steps=[], text_share=0.3).wants_text()
                   for _ in range(100))


def test_the_loop_trains_text_copy_steps_and_logs_their_loss(tmp_path):
    import json

    from vlagent.perception.train.loop import train
    from vlagent.perception.train.recipe import Recipe

    recipe = Recipe(train_screens=6, action_share=0.0, text_copy_share=0.5, text_copy_seeds=1, text_copy_batch=4,
                    batch=2, hidden=48, heads=2, intermediate=96, layers=2, vision_embed=32, vision_heads=2)
    train(tmp_path, recipe, steps=20, eval_n=0, workers=1, log=lambda _: None)
    rows = [json.loads(line) for line in (tmp_path / "curve.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "lm" in r or "text_copy_lm" in r]
    assert any("text_copy_lm" in r for r in logged) and any("lm" in r for r in logged)
    assert all(r["samples_per_s"] > 0 for r in logged)


def test_the_curve_table_averages_each_loss_over_the_steps_that_have_it():
    from vlagent.perception.train.curves import table

    rows = [{"step": 10, "minutes": 1.0, "lm": 0.5, "dense_pos": 1.0, "query_box": 2.0},
            {"step": 20, "minutes": 2.0, "text_copy_lm": 3.0},
            {"step": 30, "minutes": 3.0, "lm": 0.3, "dense_pos": 1.0, "query_box": 2.0, "text_copy_lm": 1.0},
            {"step": 30, "minutes": 3.0, "eval": {"format_validity": 1.0, "grounding_accuracy": 0.9, "mean_iou": 0.8,
                                                  "next_action_accuracy": 0.7, "typed_n": 20,
                                                  "typed_copy_accuracy": 0.25}}]
    lines = table(rows).splitlines()
    assert "text copy loss" in lines[0] and "typed values copied" in lines[0]
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[2] == "0.400"  # lm over the two image steps, not diluted by the text-only one
    assert cells[-2] == "2.000" and cells[-1] == "0.250 (20)"


def test_the_torch_generator_answers_text_only_prompts_as_a_cacheless_greedy_decode():
    from vlagent.perception.model.qwen2vl import Qwen2VL
    from vlagent.perception.processor import ImageProcessor
    from vlagent.perception.train.loop import torch_generator
    from vlagent.perception.train.recipe import Recipe, model_config

    torch.manual_seed(2)
    model = Qwen2VL(model_config(Recipe(hidden=48, heads=2, intermediate=96, layers=2), TOKENIZER)).eval()
    prompt, _ = text_copy_sample(TypeStep("Send 'hi' to Ana", (), "hi"), random.Random(0))
    got = torch_generator(model, TOKENIZER, ImageProcessor(threads=1), max_new_tokens=6)(prompt, None)
    ids = TOKENIZER.encode(prompt)
    with torch.no_grad():
        for _ in range(6):
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    want = ids[len(TOKENIZER.encode(prompt)):]
    eos = TOKENIZER.token_id("<|im_end|>")
    want = want[:want.index(eos)] if eos in want else want
    assert got == TOKENIZER.decode(want)


@pytest.mark.parametrize("bad", [{"text_copy_share": 1.5}, {"text_copy_share": -0.1}, {"copy_share": 2.0},
                                 {"text_copy_share": 0.5, "text_copy_batch": 0}])
def test_recipes_refuse_shares_outside_0_1_and_empty_text_batches(bad):
    from vlagent.perception.train.recipe import Recipe

    with pytest.raises(ValueError, match="text_copy|share"):
        Recipe(**bad)


def test_training_starts_from_a_model_only_file_as_the_probe_writes_it(tmp_path):
    """The probe's model.pt ({"model": state dict}) initialises train-demo's model; the dense
    heads, which the probe has not got, keep their fresh weights."""
    import torch

    from vlagent.perception.model.qwen2vl import Qwen2VL
    from vlagent.perception.tokenizer import build_small_tokenizer
    from vlagent.perception.train.heads import TrainModel
    from vlagent.perception.train.loop import load_weights
    from vlagent.perception.train.recipe import Recipe, model_config

    recipe = Recipe(hidden=48, heads=2, intermediate=96, layers=2, vision_embed=32, vision_heads=2)
    config = model_config(recipe, build_small_tokenizer())
    torch.manual_seed(1)
    source = Qwen2VL(config)
    torch.save({"model": source.state_dict(), "step": 7}, tmp_path / "model.pt")
    torch.manual_seed(2)
    trainer = TrainModel(Qwen2VL(config))
    heads = {k: v.clone() for k, v in trainer.state_dict().items() if not k.startswith("model.")}
    lines = []
    load_weights(trainer, tmp_path / "model.pt", lines.append)
    for name, value in source.state_dict().items():
        assert torch.equal(trainer.model.state_dict()[name], value), name
    assert all(torch.equal(trainer.state_dict()[k], v) for k, v in heads.items())
    assert "step 7" in lines[0]


def test_the_training_record_names_a_model_only_earlier_stage(tmp_path):
    import torch

    from vlagent.perception.train.final import earlier_stage

    torch.save({"model": {}, "step": 1500}, tmp_path / "model.pt")
    assert earlier_stage(tmp_path / "model.pt") == {"state": str(tmp_path / "model.pt"), "steps": 1500,
                                                   "kind": "model only (perception/train/text_copy.py)"}
