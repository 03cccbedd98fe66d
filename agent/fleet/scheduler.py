"""Hand the fleet's episodes to its device workers, survive dead workers, keep every episode.

`run_fleet` starts (or joins, with `ray_address`) a Ray instance, creates one `DeviceWorker`
per device and keeps every idle worker busy with the first waiting episode it may run: one of
its env kind, or of any kind for free-text tasks. When a worker's process dies mid-episode the
episode goes back to the front of the queue, pinned to that worker's env kind and kept off that
worker while another live worker of the kind exists; the dead attempt's directory stays in
`OUT/attempts/` with whatever steps it recorded. After `max_attempts` deaths the episode is
reported lost. A task that fails (an error, not a death) is not retried: it is an outcome.

Outputs under `out_dir`: `episodes/NNN-TASK/` (one recorded episode per task, with its
report.html), `attempts/` (the attempts in progress and those whose worker died),
`events.jsonl` (start/done/died/error, one JSON line each, as they happen), and the summary
(`agent.fleet.summary`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlagent.agent.fleet.devices import Device
from vlagent.agent.fleet.tasks_file import FleetTask
from vlagent.perception.errors import VlagentError, error_text

DEFAULT_MAX_ATTEMPTS = 3
WAIT_S = 0.25  # how often the driver looks at its workers while nothing finishes
PID_TIMEOUT_S = 120.0  # a restarting actor answers after its process is back


class FleetError(VlagentError, RuntimeError):
    """A fleet that cannot start: an output directory in use, tasks no device can run, a Ray
    cluster without the devices' resources."""


@dataclass
class EpisodeRow:
    """One task's episode in the aggregate table. status is the loop's (finished, max_steps,
    ...), "error" when the episode raised, or "lost" when every attempt's worker died."""

    index: int
    task: str
    kind: str | None
    device: str | None = None
    status: str = "pending"
    success: bool = False
    steps: int = 0
    seconds: float = 0.0
    reason: str = ""
    instruction: str = ""
    attempts: int = 0
    episode_dir: str | None = None
    report: str | None = None
    died: list[dict[str, Any]] = field(default_factory=list)  # attempts whose worker died


@dataclass
class DeviceStats:
    device: str
    done: int = 0
    succeeded: int = 0
    died: int = 0
    running: str | None = None
    alive: bool = True


@dataclass
class FleetResult:
    out_dir: Path
    rows: list[EpisodeRow]
    devices: list[DeviceStats]
    seconds: float
    ray: str  # "local" or the cluster address
    index: Path | None = None

    @property
    def episodes_per_minute(self) -> float:
        finished = sum(row.status not in ("pending", "lost") for row in self.rows)
        return finished / self.seconds * 60 if self.seconds > 0 else 0.0


