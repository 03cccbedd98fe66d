"""curve.jsonl -> a markdown table (time, step, losses, held-out figures) for docs/TRAINING.md.

`python -m perception.train.curves RUN_DIR [--every MINUTES]` prints the table: each held-out
evaluation row with the mean training losses of the steps logged since the previous one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read_curve(run_dir: str | Path) -> list[dict]:
    return [json.loads(line) for line in (Path(run_dir) / "curve.jsonl").read_text().splitlines() if line.strip()]


def _mean(window: list[dict], key: str) -> float:
    return sum(w.get(key, 0.0) for w in window) / len(window) if window else float("nan")


def table(rows: list[dict]) -> str:
    """One row per evaluation; a next-action column when the evaluations scored next actions."""
    actions = any("next_action_accuracy" in row.get("eval", {}) for row in rows)
    out = ["| min | step | answer loss | dense pos | query box | format valid | grounding acc | mean IoU |"
           + (" next action |" if actions else ""),
           "|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if actions else "")]
    window: list[dict] = []
    for row in rows:
        if "eval" not in row:
            window.append(row)
            continue
        e = row["eval"]
        out.append(f"| {row['minutes']:.1f} | {row['step']} | {_mean(window, 'lm'):.3f} | {_mean(window, 'dense_pos'):.3f} | "
                   f"{_mean(window, 'query_box'):.3f} | {e['format_validity']:.2f} | {e['grounding_accuracy']:.2f} | "
                   f"{e['mean_iou']:.3f} |" + (f" {e.get('next_action_accuracy', float('nan')):.3f} |" if actions else ""))
        window = []
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    args = ap.parse_args(argv)
    print(table(read_curve(args.run_dir)))


if __name__ == "__main__":
    main()
