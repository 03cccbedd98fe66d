"""Qwen2.5-VL's `computer_use` tool (its cookbook's computer agent), for the desktop env.

Source: the Qwen2.5-VL cookbook `computer_use.ipynb` with `cookbooks/utils/agent_function_call.py`
(class `ComputerUse`). Same message layout and `<tool_call>` answers as `mobile_use`
(`policies.profiles.qwen25vl`), with the desktop tool: actions key (a list of keys pressed
together), type, mouse_move, left_click, left_click_drag, right_click, middle_click,
double_click, scroll (`pixels`, positive up), wait, terminate; coordinates in px of the
smart-resized screenshot ("model_px").

`left_click_drag` drags from where the cursor is to `coordinate`; a parser of one answer does
not know where the cursor is, so it is refused with a reason asking for an explicit
mouse_move first (the history shows the model its earlier moves).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial

from vlagent.agent.actions import Click, Finish, Hover, KeyPress, Scroll, Tap, TypeText, Wait
from vlagent.policies.profiles import qwen25vl
from vlagent.policies.profiles.actions_io import build
from vlagent.policies.profiles.base import (
    AnswerFormatError,
    HistoryItem,
    Profile,
    ProfileAnswer,
    Screen,
    check_answer,
    number,
    point_pair,
    rounded,
    shown,
)

NAME = "qwen2.5-vl-computer"
SPACE = "model_px"
TOOL = "computer_use"
ACTIONS = ("key", "type", "mouse_move", "left_click", "left_click_drag", "right_click", "middle_click",
           "double_click", "scroll", "wait", "terminate")

_ACTION_HELP = (
    "The action to perform. The available actions are:\n"
    "* `key`: Performs key down presses on the arguments passed in order, then performs key releases in reverse "
    "order.\n"
    "* `type`: Type a string of text on the keyboard.\n"
    "* `mouse_move`: Move the cursor to a specified (x, y) pixel coordinate on the screen.\n"
    "* `left_click`: Click the left mouse button.\n"
    "* `left_click_drag`: Click and drag the cursor to a specified (x, y) pixel coordinate on the screen.\n"
    "* `right_click`: Click the right mouse button.\n"
    "* `middle_click`: Click the middle mouse button.\n"
    "* `double_click`: Double-click the left mouse button.\n"
    "* `scroll`: Performs a scroll of the mouse scroll wheel.\n"
    "* `wait`: Wait specified seconds for the change to happen.\n"
    "* `terminate`: Terminate the current task and report its completion status.")


def tool_schema(model_size) -> dict:
    width, height = (int(v) for v in model_size)
    description = (
        "Use a mouse and keyboard to interact with a computer, and take screenshots.\n"
        "* This is an interface to a desktop GUI. You do not have access to a terminal or applications menu. You must "
        "click on desktop icons to start applications.\n"
        "* Some applications may take time to start or process actions, so you may need to wait and take successive "
        "screenshots to see the results of your actions. E.g. if you click on Firefox and a window doesn't open, try "
        "wait and taking another screenshot.\n"
        f"* The screen's resolution is {width}x{height}.\n"
        "* Whenever you intend to move the cursor to click on an element like an icon, you should consult a screenshot "
        "to determine the coordinates of the element before moving the cursor.\n"
        "* If you tried clicking on a program or link but it failed to load, even after waiting, try adjusting your "
        "cursor position so that the tip of the cursor visually falls on the element that you want to click.\n"
        "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the element. Don't "
        "click boxes on their edges unless asked.")
    parameters = {
        "properties": {
            "action": {"description": _ACTION_HELP, "enum": list(ACTIONS), "type": "string"},
            "keys": {"description": "Required only by `action=key`.", "type": "array"},
            "text": {"description": "Required only by `action=type`.", "type": "string"},
            "coordinate": {"description": "(x, y): The x (pixels from the left edge) and y (pixels from the top "
                           "edge) coordinates to move the mouse to. Required only by `action=mouse_move` and "
                           "`action=left_click_drag`.", "type": "array"},
            "pixels": {"description": "The amount of scrolling to perform. Positive values scroll up, negative "
                       "values scroll down. Required only by `action=scroll`.", "type": "number"},
            "time": {"description": "The seconds to wait. Required only by `action=wait`.", "type": "number"},
            "status": qwen25vl.STATUS_PARAMETER,
        },
        "required": ["action"],
        "type": "object",
    }
    return qwen25vl.function_entry(TOOL, description, parameters)


def system_prompt(model_size) -> str:
    return qwen25vl.system_prompt_for(tool_schema(model_size))


def _call_json(arguments: dict) -> str:
    return json.dumps({"name": TOOL, "arguments": arguments}, ensure_ascii=False)


def _point(screen: Screen, x: float, y: float) -> list[int]:
    mx, my = screen.from_frame(SPACE).apply(x, y)
    return [rounded(mx), rounded(my)]


def arguments_for(action, screen: Screen, target=None) -> dict:
    """The `computer_use` arguments for an Action (frame px); a click on `target` (label, box
    frame px) acts on the box centre. Clicks carry their point (`coordinate`), as the
    cookbook's agent writes them."""
    if isinstance(action, (Tap, Click)) and target is not None:
        x1, y1, x2, y2 = target[1]
        action = action.model_copy(update={"x": (x1 + x2) / 2, "y": (y1 + y2) / 2})
    if isinstance(action, Tap) or (isinstance(action, Click) and action.button == "left" and action.clicks == 1):
        return {"action": "left_click", "coordinate": _point(screen, action.x, action.y)}
    if isinstance(action, Click):
        kind = "double_click" if action.clicks == 2 else f"{action.button}_click"
        return {"action": kind, "coordinate": _point(screen, action.x, action.y)}
    if isinstance(action, Hover):
        return {"action": "mouse_move", "coordinate": _point(screen, action.x, action.y)}
    if isinstance(action, TypeText):
        return {"action": "type", "text": action.text + ("\n" if action.submit else "")}
    if isinstance(action, KeyPress):
        return {"action": "key", "keys": action.key if isinstance(action.key, list) else [action.key]}
    if isinstance(action, Scroll):
        if action.direction not in ("up", "down"):
            raise AnswerFormatError(repr(action), "computer_use scrolls up or down only")
        amount = (action.amount or 0.5) * screen.model_size[1]
        return {"action": "scroll", "pixels": rounded(amount if action.direction == "up" else -amount)}
    if isinstance(action, Wait):
        return {"action": "wait", "time": action.seconds}
    if isinstance(action, Finish):
        return {"action": "terminate", "status": action.status}
    raise AnswerFormatError(repr(action), f"computer_use has no form for {getattr(action, 'type', type(action).__name__)}")