def slug(text: str, limit: int = 48) -> str:
    """A file-name-safe form of a task or device spec."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:limit] or "task"


@dataclass
class _Worker:
    device: Device
    handle: Any
    stats: DeviceStats
    pid: int | None = None


@dataclass
class _Running:
    worker: _Worker
    row: EpisodeRow
    attempt_name: str


class _Fleet:
    def __init__(self, devices, tasks, config, out_dir: Path, max_attempts: int, on_event):
        self.out_dir = out_dir
        self.episodes_dir = out_dir / "episodes"
        self.attempts_dir = out_dir / "attempts"
        self.config = config
        self.max_attempts = max_attempts
        self.on_event = on_event
        self.rows = [EpisodeRow(t.index, t.task, t.kind) for t in tasks]
        self.queue: deque[EpisodeRow] = deque(self.rows)
        self.excluded: dict[int, set[str]] = {row.index: set() for row in self.rows}
        self.stats = [DeviceStats(d.spec) for d in devices]
        self.workers: list[_Worker] = []
        self.running: dict[Any, _Running] = {}
        self._events = open(out_dir / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    # -- bookkeeping -------------------------------------------------------------------------
    def event(self, kind: str, row: EpisodeRow, worker: _Worker | None, **detail: Any) -> None:
        line = {"time": round(time.time(), 3), "event": kind, "episode": row.index, "task": row.task,
                "device": worker.device.spec if worker else None, "attempt": row.attempts, **detail}
        self._events.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._events.flush()
        if self.on_event is not None:
            self.on_event(kind, row, worker.stats if worker else None, self)

    def close(self) -> None:
        self._events.close()

    def live(self, kind: str | None) -> list[_Worker]:
        return [w for w in self.workers if w.stats.alive and (kind is None or w.device.kind == kind)]

    # -- dispatch ----------------------------------------------------------------------------
    def fits(self, row: EpisodeRow, worker: _Worker) -> bool:
        if row.kind is not None and row.kind != worker.device.kind:
            return False
        if worker.device.spec not in self.excluded[row.index]:
            return True
        # Kept off this worker only while another live worker of the kind could take it.
        return all(w.device.spec in self.excluded[row.index] for w in self.live(row.kind))

    def dispatch(self) -> None:
        busy = {id(r.worker) for r in self.running.values()}
        for worker in self.workers:
            if not worker.stats.alive or id(worker) in busy:
                continue
            row = next((r for r in self.queue if self.fits(r, worker)), None)
            if row is None:
                continue
            if not self.refresh_pid(worker):
                continue
            self.queue.remove(row)
            row.attempts += 1
            row.device = worker.device.spec
            name = f"{row.index:03d}-{slug(row.task)}.a{row.attempts}-{slug(worker.device.spec)}"
            ref = worker.handle.run.remote(row.task, str(self.attempts_dir.resolve()), name)
            self.running[ref] = _Running(worker, row, name)
            worker.stats.running = row.task
            row.status = "running"
            self.event("start", row, worker, pid=worker.pid, attempt_dir=str(self.attempts_dir.resolve() / name))

    def refresh_pid(self, worker: _Worker) -> bool:
        """Ask the worker its pid (after a restart, its new process's); False if it is dead."""
        import ray

        try:
            worker.pid = ray.get(worker.handle.pid.remote(), timeout=PID_TIMEOUT_S)
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as error:
            self.mark_dead(worker, error)
            return False
        return True

    def mark_dead(self, worker: _Worker, error: BaseException) -> None:
        worker.stats.alive = False
        logging.getLogger(__name__).warning("worker for %s is gone: %s", worker.device.spec, error_text(error))
        for row in list(self.queue):  # tasks nobody can run any more
            if not self.live(row.kind):
                self.queue.remove(row)
                row.status, row.reason = "lost", f"no live worker for env kind {row.kind or 'any'}"
                self.event("lost", row, None, error=row.reason)

    # -- completion --------------------------------------------------------------------------
    def collect(self, ref) -> None:
        import ray

        running = self.running.pop(ref)
        worker = running.worker
        worker.stats.running = None
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayActorError as error:
            self.died(running, error)
            return
        except ray.exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None) or error
            self.finish(running, {"status": "error", "success": False, "reason": error_text(cause, with_type=True)})
            return
        self.finish(running, outcome)

    def died(self, running: _Running, error: BaseException) -> None:
        worker, row = running.worker, running.row
        worker.stats.died += 1
        row.died.append({"attempt": row.attempts, "device": worker.device.spec, "pid": worker.pid,
                         "dir": f"attempts/{running.attempt_name}", "error": error_text(error, with_type=True)[:500]})
        self.event("died", row, worker, pid=worker.pid, error=error_text(error, with_type=True)[:500])
        # Whether Ray restarts the worker shows at its next dispatch (refresh_pid): the error of
        # the call that was running does not tell (it can be ActorDiedError even when a restart
        # follows).
        if row.kind is None:
            row.kind = worker.device.kind  # retried on a worker of the same env kind
        self.excluded[row.index].add(worker.device.spec)
        if row.attempts >= self.max_attempts:
            row.status, row.reason = "lost", f"the worker died in each of {row.attempts} attempts"
            self.event("lost", row, worker, error=row.reason)
        elif not self.live(row.kind):
            row.status, row.reason = "lost", f"no live worker for env kind {row.kind}"
            self.event("lost", row, worker, error=row.reason)
        else:
            row.status = "pending"
            self.queue.appendleft(row)

    def finish(self, running: _Running, outcome: dict[str, Any]) -> None:
        worker, row = running.worker, running.row
        final = self.episodes_dir / f"{row.index:03d}-{slug(row.task)}"
        attempt = self.attempts_dir / running.attempt_name
        if outcome.get("archive"):
            from vlagent.agent.fleet.worker import unpack_directory

            unpack_directory(outcome["archive"], final)
        elif (attempt / "episode.json").is_file():
            os.replace(attempt, final)
        for key in ("status", "success", "steps", "seconds", "reason", "instruction"):
            if key in outcome:
                setattr(row, key, outcome[key])
        if (final / "episode.json").is_file():
            row.episode_dir = final.relative_to(self.out_dir).as_posix()
            row.report = _write_report(final, self.out_dir)
        worker.stats.done += 1
        worker.stats.succeeded += bool(row.success)
        self.event("done" if row.status != "error" else "error", row, worker, status=row.status,
                   success=row.success, steps=row.steps, reason=row.reason)

    def run(self) -> None:
        import ray

        while self.queue or self.running:
            self.dispatch()
            if not self.running:
                if self.queue:  # waiting episodes, no worker can take them: all are gone
                    for row in list(self.queue):
                        self.queue.remove(row)
                        row.status, row.reason = "lost", "no live worker could run it"
                        self.event("lost", row, None, error=row.reason)
                break
            ready, _ = ray.wait(list(self.running), num_returns=1, timeout=WAIT_S)
            for ref in ready:
                self.collect(ref)


