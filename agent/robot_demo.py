"""`vlagent demo --robot`: the robot half end to end, offline: sim-robot and ros2-node over loopback DDS.

For each task of `ROBOT_DEMO_TASKS` (or the ones given), `run_robot_demo` starts two processes,
exactly as a user would on two terminals:
- `vlagent sim-robot --task ID --loopback`: the MuJoCo robot, camera out, cmd_vel in, judging
  the task on its own state when the driver goes quiet;
- `vlagent ros2-node --loopback --policy servo --policy-opt grounder=model ...`: the servo on
  the robot grounding package through the ONNX engine (numpy + onnxruntime, no torch), its
  watchdog, and a rosbag2 (MCAP) bag of the episode in OUT/bags/.
Each run gets its own ROS_DOMAIN_ID (so a second demo on the same host does not cross-talk).
Afterwards the bag is read back (`agent.ros2_bag.read_bag`): decisions per second over the
episode and the p50 latency per stage from the node's decision info (frame age at hand-over,
preprocess, vision, prefill, decode, model, decide = the whole policy call), in ms. The summary
goes to OUT/summary.json and OUT/index.html, with one HTML report per task
(`agent.robot_report`: the frames the policy saw, its boxes and its commands).

Task seeds from 2001: the oracle tests use 1000-1012 and the training worlds are seeds from
100,000 (perception.train.robot_frames), so the demo's rooms are held out.
"""

from __future__ import annotations

import html
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vlagent.perception.errors import VlagentError

ROBOT_DEMO_TASKS: tuple[str, ...] = (
    "robot.drive_to:2001",
    "robot.drive_to:2002",
    "robot.drive_to:2003",
    "robot.face:2001",
    "robot.face:2002",
    "robot.stop_in_front:2001",
    "robot.stop_in_front:2002",
    "robot.stop_in_front:2003",
    "robot.find_absent:2001",
    "robot.find_absent:2002",
)
ROBOT_STAGES = ("frame_age", "preprocess", "vision", "prefill", "decode", "model", "decide")
ROBOT_TABLE_STAGES = ("frame_age", "preprocess", "model", "decide")
GRACE_S = 20.0  # beyond a task's time limit: process start, model load, the sim's idle wait


class RobotDemoError(VlagentError, ValueError):
    """Bad robot demo input: an unknown task id, a model directory that is not a package."""


@dataclass
class RobotTaskOutcome:
    """One robot task: the simulator's verdict, the node's outcome, speeds and p50 ms per stage."""

    task: str
    instruction: str
    success: bool
    reason: str
    node_outcome: str
    seconds: float
    decisions: int
    decisions_per_s: float
    p50_ms: dict[str, float]
    stopped: bool
    travelled_m: float
    bag: str
    report: str
    result: dict = field(default_factory=dict)


