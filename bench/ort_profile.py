"""onnxruntime profile files -> kernel milliseconds per operator type (bench/profile_*.py)."""

from __future__ import annotations

import collections
import json
from pathlib import Path


def kernel_ms_by_op(profile: str | Path, first_run: int, runs: int) -> dict[str, float]:
    """Kernel time per operator type, ms per run, over the runs from `first_run` (0-based
    `model_run` index: the runs before it, warm-up or prefill, are left out) divided by `runs`."""
    events = json.loads(Path(profile).read_text())
    start = [e for e in events if e.get("name") == "model_run"][first_run]["ts"]
    per_op: dict[str, float] = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["ts"] >= start and e["name"].endswith("_kernel_time"):
            per_op[e["args"]["op_name"]] += e["dur"] / 1000 / runs
    return dict(sorted(per_op.items(), key=lambda kv: -kv[1]))