def format_answer(action, screen: Screen, target=None, thought: str | None = None) -> str:
    return f"{qwen25vl.CALL_START}\n{_call_json(arguments_for(action, screen, target))}\n{qwen25vl.CALL_END}"


def messages(instruction: str, history: Sequence[HistoryItem], screen: Screen, feedback: str | None = None) -> list[dict]:
    render = partial(qwen25vl.history_call, call_json=lambda action: _call_json(arguments_for(action, screen)))
    return qwen25vl.agent_query(system_prompt(screen.model_size), instruction, history, render, feedback)


def _frame_point(arguments: dict, raw: str, screen: Screen, name: str):
    if "coordinate" not in arguments:
        raise AnswerFormatError(raw, f"action={name} needs \"coordinate\": [x, y] (where to act)")
    return screen.point_to_frame(SPACE, *point_pair(arguments["coordinate"], raw, "coordinate"))


def _action(arguments: dict, raw: str, screen: Screen):
    name = arguments.get("action")
    if name not in ACTIONS:
        raise AnswerFormatError(raw, f"unknown computer_use action {shown(str(name))}; expected one of "
                                     f"{', '.join(ACTIONS)}")
    if name in ("left_click", "right_click", "middle_click", "double_click"):
        x, y = _frame_point(arguments, raw, screen, name)
        if name == "double_click":
            return Click(x=x, y=y, clicks=2)
        return Click(x=x, y=y, button=name.removesuffix("_click"))
    if name == "mouse_move":
        x, y = _frame_point(arguments, raw, screen, name)
        return Hover(x=x, y=y)
    if name == "left_click_drag":
        raise AnswerFormatError(raw, "left_click_drag starts where the cursor is, which this answer does not say: "
                                     "move the mouse first (mouse_move), or click")
    if name == "type":
        text = arguments.get("text")
        if not isinstance(text, str):
            raise AnswerFormatError(raw, "action=type needs \"text\": a string")
        submit = text.endswith("\n")
        return build(raw, name, lambda: TypeText(text=text[:-1] if submit else text, submit=submit))
    if name == "key":
        keys = arguments.get("keys")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise AnswerFormatError(raw, "action=key needs \"keys\": a list of key names")
        return build(raw, name, lambda: KeyPress(key=keys[0] if len(keys) == 1 else keys))
    if name == "scroll":
        pixels = number(arguments.get("pixels", 0), raw, "pixels")
        if pixels == 0:
            raise AnswerFormatError(raw, "action=scroll needs non-zero \"pixels\" (positive up, negative down)")
        amount = min(abs(pixels) / screen.model_size[1], 10.0)
        return build(raw, name, lambda: Scroll(direction="up" if pixels > 0 else "down", amount=amount))
    if name == "wait":
        seconds = 1.0 if arguments.get("time") is None else number(arguments["time"], raw, "time")
        return build(raw, name, lambda: Wait(seconds=seconds))
    status = arguments.get("status")
    if status not in ("success", "failure"):
        raise AnswerFormatError(raw, "terminate needs \"status\": \"success\" or \"failure\"")
    return Finish(status=status)


def parse(text: str, screen: Screen) -> ProfileAnswer:
    """One `<tool_call>` naming `computer_use` -> ProfileAnswer (frame px)."""
    raw = check_answer(text)
    arguments, thought = qwen25vl.tool_call_arguments(raw, TOOL)
    return ProfileAnswer(_action(arguments, raw, screen), thought=thought)


PROFILE = Profile(name=NAME, space=SPACE, messages=messages, parse=parse, format_answer=format_answer,
                  min_pixels=qwen25vl.MIN_PIXELS, max_pixels=qwen25vl.MAX_PIXELS,
                  description="Qwen2.5-VL computer_use tool calls (desktops), model-input px")
