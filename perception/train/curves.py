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
    """The mean of `key` over the logged rows that have it (text-only copy steps log only their own loss)."""
    values = [w[key] for w in window if key in w]
    return sum(values) / len(values) if values else float("nan")


def table(rows: list[dict]) -> str:
    """One row per evaluation; a next-action column when the evaluations scored next actions, and
    the text-only copy loss and the held-out typed values copied when the run has them."""
    actions = any("next_action_accuracy" in row.get("eval", {}) for row in rows)
    typed = any(row.get("eval", {}).get("typed_copy_accuracy") is not None for row in rows)
    text = any("text_copy_lm" in row for row in rows)
    out = ["| min | step | answer loss | dense pos | query box | format valid | grounding acc | mean IoU |"
           + (" next action |" if actions else "") + (" text copy loss |" if text else "")
           + (" typed values copied |" if typed else ""),
           "|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if actions else "") + ("---:|" if text else "")
           + ("---:|" if typed else "")]
    window: list[dict] = []
    for row in rows:
        if "eval" not in row:
            window.append(row)
            continue
        e = row["eval"]
        out.append(f"| {row['minutes']:.1f} | {row['step']} | {_mean(window, 'lm'):.3f} | {_mean(window, 'dense_pos'):.3f} | "
                   f"{_mean(window, 'query_box'):.3f} | {e['format_validity']:.2f} | {e['grounding_accuracy']:.2f} | "
                   f"{e['mean_iou']:.3f} |" + (f" {e.get('next_action_accuracy', float('nan')):.3f} |" if actions else "")
                   + (f" {_mean(window, 'text_copy_lm'):.3f} |" if text else "")
                   + (f" {e.get('typed_copy_accuracy') or 0:.3f} ({e.get('typed_n', 0)}) |" if typed else ""))
        window = []
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    args = ap.parse_args(argv)
    print(table(read_curve(args.run_dir)))


if __name__ == "__main__":
    main()
