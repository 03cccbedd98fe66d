"""`vlagent fleet` throughput: episodes per minute with 1, 2 and 4 sim devices on Ray, against the
same episodes run one after another in one process.

Every configuration runs the same `--tasks` (default: the demo's 12 tasks) with the agent policy
and the shipped model (ONNX, one intra-op thread per device), through `agent.fleet.run_fleet`
on a local Ray instance started for that run and stopped after it. The in-process baseline calls
the same `agent.fleet.episode.run_device_episode` in a loop, with no Ray. Reported per row: the
whole wall time (Ray start and actor start included), the episodes per minute over it, the
steady-state rate (first episode start to last episode end, from events.jsonl), and the
ratio to the in-process baseline. Rewrites the "## Fleet" section of docs/PERFORMANCE.md.

    python bench/fleet.py [--devices 1,2,4] [--tasks FILE] [--no-write]
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SECTION = "## Fleet"


def _tasks(path: str | None) -> list[str]:
    if path:
        return [line.strip() for line in Path(path).read_text().splitlines() if line.strip() and not line.startswith("#")]
    from vlagent.agent.demo import DEMO_TASKS

    return list(DEMO_TASKS)


def _config() -> dict:
    from vlagent.agent.config import AgentConfig
    from vlagent.agent.fleet.episode import fleet_policy_options

    return AgentConfig(policy="agent", policy_options=fleet_policy_options("agent", {})).model_dump(mode="json")


def in_process(tasks: list[str], scratch: Path) -> dict:
    from vlagent.agent.fleet.episode import run_device_episode

    started = time.perf_counter()
    outcomes = [run_device_episode("sim-phone:1", task, _config(), scratch / f"{i:03d}") for i, task in enumerate(tasks)]
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "steady_s": seconds, "succeeded": sum(o["success"] for o in outcomes)}


def on_ray(tasks: list[str], devices: int, scratch: Path) -> dict:
    from vlagent.agent.fleet.devices import parse_devices
    from vlagent.agent.fleet.scheduler import run_fleet
    from vlagent.agent.fleet.tasks_file import parse_tasks
    from vlagent.agent.registry import ENVS

    out = scratch / f"ray-{devices}"
    result = run_fleet(parse_devices(f"sim-phone:1..{devices}", ENVS), parse_tasks("\n".join(tasks), ENVS),
                       _config(), out)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    first = min(e["time"] for e in events if e["event"] == "start")
    last = max(e["time"] for e in events if e["event"] in ("done", "error"))
    return {"seconds": result.seconds, "steady_s": last - first, "succeeded": sum(r.success for r in result.rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="1,2,4")
    parser.add_argument("--tasks", default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    tasks = _tasks(args.tasks)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vlagent-bench-fleet-") as scratch:
        base = in_process(tasks, Path(scratch) / "alone")
        rows.append(("in one process, no Ray", 1, base))
        for count in [int(c) for c in args.devices.split(",")]:
            rows.append((f"Ray, {count} sim device{'s' if count > 1 else ''}", count,
                         on_ray(tasks, count, Path(scratch))))
    lines = [SECTION, "", f"`python bench/fleet.py` ({len(tasks)} episodes: the demo tasks, agent policy, shipped model, ONNX, one "
             f"thread per device; {os.cpu_count()} cores, {platform.processor() or platform.machine()}; one run).",
             "", "| run | devices | wall s | episodes/min | steady s | steady episodes/min | vs one process | succeeded |",
             "|---|---|---|---|---|---|---|---|"]
    base_rate = len(tasks) / base["seconds"] * 60
    for name, count, r in rows:
        rate, steady = len(tasks) / r["seconds"] * 60, len(tasks) / r["steady_s"] * 60
        lines.append(f"| {name} | {count} | {r['seconds']:.1f} | {rate:.1f} | {r['steady_s']:.1f} | {steady:.1f} | "
                     f"{rate / base_rate:.2f}x | {r['succeeded']}/{len(tasks)} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        sys.path.insert(0, str(BENCH))
        from perf_doc import write_section

        write_section(text, SECTION)


if __name__ == "__main__":
    main()
