"""The text-only copy rung, and the probe that measures when the demo LM learns to copy.

The v2 run's copy rung (perception.train.copying) put 25% of samples on `type "X"` steps with a
fresh X and still copied 0 of 20 held-out values. This probe isolates the language model: the
agent prompt of a real `type` step, with no image (so nothing stands between the task line and
the answer), the value X replaced by a random one, and the answer `type "X"`. Training only on
these, with the LM's own loss, shows whether (and after how many steps) this width and depth
forms a copy circuit at all, and whether it transfers to the real prompts with the screen image
between the task and the answer (`probe`: the held-out next-action steps that type a value from
the task line, whose values are from the held-out regime).

The same samples are a rung of the training mix (`Recipe.text_copy_share`: LM-only batches
between the image batches of `perception.train.loop`), where the circuit they form is used by the
image prompts' `type` steps.

Values (`random_value`): half of the draws are `copying.fresh_value` (the value's own kind:
digits, a phone number, a site, a name, a phrase), half random character strings over letters,
digits, punctuation and some non-Latin letters, so no prior over a field's values predicts
them. Never a held-out value (sim.phone.values) or a held-out number range.

Written by hand: the probe is a property of our own prompt, grammar and small tokenizer.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from vlagent.perception.chat import render_chat
from vlagent.perception.special_tokens import ENDOFTEXT, IM_END
from vlagent.perception.train.copying import HELD_OUT_MINUTES, fresh_value
from vlagent.sim.phone.values import is_held_out

_ALPHABET = ("abcdefghijklmnopqrstuvwxyz" "ABCDEFGHIJKLMNOPQRSTUVWXYZ" "0123456789" "     .,!?:-'@#&+"
             "éüñßøçàö" "жлмиг" "ωλσ")


@dataclass(frozen=True)
class TypeStep:
    """A `type` step of an oracle trajectory, as text: the instruction, the history lines before
    it and the typed value (which occurs once in the instruction)."""
    instruction: str
    history: tuple[str, ...]
    value: str


def type_steps(template_ids, seeds, max_steps: int = 20) -> list[TypeStep]:
    """The `type` steps of the oracle trajectories (no rendering: only the UI tree is read)."""
    from vlagent.actuators.sim import apply_action
    from vlagent.agent.actions import Finish, LongPress, Tap, TypeText
    from vlagent.perception.train.samples import _target_for
    from vlagent.policies.action_grammar import history_line
    from vlagent.policies.oracle import OraclePolicy
    from vlagent.sim.phone import DEFAULT_SIZE
    from vlagent.sim.tasks import make_task

    out = []
    for tid in template_ids:
        for seed in seeds:
            task = make_task(tid, seed)
            phone, oracle, history = task.new_phone(*DEFAULT_SIZE), OraclePolicy(task), []
            for _ in range(max_steps):
                nodes = phone.ui_tree()
                action = oracle.next_action(nodes)
                if isinstance(action, Finish):
                    break
                label = None
                if isinstance(action, (Tap, LongPress)):
                    found = _target_for(action, nodes)
                    label = found[0] if found else None
                if (isinstance(action, TypeText) and not action.submit and action.text
                        and task.instruction.count(action.text) == 1):
                    out.append(TypeStep(task.instruction, tuple(history), action.text))
                history.append(history_line(action, label))
                apply_action(phone, action)
    return out


def random_value(like: str, rng: random.Random) -> str:
    """A value to copy: `fresh_value(like)` or a random string of 1-16 characters."""
    if rng.random() < 0.5:
        return fresh_value(like, rng)
    while True:
        value = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 16))).strip()
        if not value or "  " in value:
            continue
        if value.isdigit() and (len(value) == 3 or int(value) in HELD_OUT_MINUTES):
            continue
        if is_held_out(value):
            continue
        return value


def text_prompt(instruction: str, history) -> str:
    """The agent prompt (policies.prompts) with its image part left out."""
    from vlagent.policies.prompts import history_text

    text = f"Task: {instruction}\nHistory: {history_text(list(history))}\nNext action?"
    return render_chat([{"role": "user", "content": [{"type": "text", "text": text}]}])


def text_copy_sample(step: TypeStep, rng: random.Random) -> tuple[str, str]:
    """(prompt, answer) with the step's value replaced by a random one in the task and the answer."""
    from vlagent.agent.actions import TypeText
    from vlagent.policies.action_grammar import format_action_line
    from vlagent.sim.phone import DEFAULT_SIZE

    while True:
        new = random_value(step.value, rng)
        if new != step.value and "\n" not in new and new not in step.instruction.replace(step.value, ""):
            break
    instruction = step.instruction.replace(step.value, new, 1)
    return text_prompt(instruction, step.history), format_action_line(TypeText(text=new), DEFAULT_SIZE)


