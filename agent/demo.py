"""`vlagent demo`: the agent policy with the shipped model on a fixed set of sim tasks.

`run_demo` loads the model once through the ONNX engine (numpy + onnxruntime; torch is
never imported on this path), then for each task in `DEMO_TASKS` sets up a fresh simulated
phone (1080 x 2400 device px, captured at full size: frame px == device px, and the
processor's smart-resize is the only downscale, exactly as in training), runs
`agent.loop.run_episode` with the agent policy, records the episode and writes its HTML
report. The summary (`summary.json`, `index.html`) holds per task: success (the task's own
check on the phone state at the end), steps, and the p50 latency of each stage.

Stages, milliseconds per step: capture (one screen capture, timed at the source, so the
captures the settle stage makes count too), preprocess and model (from the policy's
Decision: image preprocessing + tokenizing, and vision + prefill + decode), act (safety
gate + actuator), settle (waiting for a stable screen), and step = capture + preprocess +
model + act, the whole step without settling and recording.

The safety gate is the headless default from `SafetyConfig()` (sensitive actions are
denied); no demo task involves a sensitive label, so it never blocks a correct action.
`--all` (every template) includes tasks whose right answer is sensitive (delete a note, pay in
the shop): there the gate still reviews every action and records its verdict, and its
confirmer approves, as an operator would for a simulated phone (`simulator_approves`).
"""

from __future__ import annotations

import html
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vlagent.agent.config import LoopConfig, SafetyConfig, SettleConfig
from vlagent.perception.errors import VlagentError
from vlagent.sim.phone.state import DEFAULT_SIZE as PHONE_SIZE

# Task ids "template:seed". Short oracle trajectories (2-6 steps), seven apps, no scrolling
# and no sensitive words. Seeds from 1001: behaviour cloning uses task seeds below 100, and
# perception/train also skips these exact ids, so the demo runs on tasks training never saw.
DEMO_TASKS: tuple[str, ...] = (
    "settings.wifi_on:1001",
    "settings.wifi_off:1001",
    "settings.bluetooth:1001",
    "settings.airplane_on:1001",
    "settings.bluetooth_on_wifi_off:1001",
    "settings.screen_timeout:1001",
    "system.open_app:1001",
    "system.open_app:1002",
    "camera.take_photo:1001",
    "clock.alarm_disable:1001",
    "browser.open_site:1001",
    "notes.create:1001",
)
# `vlagent demo --all`: every task template at seeds from ALL_TASKS_SEED0, a range no training
# set draws from (behaviour cloning: task seeds below 100; held-out next-action evaluation:
# perception/train/recipe.EVAL_TASK_SEED0 = 500,000 onwards, 7 per template; held-out screens:
# 1,000,000 onwards), so the whole-catalogue success rate is measured on unseen tasks.
ALL_TASKS_SEED0 = 2_000_000
ALL_MAX_STEPS = 24  # the longest template (multi.calculate_to_note) takes 16 oracle steps


def simulator_approves(action, check) -> bool:
    """The --all confirmer: the far side is a simulated phone, so a sensitive action the task
    asks for (Delete, Pay) is approved; the gate's review and its record stay as they are."""
    return True


def all_template_tasks(seeds: int = 1) -> list[str]:
    """Task ids "template:seed" for every sim task template (sim.tasks.TASKS, sorted), `seeds`
    each, at seeds ALL_TASKS_SEED0 + 1 ... + seeds."""
    from vlagent.sim.tasks import TASKS

    if seeds < 1:
        raise DemoError(f"seeds per template must be at least 1, got {seeds}")
    return [f"{tid}:{ALL_TASKS_SEED0 + k}" for tid in sorted(TASKS) for k in range(1, seeds + 1)]


DEMO_DEVICE_SIZE = PHONE_SIZE  # the sim phone's default, device px == frame px (full-size capture)
DEMO_MAX_STEPS = 12
DEMO_LOOP = LoopConfig(max_steps=DEMO_MAX_STEPS, max_seconds=120.0, parse_retries=1,
                       settle=SettleConfig(interval_s=0.05, stable_frames=1, timeout_s=2.0))
STAGE_COLUMNS = ("capture", "preprocess", "model", "act", "settle", "step")
# onnxruntime intra-op threads. The model is tiny: splitting its small matrices across threads
# costs more in synchronisation than it saves, most of all on a busy machine (measured on a
# loaded 2-core machine, 180 visual tokens: vision 33 ms, prefill 24 ms with one thread against
# 64 ms and 79 ms with two).
DEMO_THREADS = 1


class DemoError(VlagentError, ValueError):
    """Bad demo input: an unknown task id, a model directory that is not a package."""


@dataclass
class TaskOutcome:
    """One demo task: its result and p50 latency per stage (ms, see STAGE_COLUMNS)."""

    task: str
    instruction: str
    success: bool
    status: str
    steps: int
    seconds: float
    p50_ms: dict[str, float]
    episode_dir: str
    report: str
    reason: str = ""


