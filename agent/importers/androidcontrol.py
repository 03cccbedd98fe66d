"""Import AndroidControl episodes (JSON rendering of the released records) as vlagent episodes.

AndroidControl (google-research/android_control) releases one record per episode with the
fields `episode_id`, `goal`, `screenshots` (PNG bytes), `screenshot_widths`,
`screenshot_heights`, `accessibility_trees` (AndroidAccessibilityForest protos), `actions`
(JSON strings, one fewer than screenshots) and `step_instructions`. This importer reads the
same fields from JSON, the layout conversion scripts write:

- a `.json` file holding one episode object (or a list of them), or a `.jsonl` file with
  one episode object per line;
- `screenshots[i]`: a path relative to the JSON file, or a `data:image/png;base64,` URI;
- `accessibility_trees[i]` (optional, may be null): the forest in protobuf's JSON form,
  `{"windows": [{"tree": {"nodes": [{"boundsInScreen": {"left", "top", "right",
  "bottom"}, "className", "text", "contentDescription", "viewIdResourceName",
  "packageName", "isClickable", "depth", ...}]}}]}` (snake_case names accepted too);
- `actions[i]`: a JSON string (as released) or an object with `action_type`.

Actions map to vlagent's: click -> tap, long_press -> long_press, scroll -> scroll (same
direction meaning: "down" reveals content below), open_app -> open_app(app_name),
input_text -> type_text, type -> type_text with submit (its click point is kept in the
step's `extra`, as type_text has none), navigate_home/back -> key_press home/back,
wait -> wait. Screenshot px are both frame and device px (identity transform). Screenshot
i is step i's frame; the last one is the final frame.
"""

import base64
import binascii
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vlagent.agent.actions import Action, ActionParseError, parse_action
from vlagent.agent.errors import EpisodeFormatError
from vlagent.agent.interfaces import Decision
from vlagent.agent.recorder import EpisodeRecorder, StepData
from vlagent.perception.frame import Frame

SOURCE_FORMAT = "androidcontrol-json"


def convert_action(raw: Any) -> tuple[Action, dict[str, Any]]:
    """An AndroidControl action (JSON string or dict) -> (vlagent Action, extra fields kept)."""
    data = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(data, dict) or "action_type" not in data:
        raise EpisodeFormatError(f"AndroidControl action {raw!r} has no action_type")
    kind = data["action_type"]
    mapping = {
        "click": lambda d: {"type": "tap", "x": d["x"], "y": d["y"]},
        "long_press": lambda d: {"type": "long_press", "x": d["x"], "y": d["y"]},
        "scroll": lambda d: {"type": "scroll", "direction": d["direction"]},
        "open_app": lambda d: {"type": "open_app", "app": d["app_name"]},
        "input_text": lambda d: {"type": "type_text", "text": d["text"]},
        "type": lambda d: {"type": "type_text", "text": d["text"], "submit": True},
        "navigate_home": lambda d: {"type": "key_press", "key": "home"},
        "navigate_back": lambda d: {"type": "key_press", "key": "back"},
        "wait": lambda d: {"type": "wait", "seconds": float(d.get("seconds", 1.0))},
    }
    if kind not in mapping:
        raise EpisodeFormatError(f"unknown AndroidControl action_type {kind!r}")
    try:
        action = parse_action(mapping[kind](data))
    except KeyError as error:
        raise EpisodeFormatError(f"AndroidControl {kind} action lacks field {error}") from None
    except ActionParseError as error:
        raise EpisodeFormatError(f"AndroidControl action {data!r}: {error}") from None
    extra = {"androidcontrol_action": data}
    return action, extra


def _image(ref: str, base: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        if ref.startswith("data:"):
            source: Any = io.BytesIO(base64.b64decode(ref.split(",", 1)[1], validate=True))
        else:
            source = base / ref
        with Image.open(source) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError, binascii.Error, IndexError) as error:
        raise EpisodeFormatError(f"cannot read screenshot {ref[:80]!r}: {error}") from None