def text_lm_loss(model, pairs, tokenizer, pad_id: int) -> torch.Tensor:
    """The answer-token cross entropy of the LM on text-only (prompt, answer) pairs."""
    ids, mask, labels = lm_batch(pairs, tokenizer, pad_id)
    logits = model(ids, attention_mask=mask)
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100)


def lm_batch(pairs, tokenizer, pad_id: int):
    """Right-padded ids, attention mask and labels (answer + <|im_end|> only) of (prompt, answer) pairs."""
    rows = []
    for prompt, answer in pairs:
        p, a = tokenizer.encode(prompt), tokenizer.encode(answer + IM_END)
        rows.append((p + a, [-100] * len(p) + a))
    n = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), n), pad_id)
    labels = torch.full((len(rows), n), -100)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, (x, y) in enumerate(rows):
        ids[i, :len(x)], labels[i, :len(y)], mask[i, :len(x)] = torch.tensor(x), torch.tensor(y), 1
    return ids, mask, labels


def probe(out_dir: str | Path, init: str | Path | None, steps: int, batch: int = 32, lr: float = 7e-4,
        seed: int = 0, eval_every: int = 100, eval_n: int = 100, train_seeds=range(5_000_000, 5_000_040),
        log=print) -> list[dict]:
    """Train on probe samples for `steps` steps; every `eval_every` steps: exact-copy rate on
    `eval_n` held-out probe samples (text only) and on the real held-out type steps (with image).
    The weights end in `out_dir`/model.pt ({"model": state dict}), which `vlagent train-demo
    --init` takes: the copy circuit formed here, then the full mix (perception/train/loop.py)."""
    from vlagent.perception.processor import ImageProcessor
    from vlagent.perception.tokenizer import build_small_tokenizer
    from vlagent.perception.train.copying import typed_value
    from vlagent.perception.train.evaluate import held_out_actions
    from vlagent.perception.train.loop import torch_generator
    from vlagent.perception.train.recipe import Recipe, model_config
    from vlagent.sim.tasks import TASKS

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    rng, eval_rng = random.Random(seed), random.Random(10_000 + seed)
    tokenizer = build_small_tokenizer()
    pad_id = tokenizer.token_id(ENDOFTEXT)
    if init is not None:
        from vlagent.perception.train.from_package import load_package_model

        model = load_package_model(init)
    else:
        from vlagent.perception.model.qwen2vl import Qwen2VL

        model = Qwen2VL(model_config(Recipe(), tokenizer))
    t0 = time.perf_counter()
    steps_train = type_steps(sorted(TASKS), train_seeds)
    steps_eval = type_steps(sorted(TASKS), range(6_000_000, 6_000_010))
    log(f"{len(steps_train)} train / {len(steps_eval)} eval type steps ({time.perf_counter() - t0:.0f} s)")
    probe_eval = [text_copy_sample(eval_rng.choice(steps_eval), eval_rng) for _ in range(eval_n)]
    processor = ImageProcessor(min_pixels=Recipe().min_pixels, max_pixels=Recipe().max_pixels, threads=1)
    real_eval = [s for s in held_out_actions(processor) if typed_value(s) is not None]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05, betas=(0.9, 0.98))
    curve = (out / "curve.jsonl").open("a")
    rows = []

    def evaluate(step: int, loss: float | None) -> None:
        model.eval()
        generate = torch_generator(model, tokenizer, processor)
        text_ok = sum(generate(p, None) == a for p, a in probe_eval) / len(probe_eval)
        answers = [generate(s.prompt, s.image) for s in real_eval]
        real_ok = sum(a.strip() == s.answer.strip() for a, s in zip(answers, real_eval, strict=True)) / max(1, len(real_eval))
        model.train()
        row = {"step": step, "minutes": round((time.perf_counter() - t0) / 60, 2), "loss": loss,
               "text_copy": round(text_ok, 3), "image_copy": round(real_ok, 3), "image_n": len(real_eval),
               "example": answers[0] if answers else None}
        rows.append(row)
        curve.write(json.dumps(row, ensure_ascii=False) + "\n")
        curve.flush()
        log(json.dumps(row, ensure_ascii=False))

    evaluate(0, None)
    model.train()
    losses = []
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, step / 50)
        loss = text_lm_loss(model, [text_copy_sample(rng.choice(steps_train), rng) for _ in range(batch)],
                            tokenizer, pad_id)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if step % eval_every == 0 or step == steps:
            evaluate(step, round(sum(losses) / len(losses), 4))
            losses = []
    curve.close()
    torch.save({"model": model.state_dict(), "step": steps}, out / "model.pt")
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--init", default=None, help="an fp32 package directory (default: a fresh model)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=7e-4)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    probe(args.out, args.init, args.steps, args.batch, args.lr, eval_every=args.eval_every)
