"""Read an episode directory written by `agent.recorder` (docs/EPISODE_FORMAT.md).

`load_episode(path)` returns an `Episode` with every complete step. A writer killed
mid-step leaves a torn last line or no result; the reader keeps the complete steps and
sets `cut_off_step` to the index of the step that was in flight (None when the episode
finished cleanly). Anything else wrong (a complete line that is not JSON, a missing
frame, a version from the future) raises `EpisodeFormatError` naming the file.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlagent.agent.actions import Action, ActionParseError, parse_action
from vlagent.agent.errors import EpisodeFormatError
from vlagent.agent.interfaces import Decision
from vlagent.agent.recorder import FORMAT_NAME, FORMAT_VERSION
from vlagent.perception.coords import CoordinateError, transform_from_dict
from vlagent.perception.frame import Frame


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EpisodeFormatError(f"{path} does not exist: not an episode directory") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EpisodeFormatError(f"{path}: cannot read JSON: {error}") from None
    if not isinstance(data, dict):
        raise EpisodeFormatError(f"{path}: expected a JSON object")
    return data


def _check_header(meta: dict[str, Any], path: Path) -> None:
    if meta.get("format") != FORMAT_NAME:
        raise EpisodeFormatError(f"{path}: format is {meta.get('format')!r}, expected {FORMAT_NAME!r}")
    version = meta.get("version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise EpisodeFormatError(f"{path}: version {version!r} is not supported (this reader knows 1..{FORMAT_VERSION})")


def _read_steps(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """Complete step lines, and whether a torn (unterminated) last line was found."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], False
    *lines, tail = raw.split(b"\n")
    steps = []
    for number, line in enumerate(lines, start=1):
        try:
            step = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EpisodeFormatError(f"{path}: line {number} is complete but not valid JSON: {error}") from None
        if not isinstance(step, dict) or step.get("step") != number - 1:
            raise EpisodeFormatError(f"{path}: line {number} is not step {number - 1}")
        steps.append(step)
    return steps, bool(tail.strip())


@dataclass
class Episode:
    """A loaded episode: `meta` (episode.json), complete `steps` (dicts, one per line)."""

    path: Path
    meta: dict[str, Any]
    steps: list[dict[str, Any]]
    cut_off_step: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.meta.get("result") is not None

    @property
    def result(self) -> dict[str, Any] | None:
        return self.meta.get("result")

    @property
    def instruction(self) -> str:
        task = self.meta.get("task") or {}
        return str(task.get("instruction") or "")

    def image(self, index: int) -> np.ndarray:
        """The RGB image (H x W x 3 uint8, frame px) that step `index` observed."""
        return load_image(self.path / self.steps[index]["frame"])

    def frame(self, index: int) -> Frame:
        """Step `index`'s observation rebuilt as a Frame (image, transform, UI tree)."""
        from vlagent.perception.uitree import UINode

        step = self.steps[index]
        tree = step.get("ui_tree")
        nodes = None if tree is None else tuple(UINode(**{**n, "bounds": tuple(n["bounds"])}) for n in tree)
        try:
            transform = transform_from_dict(step["to_device"])
        except CoordinateError as error:
            raise EpisodeFormatError(f"{self.path} step {index}: bad to_device: {error}") from None
        return Frame(image=self.image(index), captured_at=float(step.get("captured_at") or 0.0),
                     to_device=transform, rotation=int(step.get("rotation") or 0), ui_tree=nodes,
                     source=f"episode:{self.path.name}", meta=dict(step.get("frame_meta") or {}))

    def action(self, index: int) -> Action | None:
        """The recorded action of step `index` (frame px), None when the step had none."""
        data = self.steps[index].get("action")
        if data is None:
            return None
        try:
            return parse_action(data)
        except ActionParseError as error:
            raise EpisodeFormatError(f"{self.path} step {index}: bad action: {error}") from None

    def decision(self, index: int) -> Decision | None:
        """Step `index` as the Decision a policy made (for teacher-forced history)."""
        action = self.action(index)
        if action is None:
            return None
        step = self.steps[index]
        return Decision(action=action, raw_text=step.get("raw_text") or "", thought=step.get("thought"),
                        grounding=step.get("grounding"))


def load_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise EpisodeFormatError(f"cannot read frame {path}: {error}") from None


def load_episode(path: str | Path) -> Episode:
    """Load an episode directory (or its episode.json); see the module docstring."""
    path = Path(path)
    if path.name == "episode.json":
        path = path.parent
    meta = _read_json(path / "episode.json")
    _check_header(meta, path / "episode.json")
    steps, torn = _read_steps(path / "steps.jsonl")
    notes: list[str] = []
    for step in steps:
        frame = step.get("frame")
        if not isinstance(frame, str) or not (path / frame).is_file():
            raise EpisodeFormatError(f"{path}: step {step['step']} names frame {frame!r}, which does not exist")
    cut_off = None
    if torn:
        cut_off = len(steps)
        notes.append(f"step {cut_off} was cut off: steps.jsonl ends in a partial line")
    elif meta.get("result") is None:
        cut_off = len(steps)
        notes.append(f"the episode did not finish: step {cut_off} was in flight when recording stopped")
    return Episode(path=path, meta=meta, steps=steps, cut_off_step=cut_off, notes=notes)