def _field(node: dict, snake: str, default: Any = "") -> Any:
    camel = "".join(part.capitalize() if i else part for i, part in enumerate(snake.split("_")))
    return node.get(camel, node.get(snake, default))


def forest_nodes(forest: dict | None) -> tuple | None:
    """The nodes of an AndroidAccessibilityForest (protobuf JSON) as UINodes, device px."""
    from vlagent.perception.uitree import UINode

    if forest is None:
        return None
    nodes = []
    for window in forest.get("windows", []):
        for position, node in enumerate((window.get("tree") or {}).get("nodes", [])):
            bounds = _field(node, "bounds_in_screen", {}) or {}
            nodes.append(UINode(
                index=position, class_name=_field(node, "class_name"), text=_field(node, "text"),
                resource_id=_field(node, "view_id_resource_name"),
                content_desc=_field(node, "content_description"), package=_field(node, "package_name"),
                bounds=tuple(int(bounds.get(k, 0)) for k in ("left", "top", "right", "bottom")),
                clickable=bool(_field(node, "is_clickable", False)),
                scrollable=bool(_field(node, "is_scrollable", False)),
                focused=bool(_field(node, "is_focused", False)),
                password=bool(_field(node, "is_password", False)),
                depth=int(_field(node, "depth", 0) or 0)))
    return tuple(nodes)


def read_episodes(path: str | Path) -> Iterator[dict[str, Any]]:
    """Episode objects from a .json (object or list) or .jsonl file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            loaded = json.loads(text)
            items = loaded if isinstance(loaded, list) else [loaded]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EpisodeFormatError(f"{path}: cannot read AndroidControl JSON: {error}") from None
    for item in items:
        if not isinstance(item, dict) or "actions" not in item or "screenshots" not in item:
            raise EpisodeFormatError(f"{path}: an episode needs 'screenshots' and 'actions'")
        yield item


def import_episode(item: dict[str, Any], base: Path, out_dir: Path, *, overwrite: bool = False) -> Path:
    """Write one AndroidControl episode object as a vlagent episode in `out_dir`."""
    screenshots, actions = item["screenshots"], item["actions"]
    if len(screenshots) not in (len(actions), len(actions) + 1):
        raise EpisodeFormatError(f"episode {item.get('episode_id')}: {len(screenshots)} screenshots "
                                 f"for {len(actions)} actions (expected one more)")
    trees = item.get("accessibility_trees") or [None] * len(screenshots)
    steps = item.get("step_instructions") or [None] * len(actions)
    recorder = EpisodeRecorder(out_dir, overwrite=overwrite)
    recorder.start({
        "task": {"id": f"androidcontrol:{item.get('episode_id')}", "instruction": item.get("goal", "")},
        "env": "androidcontrol", "source": {"format": SOURCE_FORMAT, "episode_id": item.get("episode_id")},
        "policy": {"name": "human demonstration"},
    })
    for index, raw in enumerate(actions):
        action, extra = convert_action(raw)
        frame = Frame(_image(screenshots[index], base), 0.0, ui_tree=forest_nodes(trees[index]),
                      source=SOURCE_FORMAT)
        extra["step_instruction"] = steps[index]
        raw_text = raw if isinstance(raw, str) else json.dumps(raw)
        recorder.write_step(StepData(step=index, frame=frame, started_at=0.0, extra=extra,
                                     decision=Decision(action=action, raw_text=raw_text)))
    final = None
    if len(screenshots) == len(actions) + 1:
        final = Frame(_image(screenshots[-1], base), 0.0, source=SOURCE_FORMAT)
    recorder.finish({"status": "finished", "success": True, "reason": "imported demonstration",
                     "steps": len(actions)}, final_frame=final)
    return out_dir


def import_file(path: str | Path, out_root: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Import every episode in an AndroidControl JSON/JSONL file into `out_root/<episode_id>`."""
    path, out_root = Path(path), Path(out_root)
    written = []
    for position, item in enumerate(read_episodes(path)):
        name = str(item.get("episode_id", position))
        written.append(import_episode(item, path.parent, out_root / name, overwrite=overwrite))
    return written
