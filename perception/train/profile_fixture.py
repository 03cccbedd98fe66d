"""Tiny test models that answer in a released family's format (policies.profiles), for the
end-to-end tests of every profile through `vlagent serve` and the remote policy.

A fixture is the shipped demo model fine-tuned for a few minutes on oracle trajectories of a
few sim tasks, written in each profile's own prompt and answer format (`profile_samples`), and
exported at int8 into tests/fixtures/profiles/. One model learns every format at once: the
prompts differ from the first token (each family's system message), which is all it needs to
tell them apart, and one package keeps the fixtures small. It is not trained in CI: the
command below rebuilds it (20 training minutes, about 25 on 2 cores), and the tests only serve it.

    python -m vlagent.perception.train.profile_fixture OUT_DIR [--minutes 20] [--resume]

The fixture memorises one trajectory per task (TASKS, each on its own phone); it says nothing about how well a
tiny model learns these formats, only that the whole path, prompt to tap, works per family.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

import numpy as np

from vlagent.perception.train.samples import Sample, _target_for
from vlagent.sim.phone import DEFAULT_SIZE

# The tasks the end-to-end tests run, each at one seed (its phone): taps only, and taps + typed
# text + a send. One trajectory per task: with several phones behind the same prompt text the
# model must ground in the image, which a few minutes of fine-tuning in a new format did not
# teach reliably (3 seeds, 22 min: the first tap of one seed came from another seed's layout).
TASKS = (("settings.wifi_on", 1), ("messages.send", 2))
PROFILE_NAMES = ("qwen2-vl", "qwen2.5-vl", "ui-tars", "ui-tars-1.5")
MAX_PIXELS = 28 * 28 * 128  # the demo model's budget: 1080x2400 -> 196x448, 128 visual tokens


def profile_samples(profile, template_id: str, seed: int, processor, max_steps: int = 20) -> list[Sample]:
    """Behaviour-cloning samples along the oracle's trajectory, in `profile`'s prompt and answer
    format; the history holds the answers as the model would have written them."""
    from vlagent.actuators.sim import apply_action
    from vlagent.agent.actions import Finish, LongPress, Tap
    from vlagent.perception.chat import render_chat
    from vlagent.perception.image_ops import resize_bicubic, to_rgb_image
    from vlagent.policies.oracle import OraclePolicy
    from vlagent.policies.profiles.base import HistoryItem, Screen
    from vlagent.sim.tasks import make_task

    task = make_task(template_id, seed)
    phone = task.new_phone(*DEFAULT_SIZE)
    oracle = OraclePolicy(task)
    out, history = [], []
    for _ in range(max_steps):
        nodes = phone.ui_tree()
        action = oracle.next_action(nodes)
        frame = phone.render()
        h, w = processor.resized_size(frame.shape[0], frame.shape[1])
        image = np.asarray(resize_bicubic(to_rgb_image(frame), (w, h), None, 1))
        screen = Screen((float(frame.shape[1]), float(frame.shape[0])), (float(w), float(h)))
        target = _target_for(action, nodes) if isinstance(action, (Tap, LongPress)) else None
        answer = profile.format_answer(action, screen, target)
        prompt = render_chat(profile.messages(task.instruction, history, screen))
        out.append(Sample(image, prompt, answer))
        if isinstance(action, Finish):
            break
        history.append(HistoryItem(action, answer, target[0] if target else None))
        apply_action(phone, action)
    return out


def build_samples(processor, names=PROFILE_NAMES) -> list[Sample]:
    from vlagent.policies.profiles import get_profile

    return [sample for name in names for tid, seed in TASKS
            for sample in profile_samples(get_profile(name), tid, seed, processor)]


def main(argv: list[str] | None = None) -> None:
    import dataclasses

    from vlagent.perception.demo_model import path as demo_path
    from vlagent.perception.export.package import export_package
    from vlagent.perception.processor import ImageProcessor
    from vlagent.perception.train.loop import train
    from vlagent.perception.train.recipe import Recipe

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    recipe = dataclasses.replace(Recipe(), max_pixels=MAX_PIXELS, train_screens=8, action_share=1.0, batch=args.batch,
                                 lr=5e-4, warmup=20, nav_weight_from_minutes=0.0, dense_weight=0.0, query_weight=0.0)
    processor = ImageProcessor(min_pixels=recipe.min_pixels, max_pixels=recipe.max_pixels, threads=1)
    samples = build_samples(processor)
    random.Random(0).shuffle(samples)
    print(f"{len(samples)} samples over {', '.join(PROFILE_NAMES)}", flush=True)
    run = args.out_dir / "run"
    result = train(run, recipe, minutes=args.minutes, resume=args.resume, eval_n=0, threads=args.threads,
                   init_from=demo_path(), extra_samples=samples, workers=1, checkpoint_minutes=2.0)
    package = args.out_dir / "package"
    shutil.rmtree(package, ignore_errors=True)
    # The profile is left out of the manifest: each test serves the package under a family's name.
    export_package(run / "checkpoint", package, quantize="int8", log=print)
    (package / "fixture.json").write_text(json.dumps({"tasks": [f"{t}:{s}" for t, s in TASKS],
                                                       "profiles": list(PROFILE_NAMES), "train": result}, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