@dataclass
class RobotDemoResult:
    out_dir: Path
    outcomes: list[RobotTaskOutcome]
    model: str
    manifest_sha256: str | None
    p50_ms: dict[str, float] = field(default_factory=dict)
    index: Path | None = None

    @property
    def success_rate(self) -> float:
        return sum(o.success for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0


def robot_model_dir() -> Path:
    """The shipped robot grounding package."""
    from vlagent.perception.robot_model import path

    return path()


def resolve_robot_model(model_dir: Path | None) -> Path:
    """`model_dir`, or the shipped robot package; RobotDemoError when it is not an exported package."""
    model_dir = Path(model_dir) if model_dir is not None else robot_model_dir()
    if not (model_dir / "manifest.json").is_file():
        raise RobotDemoError(f"{model_dir} is not an exported package (no manifest.json)")
    return model_dir


def check_robot_tasks(tasks: Sequence[str]) -> list[str]:
    from vlagent.sim.robot.tasks import RobotTaskError, make_task

    checked = []
    for ref in tasks:
        try:
            checked.append(make_task(ref.strip()).id)
        except RobotTaskError as error:
            raise RobotDemoError(str(error)) from None
    if not checked:
        raise RobotDemoError("no robot demo tasks given")
    return checked


def preflight(task_id: str) -> None:
    """Fail with one clear line before starting any process: the ros and sim extras are installed
    and MuJoCo can render here (the children would otherwise each fail on their own)."""
    import importlib.util

    missing = [m for m in ("cyclonedds", "rosbags", "mujoco") if importlib.util.find_spec(m) is None]
    if missing:
        raise RobotDemoError(f"the robot demo needs {', '.join(missing)}: pip install 'vlagent[ros,sim]'")
    from vlagent.sim.robot.robot import RobotSim, RobotSimError
    from vlagent.sim.robot.tasks import make_task

    try:
        RobotSim(make_task(task_id).world, 64, 48).close()
    except RobotSimError as error:
        raise RobotDemoError(f"{error} (Debian: bash scripts/install-system.sh installs libosmesa6)") from None


def _cli() -> list[str]:
    return [sys.executable, "-m", "vlagent.agent.cli"]


def _stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM (the node sends zero and closes its bag), then SIGKILL if it does not exit."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def episode_records(bag: Path) -> tuple[list[dict], list[tuple[int, float, float]], dict]:
    """From a node's bag: the decision infos (each with `frame`: the Image message it decided on,
    and `log_ns`), the cmd_vel sent as (log ns, linear, angular), and the bag's topic counts."""
    from vlagent.agent.config import RobotConfig
    from vlagent.agent.ros2_bag import bag_topics, read_bag

    config = RobotConfig()
    infos, commands, frame = [], [], None
    for topic, _type, log_ns, msg in read_bag(bag):
        if topic == config.camera_topic:
            frame = msg
        elif topic == config.info_topic:
            info = json.loads(msg.data)
            info["frame"], info["log_ns"] = frame, log_ns
            infos.append(info)
        elif topic == config.cmd_vel_topic:
            twist = getattr(msg, "twist", msg)
            commands.append((log_ns, float(twist.linear.x), float(twist.angular.z)))
    return infos, commands, {t: n for t, (_, n) in bag_topics(bag).items()}


def stage_p50(infos: Sequence[dict]) -> dict[str, float]:
    """Median ms of each stage over the decisions that have it."""
    out = {}
    for stage in ROBOT_STAGES:
        values = [i["frame_age_ms"] if stage == "frame_age" else i["timings_ms"].get(stage) for i in infos]
        values = [float(v) for v in values if v is not None]
        if values:
            out[stage] = round(statistics.median(values), 2)
    return out


def decisions_per_second(infos: Sequence[dict]) -> float:
    if len(infos) < 2:
        return 0.0
    span = (infos[-1]["log_ns"] - infos[0]["log_ns"]) / 1e9
    return round((len(infos) - 1) / span, 2) if span > 0 else 0.0


def run_robot_task(task_id: str, index: int, model_dir: Path, out_dir: Path, domain: int, threads: int = 1,
                   loopback: bool = True, grounder: str = "model") -> RobotTaskOutcome:
    """One episode: both processes, then the bag read back and the task's report written.
    `grounder="sim-truth"` swaps the model for the simulator's true boxes (the servo's ceiling)."""
    from vlagent.agent.robot_report import write_robot_report
    from vlagent.sim.robot.tasks import make_task

    task = make_task(task_id)
    name = f"{index:02d}-{task.id.replace(':', '-')}"
    bag, logs = out_dir / "bags" / name, out_dir / "logs"
    bag.parent.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ROS_DOMAIN_ID": str(domain)}
    env.pop("CYCLONEDDS_URI", None)  # --loopback writes its own
    net = ["--loopback"] if loopback else []
    sim_cmd = [*_cli(), "sim-robot", "--task", task.id, *net]
    node_cmd = [*_cli(), "ros2-node", *net, "--task", task.instruction, "--policy", "servo",
                "--policy-opt", f"grounder={grounder}", "--policy-opt", f"model={model_dir}", "--policy-opt", "backend=onnx",
                "--policy-opt", f"threads={threads}", "--record", str(bag), "--max-seconds", f"{task.time_limit_s + 5:g}"]
    started = time.monotonic()
    with (logs / f"{name}.sim.log").open("w") as sim_log, (logs / f"{name}.node.log").open("w") as node_log:
        sim = subprocess.Popen(sim_cmd, env=env, stdout=subprocess.PIPE, stderr=sim_log, text=True)
        node = subprocess.Popen(node_cmd, env=env, stdout=node_log, stderr=node_log, text=True)
        sim_out = ""
        try:
            try:
                sim_out, _ = sim.communicate(timeout=task.time_limit_s + GRACE_S)
            except subprocess.TimeoutExpired:
                pass  # no verdict: reported as such below
            try:
                node.wait(timeout=15)  # the node ends by itself once the task is done (then its bag is closed)
            except subprocess.TimeoutExpired:
                pass  # _stop sends it SIGTERM: it sends zero, closes the bag and exits
        finally:
            _stop(node)
            _stop(sim)
    seconds = time.monotonic() - started
    lines = (sim_out or "").strip().splitlines()
    result = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    node_text = (logs / f"{name}.node.log").read_text(errors="replace").strip().splitlines()
    node_outcome = next((line.split(":")[0] for line in reversed(node_text)
                         if line.split(":")[0] in ("finished", "gave_up", "answered", "interrupted", "time_up",
                                                   "policy_failed", "failed")), "no summary")
    infos, commands, counts = episode_records(bag) if (bag / "metadata.yaml").is_file() else ([], [], {})
    report = write_robot_report(out_dir / "reports" / f"{name}.html", task.id, task.instruction, result, infos,
                                commands, counts, node_outcome)
    return RobotTaskOutcome(
        task=task.id, instruction=task.instruction, success=bool(result.get("success")),
        reason=result.get("reason", f"the simulator gave no result (exit {sim.returncode}); see {logs / name}.sim.log"),
        node_outcome=node_outcome, seconds=round(seconds, 2), decisions=len(infos),
        decisions_per_s=decisions_per_second(infos), p50_ms=stage_p50(infos), stopped=bool(result.get("stopped")),
        travelled_m=float(result.get("travelled_m", 0.0)), bag=str(bag), report=str(report), result=result)


def run_robot_demo(model_dir: Path | None = None, out_dir: Path | None = None,
                   tasks: Sequence[str] = ROBOT_DEMO_TASKS, threads: int | None = None, loopback: bool = True,
                   on_task: Callable[[str, int], None] | None = None, grounder: str = "model") -> RobotDemoResult:
    """Run every task (see the module docstring); writes summary.json and index.html."""
    from vlagent.policies.model_options import manifest_sha256

    chosen = check_robot_tasks(tasks)
    model_dir = resolve_robot_model(model_dir)
    out_dir = Path(out_dir) if out_dir is not None else Path("vlagent-demo") / time.strftime("robot-%Y%m%d-%H%M%S")
    preflight(chosen[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    domain = 100 + os.getpid() % 100
    outcomes = []
    for index, task_id in enumerate(chosen):
        if on_task is not None:
            on_task(task_id, index)
        outcomes.append(run_robot_task(task_id, index, model_dir, out_dir, domain, threads or 1, loopback, grounder))
    every = {s: statistics.median(o.p50_ms[s] for o in outcomes if s in o.p50_ms)
             for s in ROBOT_STAGES if any(s in o.p50_ms for o in outcomes)}
    result = RobotDemoResult(out_dir, outcomes, str(model_dir), manifest_sha256(model_dir),
                             {k: round(v, 2) for k, v in every.items()})
    (out_dir / "summary.json").write_text(json.dumps(
        {"model": result.model, "manifest_sha256": result.manifest_sha256, "success_rate": result.success_rate,
         "p50_ms": result.p50_ms, "tasks": [asdict(o) for o in outcomes]}, indent=2) + "\n")
    result.index = write_robot_index(result)
    return result


def write_robot_index(result: RobotDemoResult) -> Path:
    """index.html: the summary table, each task linked to its report."""
    from vlagent.agent.demo import index_page

    head = "".join(f"<th>{s} p50 ms</th>" for s in ROBOT_STAGES)
    rows = []
    for o in result.outcomes:
        link = Path(o.report).relative_to(result.out_dir).as_posix()
        mark = "yes" if o.success else "no"
        cells = "".join(f"<td>{o.p50_ms.get(s, 0):.1f}</td>" for s in ROBOT_STAGES)
        rows.append(f'<tr class="{mark}"><td><a href="{html.escape(link)}">{html.escape(o.task)}</a></td>'
                    f"<td>{html.escape(o.instruction)}</td><td>{mark}</td><td>{html.escape(o.reason)}</td>"
                    f"<td>{o.seconds:.1f}</td><td>{o.decisions}</td><td>{o.decisions_per_s:.1f}</td>{cells}</tr>")
    page = index_page("vlagent robot demo", f"""<h1>vlagent robot demo: {sum(o.success for o in result.outcomes)}/{len(result.outcomes)} tasks succeeded</h1>
<p>Model: {html.escape(result.model)} (manifest sha256 {html.escape(str(result.manifest_sha256))}), ONNX engine;
sim-robot and ros2-node as separate processes over loopback DDS.</p>
<table><tr><th>task</th><th>instruction</th><th>success</th><th>verdict</th><th>time s</th><th>decisions</th>
<th>decisions/s</th>{head}</tr>
{''.join(rows)}</table>""")
    path = result.out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
