"""Write an episode directory (format: docs/EPISODE_FORMAT.md, version `FORMAT_VERSION`).

    episode.json   metadata and, once finished, the result (replaced atomically)
    steps.jsonl    one JSON line per step, appended and fsync'ed before the loop moves on
    frames/        the frame each step observed (PNG, or lossless WebP), plus final.<ext>

Durability order per step: the frame is written to a temporary name, fsync'ed and renamed;
only then is the step's line appended with one write() and fsync'ed. So a `kill -9` at any
moment leaves every recorded line complete with its frame on disk, and at most the step in
flight is lost (a torn last line, or an orphan frame); `agent.episode.load_episode` says
which step was cut off. episode.json is always replaced via write-temp, fsync, rename.

One writer per directory: `start` takes an exclusive `flock` on `DIR/.lock` before it looks
at what the directory holds, and keeps it until `finish`/`close`, so checking for an
existing episode, clearing it (`overwrite`) and writing are one step, and a second recorder
on the same directory, `overwrite` or not, fails with `RecorderLockedError` naming the
holder's pid. The kernel drops the lock when its process dies, so a killed run never leaves
a stale lock behind. (POSIX `fcntl`; the lock file itself stays in the directory.)
"""

import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlagent.agent.action_map import to_device
from vlagent.agent.actions import Action
from vlagent.agent.interfaces import ActionResult, Decision
from vlagent.agent.safety import SafetyDecision
from vlagent.perception.errors import VlagentError
from vlagent.perception.frame import Frame

FORMAT_NAME = "vlagent-episode"
FORMAT_VERSION = 1
FRAME_FORMATS = {"png": "png", "webp": "webp"}


class RecorderError(VlagentError, RuntimeError):
    """The episode directory cannot be written (exists, not writable, already finished)."""


class RecorderLockedError(RecorderError):
    """Another recorder (this process or another) is writing into the same directory."""

    hint = "record into another directory (--record DIR), or wait for the other run to finish"


LOCK_NAME = ".lock"


@dataclass
class StepData:
    """Everything the loop knows about one step; the recorder turns it into one JSON line.

    `attempts` are the failed tries before `decision` ({"raw_text", "error"}); `event`
    names what the loop did besides acting ("replanned", "loop", "parse_error", "blocked",
    "cancelled"); timings are seconds per stage.
    """

    step: int
    frame: Frame
    started_at: float
    feedback: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    decision: Decision | None = None
    safety: SafetyDecision | None = None
    result: ActionResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    settle: dict[str, Any] | None = None
    screen_changed: bool | None = None
    event: str | None = None
    extra: dict[str, Any] | None = None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader sees the old or the new file, never a mix."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def encode_frame(frame: Frame, frame_format: str) -> bytes:
    """The frame's RGB image as PNG (fast zlib level) or lossless WebP bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(frame.image, "RGB")
    if frame_format == "png":
        image.save(buffer, format="PNG", compress_level=1)
    else:
        image.save(buffer, format="WEBP", lossless=True, method=0, quality=0)
    return buffer.getvalue()


def node_to_dict(node: Any) -> dict[str, Any]:
    data = asdict(node)
    data["bounds"] = list(node.bounds)
    return data


def _action_json(action: Action | None) -> dict[str, Any] | None:
    if action is None:
        return None
    fields = action.model_dump(mode="json")
    return {"type": fields.pop("type"), **fields}


def _result_json(result: ActionResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"ok": result.ok, "executed": result.executed, "sent": result.sent,
            "message": result.message, "seconds": result.seconds}


def _jsonable_meta(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The frame's `meta` as JSON; values JSON cannot hold are recorded as their str()."""
    if not meta:
        return None
    return json.loads(json.dumps(meta, default=str))