@dataclass
class DemoResult:
    out_dir: Path
    outcomes: list[TaskOutcome]
    model: str
    manifest_sha256: str | None
    p50_ms: dict[str, float] = field(default_factory=dict)  # over every step of every task
    index: Path | None = None

    @property
    def success_rate(self) -> float:
        return sum(o.success for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0


class TimedSource:
    """Wraps a FrameSource and remembers how long the capture of each live frame took (s)."""

    def __init__(self, source):
        self.source = source
        self._seconds: dict[int, float] = {}

    def capture(self):
        started = time.perf_counter()
        frame = self.source.capture()
        seconds = time.perf_counter() - started
        # Keyed by id: an id is reused only after its frame is gone, and then overwritten here.
        self._seconds[id(frame)] = seconds
        return frame

    def seconds_of(self, frame) -> float:
        return self._seconds.pop(id(frame), 0.0)


def step_stages(timings: dict[str, float], capture_s: float) -> dict[str, float]:
    """One step's stages (seconds, STAGE_COLUMNS) from the loop's step timings."""
    act = timings.get("safety", 0.0) + timings.get("actuate", 0.0)
    stages = {"capture": capture_s, "preprocess": timings.get("preprocess", 0.0), "model": timings.get("model", 0.0),
              "act": act, "settle": timings.get("settle", 0.0)}
    stages["step"] = stages["capture"] + stages["preprocess"] + stages["model"] + act
    return stages


def p50_ms(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Median of each stage over `rows` (seconds), in ms; empty when there are no rows."""
    if not rows:
        return {}
    return {k: round(statistics.median(r[k] for r in rows) * 1000, 2) for k in STAGE_COLUMNS}


def check_tasks(tasks: Sequence[str]) -> list[str]:
    """The task ids, validated against sim.tasks; DemoError names an unknown one."""
    from vlagent.sim.tasks import TaskError, find_task

    checked = []
    for ref in tasks:
        ref = ref.strip()
        try:
            find_task(ref)
        except TaskError as error:
            raise DemoError(str(error)) from None
        checked.append(ref)
    if not checked:
        raise DemoError("no demo tasks given")
    return checked


def default_out_dir() -> Path:
    return Path("vlagent-demo") / time.strftime("%Y%m%d-%H%M%S")


@dataclass
class TaskRun:
    """One task run by `run_task`: the loop's result, the task handle, and per-step stage
    seconds (`step_stages`) with the number of failed attempts before each step's action."""

    result: object
    handle: object
    rows: list[dict]
    retries: list[int]


def run_task(engine, task_ref: str, *, manifest: str | None = None, seed: int = 0, episode_dir: Path | None = None,
             on_step: Callable[[str, object], None] | None = None, approve_sensitive: bool = False,
             max_steps: int = DEMO_MAX_STEPS) -> TaskRun:
    """Run the agent policy on one sim task (fresh phone, full-size capture, headless gate;
    `approve_sensitive`: the gate's confirmer is `simulator_approves`). With `episode_dir`, the
    episode is recorded there."""
    import tempfile

    from vlagent.agent.config import AgentConfig
    from vlagent.agent.envs import SimPhoneEnv
    from vlagent.agent.loop import run_episode
    from vlagent.agent.metadata import effective_loop, episode_meta
    from vlagent.agent.recorder import EpisodeRecorder
    from vlagent.agent.safety import SafetyGate, make_gate
    from vlagent.policies.agent import AgentPolicy

    with tempfile.TemporaryDirectory(prefix="vlagent-demo-") as scratch:
        env = SimPhoneEnv(0, width=DEMO_DEVICE_SIZE[0], height=DEMO_DEVICE_SIZE[1],
                          state_file=Path(scratch) / "sim-phone.json", fresh=True)  # never saved
        try:
            handle = env.setup_task(task_ref)
            source = TimedSource(env.source)
            policy = AgentPolicy(engine, manifest, seed=seed)
            config = effective_loop(AgentConfig(env=env.spec, task=task_ref, policy="agent",
                                                policy_options={"backend": "onnx"},
                                                loop=DEMO_LOOP.model_copy(update={"max_steps": max_steps}),
                                                safety=SafetyConfig()), handle)
            recorder = None
            if episode_dir is not None:
                recorder = EpisodeRecorder(episode_dir)
                recorder.start(episode_meta(config, env, handle, policy))
            run = TaskRun(None, handle, [], [])
            gate = (SafetyGate(config.safety, simulator_approves, "simulator") if approve_sensitive
                    else make_gate(config.safety, interactive=False))

            def step_done(data) -> None:
                run.rows.append(step_stages(data.timings, source.seconds_of(data.frame)))
                run.retries.append(len(data.attempts))
                if on_step is not None:
                    on_step(task_ref, data)

            run.result = run_episode(source, policy, env.actuator, instruction=handle.instruction,
                                     config=config.loop, gate=gate,
                                     recorder=recorder, success_check=handle.success_check, on_step=step_done)
        finally:
            env.close()
    return run


def _episode(engine, manifest, task_ref: str, index: int, out_dir: Path, on_step,
             options: dict) -> tuple[TaskOutcome, list[dict]]:
    episode_dir = out_dir / "episodes" / f"{index:02d}-{task_ref.replace(':', '-')}"
    run = run_task(engine, task_ref, manifest=manifest, seed=index, episode_dir=episode_dir, on_step=on_step, **options)
    result = run.result
    report = _write_episode_report(episode_dir)
    outcome = TaskOutcome(task_ref, run.handle.instruction, result.success, result.status, result.steps,
                          round(result.seconds, 3), p50_ms(run.rows), str(episode_dir), str(report), result.reason)
    return outcome, run.rows


def _write_episode_report(episode_dir: Path) -> Path:
    from vlagent.agent.episode import load_episode
    from vlagent.agent.report import write_report

    return write_report(load_episode(episode_dir), episode_dir / "report.html", animation="none")


def run_demo(model_dir: Path | None = None, out_dir: Path | None = None, tasks: Sequence[str] = DEMO_TASKS,
             threads: int | None = None, on_task: Callable[[str, int], None] | None = None,
             on_step: Callable[[str, object], None] | None = None, approve_sensitive: bool = False,
             max_steps: int = DEMO_MAX_STEPS) -> DemoResult:
    """Run the agent policy on `tasks` with the package in `model_dir` (default: the shipped
    model) through the ONNX engine; write episodes, reports and the summary under `out_dir`.
    `approve_sensitive` and `max_steps`: see `run_task` (`vlagent demo --all` sets both)."""
    from vlagent.perception.engine import load
    from vlagent.policies.model_options import default_model_dir, manifest_sha256

    tasks = check_tasks(tasks)
    model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
    if not (model_dir / "manifest.json").is_file():
        raise DemoError(f"{model_dir} is not an exported package (no manifest.json); the demo runs packages "
                        "made by `vlagent export`")
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    engine = load(model_dir, backend="onnx", threads=threads or DEMO_THREADS)
    manifest = manifest_sha256(model_dir)
    outcomes, all_rows = [], []
    for index, task_ref in enumerate(tasks):
        if on_task is not None:
            on_task(task_ref, index)
        outcome, rows = _episode(engine, manifest, task_ref, index, out_dir, on_step,
                                 {"approve_sensitive": approve_sensitive, "max_steps": max_steps})
        outcomes.append(outcome)
        all_rows += rows
    result = DemoResult(out_dir, outcomes, str(model_dir), manifest, p50_ms(all_rows))
    write_summary(result)
    result.index = write_index(result)
    return result


def write_summary(result: DemoResult) -> Path:
    path = result.out_dir / "summary.json"
    data = {"model": result.model, "manifest_sha256": result.manifest_sha256, "success_rate": result.success_rate,
            "p50_ms": result.p50_ms, "tasks": [asdict(o) for o in result.outcomes]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def index_page(title: str, body: str) -> str:
    """A demo's index.html around `body` (a summary table whose third column is success yes/no)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>
body{{font-family:sans-serif;margin:16px}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px}}
tr.yes td:nth-child(3){{color:#080}} tr.no td:nth-child(3){{color:#c00}}</style></head><body>
{body}
</body></html>
"""


def write_index(result: DemoResult) -> Path:
    """index.html: the summary table, linking each task to its episode report."""
    head = "".join(f"<th>{c} p50 ms</th>" for c in STAGE_COLUMNS)
    rows = []
    for o in result.outcomes:
        link = Path(o.report).relative_to(result.out_dir).as_posix()
        cells = "".join(f"<td>{o.p50_ms.get(c, 0):.1f}</td>" for c in STAGE_COLUMNS)
        mark = "yes" if o.success else "no"
        rows.append(f'<tr class="{mark}"><td><a href="{html.escape(link)}">{html.escape(o.task)}</a></td>'
                    f"<td>{html.escape(o.instruction)}</td><td>{mark}</td><td>{html.escape(o.status)}</td>"
                    f"<td>{o.steps}</td>{cells}</tr>")
    total = "".join(f"<td>{result.p50_ms.get(c, 0):.1f}</td>" for c in STAGE_COLUMNS)
    page = index_page("vlagent demo", f"""<h1>vlagent demo: {sum(o.success for o in result.outcomes)}/{len(result.outcomes)} tasks succeeded</h1>
<p>Model: {html.escape(result.model)} (manifest sha256 {html.escape(str(result.manifest_sha256))}), ONNX engine.</p>
<table><tr><th>task</th><th>instruction</th><th>success</th><th>status</th><th>steps</th>{head}</tr>
{''.join(rows)}
<tr><td colspan="5">all steps</td>{total}</tr></table>""")
    path = result.out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
