"""Prefix reuse: the prefill of an agent episode's second step with and without the KV cache of
the text it shares with the first step (perception.engine_onnx, `prefix_reuse`).

    python bench/prefix.py --model PACKAGE [--threads 2] [--rounds 5] [--write docs/PERFORMANCE.md]

For each prompt profile (vlagent's short prompt, Qwen2.5-VL's mobile_use with its ~1,500-token
tool schema, UI-TARS 1.5), one episode's first two steps: step 1 (cold), then step 2 with reuse
(after step 1 filled the cache) and step 2 without (cache off), interleaved over `--rounds`,
median ms. Vision features are computed once per screenshot outside the timing: this is the
decoder's prefill alone. PACKAGE is any exported package; at the Qwen2-VL-2B shapes build one
with `python bench/engine.py --dir DIR` (its onnx-int8 package), random weights being enough for
timing. The prompts are rendered with the package's own tokenizer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROFILES = ("vlagent", "qwen2.5-vl", "ui-tars-1.5")
SECTION = "## Prefix reuse"


def episode_prompts(profile_name: str, model_size) -> list[str]:
    from vlagent.agent.actions import Tap
    from vlagent.perception.chat import render_chat
    from vlagent.policies.profiles import get_profile
    from vlagent.policies.profiles.base import HistoryItem, Screen

    profile = get_profile(profile_name)
    screen = Screen((1080.0, 2400.0), model_size)
    tap = Tap(x=540, y=300)
    answer = profile.format_answer(tap, screen, ("Settings", (500.0, 250.0, 580.0, 350.0)))
    task = "Send 'on my way' to Grace García"
    return [render_chat(profile.messages(task, [], screen)),
            render_chat(profile.messages(task, [HistoryItem(tap, answer, "Settings")], screen))]


def main() -> None:
    from vlagent.perception import engine as E
    from vlagent.sim.phone import Phone

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-pixels", type=int, default=None, help="image budget, px (default: the package's)")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    options = {"max_pixels": args.max_pixels} if args.max_pixels else {}
    engine = E.load(args.model, backend="onnx", threads=args.threads, **options)
    backend = engine.backend
    shots = [Phone(seed=1).render(), Phone(seed=2).render()]
    h, w = engine.processor.resized_size(2400, 1080)

    def prefill(prompt, image, reuse):
        prepared = engine.prepare([prompt], [[image]])
        features = features_of[id(image)]
        backend.prefix_reuse = reuse
        started = time.perf_counter()
        backend.prefill(prepared.ids, prepared.positions, prepared.deltas, features, None, None)
        return (time.perf_counter() - started) * 1000, len(prepared.ids[0]), backend.last_reused

    features_of = {}
    for shot in shots:
        vision = engine.prepare(["<|vision_start|><|image_pad|><|vision_end|>"], [[shot]]).image_input
        features_of[id(shot)] = backend.encode(vision.pixel_values, vision.grid_thw)
    rows = []
    for name in PROFILES:
        first, second = episode_prompts(name, (float(w), float(h)))
        times = {"first": [], "reused": [], "full": []}
        for _ in range(args.rounds):
            backend.prefix = None
            ms, first_tokens, _ = prefill(first, shots[0], True)
            times["first"].append(ms)
            ms, tokens, reused = prefill(second, shots[1], True)
            times["reused"].append(ms)
            backend.prefix = None
            ms, _, _ = prefill(second, shots[1], False)
            times["full"].append(ms)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((name, first_tokens, tokens, reused, med))
        print(name, first_tokens, tokens, reused, {k: round(v, 1) for k, v in med.items()}, flush=True)
    t = engine.config.text
    lines = [SECTION, "",
             f"`python bench/prefix.py --model {args.model} --threads {args.threads} --rounds {args.rounds}`: "
             f"decoder {t.num_hidden_layers} layers x hidden {t.hidden_size} ({t.num_attention_heads} heads, "
             f"{t.num_key_value_heads} KV heads), vocab {t.vocab_size}, "
             f"a 1080x2400 screenshot at {h // 28 * (w // 28)} visual tokens "
             f"({w}x{h}), {args.threads} threads, median of {args.rounds} interleaved rounds. Prefill of the decoder "
             "only (vision features computed beforehand), prompts in the package's tokenizer. Step 2 repeats step 1's "
             "system message and task; its history and screenshot are new. The reuse stops at the first image, so "
             "what it saves is the share of the prompt before it: large for the Qwen profiles' tool schema, small "
             "for vlagent's short prompt.", "",
             "| profile | step 1 tokens | step 1 prefill ms | step 2 tokens | reused | step 2 prefill ms, no reuse "
             "| step 2 prefill ms, reuse | saved |", "|---|---|---|---|---|---|---|---|"]
    for name, first_tokens, tokens, reused, med in rows:
        lines.append(f"| {name} | {first_tokens} | {med['first']:.1f} | {tokens} | {reused} | {med['full']:.1f} | "
                     f"{med['reused']:.1f} | {1 - med['reused'] / med['full']:.0%} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        from bench.perf_doc import write_section

        write_section(text, SECTION, args.write)


if __name__ == "__main__":
    main()
