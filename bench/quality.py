"""Quantization quality on the trained model: the shipped demo package at fp32 beside its int8 and
int4 exports (int4 in blocks of 32 and 128, prompts on int8 products derived from the 4-bit weights as
`vlagent export` writes them, and blocks of 128 with 4-bit prompts too) and an fp32 re-export (today's
graph), scored on the held-out set the training uses.

    python bench/quality.py [--dir /tmp/vlagent-quality] [--screens 200] [--write docs/PERFORMANCE.md]

The shipped package is turned back into its torch model (`perception.train.from_package`, parity
checked), saved as a checkpoint, and exported at each setting with `perception.export`; each package
is then scored through the ONNX engine (no torch) by `perception.train.final.evaluate_package`:
format validity and centre-in-box grounding on `--screens` held-out screens, mean IoU, and next-action
accuracy on the held-out task steps. Greedy agreement with fp32 on the same queries is the last column.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECTION = "## Quantization quality (trained model)"
# (label, quantize, int4 block, int4 prefill)
SETTINGS = (("fp32, re-exported (fused decoder graph)", "none", 128, "int8"), ("int8", "int8", 128, "int8"),
            ("int4, blocks of 32, int8 prefill", "int4", 32, "int8"),
            ("int4, blocks of 128, 4-bit prefill (`--int4-prefill int4`)", "int4", 128, "int4"),
            ("int4, blocks of 128, int8 prefill (the export default)", "int4", 128, "int8"))


def main() -> None:
    from vlagent.perception.demo_model import path as demo_path
    from vlagent.perception.export.package import export_package
    from vlagent.perception.train.final import engine_generator, evaluate_package
    from vlagent.perception.train.from_package import load_package_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/vlagent-quality"))
    parser.add_argument("--screens", type=int, default=200)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    shipped = Path(demo_path())
    checkpoint = args.dir / "checkpoint"
    if not (checkpoint / "model.safetensors").is_file():
        model = load_package_model(shipped)
        checkpoint.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(checkpoint)
        for name in ("tokenizer.json", "preprocessor_config.json", "generation_config.json"):
            shutil.copy(shipped / name, checkpoint / name)
    packages = {"fp32 (shipped)": shipped}
    for label, mode, block, prefill in SETTINGS:
        out = args.dir / f"{mode}-{block}-{prefill}-prefill"
        if not (out / "manifest.json").is_file():
            shutil.rmtree(out, ignore_errors=True)
            export_package(checkpoint, out, quantize=mode, int4_block=block, int4_prefill=prefill)
        packages[label] = out
    figures = {label: evaluate_package(package, eval_screens=args.screens) for label, package in packages.items()}

    # Greedy agreement with fp32: the same held-out grounding prompts, answers compared as text.
    from vlagent.perception.train.evaluate import held_out_grounding

    answers = {}
    for label, package in packages.items():
        engine, generate = engine_generator(package)
        samples = held_out_grounding(args.screens, engine.processor)
        answers[label] = [generate(s.prompt, s.image) for s in samples]
    reference = answers["fp32 (shipped)"]
    sizes = {label: sum(f.stat().st_size for f in Path(p).iterdir() if f.suffix in (".onnx", ".data", ".npy"))
             for label, p in packages.items()}
    lines = [SECTION, "", f"`python bench/quality.py --screens {args.screens}`: the shipped demo model "
             f"(`perception/demo_model`) and its quantized exports, scored through the ONNX engine on {args.screens} "
             "held-out grounding screens and the held-out next-action steps (perception/train/evaluate.py).", "",
             "| package | MB | format valid | grounding | mean IoU | next action | same answer as fp32 |",
             "|---|---|---|---|---|---|---|"]
    for label in packages:
        f = figures[label]
        same = sum(a == b for a, b in zip(answers[label], reference, strict=True)) / len(reference)
        lines.append(f"| {label} | {sizes[label] / 2**20:.1f} | {f.get('format_validity') or 0:.1%} | "
                     f"{f.get('grounding_accuracy') or 0:.1%} | {f.get('mean_iou') or 0:.3f} | {f.get('next_action_accuracy') or 0:.1%} | "
                     f"{same:.1%} |")
    text = "\n".join(lines) + "\n"
    print(text)
    print(figures)
    if args.write:
        from bench.perf_doc import write_section

        write_section(text, SECTION, args.write)


if __name__ == "__main__":
    main()