class EpisodeRecorder:
    """Appends steps to an episode directory. Use `start`, `write_step`..., `finish`."""

    def __init__(self, directory: str | Path, *, frame_format: str = "png", overwrite: bool = False):
        if frame_format not in FRAME_FORMATS:
            raise RecorderError(f"frame_format must be one of {sorted(FRAME_FORMATS)}, got {frame_format!r}")
        self.dir = Path(directory)
        self.frame_format = frame_format
        self.overwrite = overwrite
        self.meta: dict[str, Any] = {}
        self.steps_written = 0
        self.finished = False
        self._steps_fd: int | None = None
        self._lock_fd: int | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, meta: dict[str, Any]) -> None:
        """Lock the directory, then create it and write episode.json with no result yet."""
        frames = self.dir / "frames"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            used = (self.dir / "episode.json").exists() or (frames.is_dir() and any(frames.iterdir()))
            if used and not self.overwrite:
                raise RecorderError(f"{self.dir} already holds an episode; pick a new directory or overwrite it "
                                    "(--overwrite)")
            self._begin(meta, frames, used)
        except BaseException:
            self.close()
            raise

    def _lock(self) -> None:
        import fcntl

        fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise RecorderLockedError(f"{self.dir} is being recorded by another recorder (pid {holder}); two "
                                      "writers would mix their steps, so this one stops here") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._lock_fd = fd

    def _begin(self, meta: dict[str, Any], frames: Path, used: bool) -> None:
        frames.mkdir(parents=True, exist_ok=True)
        if used:
            for stale in ("steps.jsonl", "episode.json"):
                (self.dir / stale).unlink(missing_ok=True)
            for stale in frames.iterdir():
                stale.unlink()
        self.meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "created_at": time.time(),
                     "frame_format": self.frame_format, **meta, "result": None}
        self.meta.setdefault("transforms", {})
        self._write_meta()
        self._steps_fd = os.open(self.dir / "steps.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write_step(self, data: StepData) -> dict[str, Any]:
        """Write the frame, then append the step's line and fsync. Returns the line's dict."""
        if self._steps_fd is None or self.finished:
            raise RecorderError("write_step needs a started, unfinished recorder")
        started = time.perf_counter()
        frame_name = self._write_frame(data.frame, f"{data.step:06d}")
        if "frame_to_device" not in self.meta["transforms"]:
            self.meta["transforms"]["frame_to_device"] = data.frame.to_device.to_dict()
            self.meta.setdefault("device", {})["size"] = list(data.frame.device_size)
            self._write_meta()
        line = self._line(data, frame_name)
        line["timings"]["record"] = time.perf_counter() - started
        payload = (json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")
        os.write(self._steps_fd, payload)  # one write: a line is never split by an interrupt
        os.fsync(self._steps_fd)
        self.steps_written += 1
        return line

    def finish(self, result: dict[str, Any], final_frame: Frame | None = None) -> None:
        """Write the result (and the final frame) into episode.json; idempotent after the first."""
        if self.finished:
            return
        if final_frame is not None:
            result = {**result, "final_frame": self._write_frame(final_frame, "final")}
        # Counted from the file, not from write_step calls: an interrupt between a line's write
        # and the bookkeeping after it must not make the record disagree with itself.
        self.steps_written = (self.dir / "steps.jsonl").read_bytes().count(b"\n")
        self.meta["result"] = {**result, "steps_recorded": self.steps_written}
        self.meta["finished_at"] = time.time()
        self._write_meta()
        self.close()
        self.finished = True

    def close(self) -> None:
        """Close the steps file and release the directory lock (idempotent)."""
        if self._steps_fd is not None:
            os.close(self._steps_fd)
            self._steps_fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    # -- pieces ----------------------------------------------------------------------------
    def _write_meta(self) -> None:
        text = json.dumps(self.meta, ensure_ascii=False, indent=2, default=str)
        write_atomic(self.dir / "episode.json", text.encode("utf-8"))

    def _write_frame(self, frame: Frame, stem: str) -> str:
        name = f"frames/{stem}.{FRAME_FORMATS[self.frame_format]}"
        path = self.dir / name
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            handle.write(encode_frame(frame, self.frame_format))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return name

    def _line(self, data: StepData, frame_name: str) -> dict[str, Any]:
        frame, decision = data.frame, data.decision
        action = decision.action if decision is not None else None
        return {
            "step": data.step,
            "started_at": data.started_at,
            "frame": frame_name,
            "frame_size": list(frame.size),
            "captured_at": frame.captured_at,
            "rotation": frame.rotation,
            "to_device": frame.to_device.to_dict(),
            "ui_tree": None if frame.ui_tree is None else [node_to_dict(n) for n in frame.ui_tree],
            "feedback": data.feedback,
            "attempts": data.attempts,
            "raw_text": decision.raw_text if decision is not None else None,
            "thought": decision.thought if decision is not None else None,
            "grounding": decision.grounding if decision is not None else None,
            "action": _action_json(action),
            "action_device": _action_json(to_device(action, frame.to_device)) if action is not None else None,
            "safety": data.safety.to_dict() if data.safety is not None else None,
            "result": _result_json(data.result),
            "settle": data.settle,
            "screen_changed": data.screen_changed,
            "event": data.event,
            "frame_meta": _jsonable_meta(frame.meta),
            "extra": data.extra,
            "timings": {**(decision.timings if decision is not None else {}), **data.timings},
        }

    def __enter__(self) -> "EpisodeRecorder":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