def _write_report(episode_dir: Path, out_dir: Path) -> str | None:
    from vlagent.agent.episode import load_episode
    from vlagent.agent.report import write_report

    path = write_report(load_episode(episode_dir), episode_dir / "report.html", animation="none")
    return Path(path).relative_to(out_dir).as_posix()


def _check_out_dir(out_dir: Path) -> None:
    if (out_dir / "summary.json").exists() or (out_dir / "events.jsonl").exists():
        raise FleetError(f"{out_dir} already holds a fleet run; pick a new --out")
    (out_dir / "episodes").mkdir(parents=True, exist_ok=True)
    (out_dir / "attempts").mkdir(parents=True, exist_ok=True)


def _check_kinds(devices: Sequence[Device], tasks: Sequence[FleetTask]) -> None:
    kinds = {d.kind for d in devices}
    orphans = sorted({t.kind for t in tasks if t.kind is not None and t.kind not in kinds})
    if orphans:
        raise FleetError(f"tasks need env kind(s) {', '.join(orphans)}, which no device in --envs is "
                         f"(devices: {', '.join(sorted(kinds))})")


def _start_ray(devices: Sequence[Device], ray_address: str | None) -> None:
    import ray

    common = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR,
              "namespace": "vlagent-fleet"}
    if ray_address is None:
        ray.init(resources={d.resource: 1 for d in devices}, num_cpus=os.cpu_count() or 1, **common)
        return
    ray.init(address=ray_address, **common)
    have = ray.cluster_resources()
    missing = [d for d in devices if have.get(d.resource, 0) < 1]
    if missing:
        ray.shutdown()
        wanted = json.dumps({d.resource: 1 for d in missing})
        raise FleetError(f"the Ray cluster at {ray_address} has no node holding {', '.join(d.spec for d in missing)}; "
                         f"start the node that holds them with: ray start --address=ADDRESS --resources='{wanted}'")


def run_fleet(devices: Sequence[Device], tasks: Sequence[FleetTask], config: dict[str, Any], out_dir: Path, *,
              ray_address: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
              on_event: Callable[..., None] | None = None) -> FleetResult:
    """Run every task once over `devices` (see the module docstring); `config` is an
    AgentConfig as a dict (its env and task are set per episode). Writes the summary and the
    index page, also after Ctrl-C (the episodes that finished are kept)."""
    try:
        import ray
    except ImportError as error:
        raise FleetError(f"vlagent fleet needs ray (pip install 'vlagent[fleet]'): {error}") from None
    from vlagent.agent.fleet.summary import write_index, write_summary
    from vlagent.agent.fleet.worker import start_worker

    out_dir = Path(out_dir)
    _check_kinds(devices, tasks)
    _check_out_dir(out_dir)
    started = time.perf_counter()
    _start_ray(devices, ray_address)
    fleet = _Fleet(devices, tasks, config, out_dir, max_attempts, on_event)
    try:
        driver_node = ray.get_runtime_context().get_node_id()
        for device, stats in zip(devices, fleet.stats, strict=True):
            handle = start_worker(device, config, driver_node, os.getcwd())
            fleet.workers.append(_Worker(device, handle, stats))
        fleet.run()
    finally:
        fleet.close()
        ray.shutdown()
        for row in fleet.rows:  # after Ctrl-C or a driver fault: say what never finished
            if row.status in ("pending", "running"):
                row.status, row.reason = "not run" if row.status == "pending" else "cancelled", "the fleet stopped"
        result = FleetResult(out_dir, fleet.rows, fleet.stats, time.perf_counter() - started,
                             ray_address or "local")
        write_summary(result)
        result.index = write_index(result)
    return result
