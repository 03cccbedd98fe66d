"""Write a small AndroidControl-structured episode from the simulator (the committed fixture).

The fixture in tests/fixtures/androidcontrol/ was made with
`python -m tests.androidcontrol_fixture tests/fixtures/androidcontrol`. It follows the
released AndroidControl fields (see agent/importers/androidcontrol.py): screenshots as PNG
files next to the JSON, actions as JSON strings, accessibility trees as
AndroidAccessibilityForest protobuf JSON (camelCase).
"""

import json
import sys
from pathlib import Path

EPISODE_ID = 1001
GOAL = "Turn on Wi-Fi, then open the Display settings and go back"


def _forest(nodes) -> dict:
    """Protobuf JSON leaves out fields at their default (empty, false, 0), so this does too."""
    def node(i, n):
        fields = {"uniqueId": i, "className": n.class_name, "text": n.text, "contentDescription": n.content_desc,
                  "viewIdResourceName": n.resource_id, "packageName": n.package, "isClickable": n.clickable,
                  "isScrollable": n.scrollable, "depth": n.depth,
                  "boundsInScreen": {k: v for k, v in zip(("left", "top", "right", "bottom"), n.bounds, strict=True) if v}}
        return {k: v for k, v in fields.items() if v}

    return {"windows": [{"tree": {"nodes": [node(i, n) for i, n in enumerate(nodes)]}}]}


def _center(phone, text):
    node = next(n for n in phone.ui_tree() if n.text == text)
    return int(node.center[0]), int(node.center[1])


def write_fixture(directory: Path) -> Path:
    from PIL import Image

    from vlagent.sim.phone import Phone

    directory.mkdir(parents=True, exist_ok=True)
    phone = Phone(180, 400, seed=0)
    steps = [
        ("Open the Settings app", lambda p: {"action_type": "open_app", "app_name": "Settings"}),
        ("Turn on Wi-Fi", lambda p: {"action_type": "click", "x": _center(p, "Wi-Fi")[0], "y": _center(p, "Wi-Fi")[1]}),
        ("Scroll down to Display", lambda p: {"action_type": "scroll", "direction": "down"}),
        ("Open Display", lambda p: {"action_type": "click", "x": _center(p, "Display")[0], "y": _center(p, "Display")[1]}),
        ("Go back", lambda p: {"action_type": "navigate_back"}),
    ]
    record = {"episode_id": EPISODE_ID, "goal": GOAL, "screenshots": [], "screenshot_widths": [],
              "screenshot_heights": [], "accessibility_trees": [], "actions": [], "step_instructions": []}

    def snap(index: int) -> None:
        name = f"screens/{EPISODE_ID}_{index}.png"
        (directory / "screens").mkdir(exist_ok=True)
        Image.fromarray(phone.render()).save(directory / name, optimize=True)
        record["screenshots"].append(name)
        record["screenshot_widths"].append(phone.size[0])
        record["screenshot_heights"].append(phone.size[1])
        record["accessibility_trees"].append(_forest(phone.ui_tree()))

    perform = {"open_app": lambda a: phone.open_app(a["app_name"]),
               "click": lambda a: phone.tap(a["x"], a["y"]),
               "scroll": lambda a: phone.scroll(a["direction"]),
               "navigate_back": lambda a: phone.key("back")}
    for index, (instruction, make) in enumerate(steps):
        snap(index)
        action = make(phone)
        record["actions"].append(json.dumps(action))
        record["step_instructions"].append(instruction)
        perform[action["action_type"]](action)
    snap(len(steps))
    path = directory / f"episode_{EPISODE_ID}.json"
    path.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    return path


if __name__ == "__main__":
    print(write_fixture(Path(sys.argv[1])))
