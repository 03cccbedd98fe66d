"""Qwen2.5-VL's `mobile_use` tool (its cookbook's mobile agent): prompt, parser and writer.

Source: the Qwen2.5-VL cookbook `mobile_agent.ipynb` with `cookbooks/utils/agent_function_call.py`
(class `MobileUse`), rendered by Qwen-Agent's `NousFnCallPrompt`: the system message is the
default one followed by a "# Tools" section holding the tool's JSON schema inside `<tools>`,
which states the screen resolution as the smart-resized model-input size; the user turn is
"The user query: TASK\\nTask progress (You have done the following operation on the current
device): Step 1: {call}; Step 2: {call}; " and then the screenshot. The model answers

    <tool_call>
    {"name": "mobile_use", "arguments": {"action": "click", "coordinate": [x, y]}}
    </tool_call>

Coordinates: absolute px of the smart-resized image the model saw ("model_px"), mapped to
frame px with `perception.coords.model_to_frame`. Grounding answers (`bbox_2d`) use the same
space and are read by `perception.grounding` with the model-input size.

History: the last `base.HISTORY_STEPS` tool calls, as the cookbook writes them (the call JSON
the model answered, or the call an action from elsewhere would have been). Feedback from the
loop (a parse error) follows the screenshot as a text part, as agents built on this tool do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial

from vlagent.agent.actions import (
    Answer,
    Finish,
    KeyPress,
    LongPress,
    OpenApp,
    Scroll,
    Swipe,
    Tap,
    TypeText,
    Wait,
)
from vlagent.perception.chat import DEFAULT_SYSTEM_PROMPT
from vlagent.policies.profiles.actions_io import build, scroll_stroke
from vlagent.policies.profiles.base import (
    FEEDBACK_CHARS,
    AnswerFormatError,
    HistoryItem,
    Profile,
    ProfileAnswer,
    Screen,
    check_answer,
    clipped,
    json_object,
    number,
    point_pair,
    recent,
    rounded,
    shown,
)

NAME = "qwen2.5-vl"
SPACE = "model_px"
TOOL = "mobile_use"
CALL_START, CALL_END = "<tool_call>", "</tool_call>"
# Qwen2.5-VL's processor defaults (px of the resized input): what a server resizes to unless told.
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28
BUTTONS = {"Back": "back", "Home": "home", "Menu": "menu", "Enter": "enter"}
ACTIONS = ("key", "click", "long_press", "swipe", "type", "answer", "system_button", "open", "wait", "terminate")

_ACTION_HELP = (
    "The action to perform. The available actions are:\n"
    "* `key`: Perform a key event on the mobile device.\n"
    "    - This supports adb's `keyevent` syntax.\n"
    "    - Examples: \"volume_up\", \"volume_down\", \"power\", \"camera\", \"clear\".\n"
    "* `click`: Click the point on the screen with coordinate (x, y).\n"
    "* `long_press`: Press the point on the screen with coordinate (x, y) for specified seconds.\n"
    "* `swipe`: Swipe from the starting point with coordinate (x, y) to the end point with coordinates2 (x2, y2).\n"
    "* `type`: Input the specified text into the activated input box.\n"
    "* `answer`: Output the answer.\n"
    "* `system_button`: Press the system button.\n"
    "* `open`: Open an app on the device.\n"
    "* `wait`: Wait specified seconds for the change to happen.\n"
    "* `terminate`: Terminate the current task and report its completion status.")
_COORD_HELP = ("(x, y): The x (pixels from the left edge) and y (pixels from the top edge) coordinates to move the "
               "mouse to.")


def tool_schema(model_size) -> dict:
    """The `mobile_use` function as Qwen-Agent lists it, for a model input of `model_size` (w, h) px."""
    width, height = (int(v) for v in model_size)
    description = (
        "Use a touchscreen to interact with a mobile device, and take screenshots.\n"
        "* This is an interface to a mobile device with touchscreen. You can perform actions like clicking, typing, "
        "swiping, etc.\n"
        "* Some applications may take time to start or process actions, so you may need to wait and take successive "
        "screenshots to see the results of your actions.\n"
        f"* The screen's resolution is {width}x{height}.\n"
        "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the element. "
        "Don't click boxes on their edges unless asked.")
    parameters = {
        "properties": {
            "action": {"description": _ACTION_HELP, "enum": list(ACTIONS), "type": "string"},
            "coordinate": {"description": _COORD_HELP + " Required only by `action=click`, `action=long_press`, "
                           "and `action=swipe`.", "type": "array"},
            "coordinate2": {"description": _COORD_HELP + " Required only by `action=swipe`.", "type": "array"},
            "text": {"description": "Required only by `action=key`, `action=type`, `action=answer`, and "
                     "`action=open`.", "type": "string"},
            "time": {"description": "The seconds to wait. Required only by `action=long_press` and `action=wait`.",
                     "type": "number"},
            "button": {"description": "Back means returning to the previous interface, Home means returning to the "
                       "desktop, Menu means opening the application background menu, and Enter means pressing the "
                       "enter. Required only by `action=system_button`", "enum": list(BUTTONS), "type": "string"},
            "status": STATUS_PARAMETER,
        },
        "required": ["action"],
        "type": "object",
    }
    return function_entry(TOOL, description, parameters)


STATUS_PARAMETER = {"description": "The status of the task. Required only by `action=terminate`.",
                    "type": "string", "enum": ["success", "failure"]}


def function_entry(tool: str, description: str, parameters: dict) -> dict:
    """A tool as Qwen-Agent lists it in <tools>."""
    return {"type": "function", "function": {"name_for_human": tool, "name": tool, "description": description,
                                             "parameters": parameters,
                                             "args_format": "Format the arguments as a JSON object."}}


def system_prompt(model_size) -> str:
    """The system message: the default one, then the tool list and the call format."""
    return system_prompt_for(tool_schema(model_size))


def system_prompt_for(tool: dict) -> str:
    """The NousFnCallPrompt system message listing `tool` (a `function_entry`)."""
    tools = json.dumps(tool, ensure_ascii=False)
    return (f"{DEFAULT_SYSTEM_PROMPT}\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n"
            f"<tools>\n{tools}\n</tools>\n\n"
            "For each function call, return a json object with function name and arguments within "
            f"{CALL_START}{CALL_END} XML tags:\n{CALL_START}\n"
            '{"name": <function-name>, "arguments": <args-json-object>}\n'
            f"{CALL_END}")


def _call_json(arguments: dict) -> str:
    return json.dumps({"name": TOOL, "arguments": arguments}, ensure_ascii=False)


def history_call(item: HistoryItem, call_json, tool_call_start: str = CALL_START, tool_call_end: str = CALL_END) -> str:
    """A previous step's call as the progress line shows it: the call the model wrote (between
    `tool_call_start` and `tool_call_end`, white space folded, clipped), else `call_json(action)`
    for an action from elsewhere, else its type."""
    if item.raw_text:
        start = item.raw_text.find(tool_call_start)
        if start >= 0:
            end = item.raw_text.find(tool_call_end, start + len(tool_call_start)) if tool_call_end else -1
            body = item.raw_text[start + len(tool_call_start): end if end >= 0 else None].strip()
            body = body.lstrip(":").strip().removesuffix("<|im_end|>").strip()
            if body:
                return clipped(" ".join(body.split()))
    try:
        return call_json(item.action)
    except AnswerFormatError:
        return json.dumps({"action": getattr(item.action, "type", "unknown")})


def agent_query(system: str, instruction: str, history: Sequence[HistoryItem], render, feedback: str | None) -> list[dict]:
    """The Qwen agent messages: `system`, then one user turn with the query, the progress (the last
    HISTORY_STEPS calls, `render(item)` each, numbered from the episode's start), the screenshot and
    the loop's feedback."""
    steps = recent(history)
    offset = 1 + len(history) - len(steps)
    progress = "".join(f"Step {offset + i}: {render(item)}; " for i, item in enumerate(steps))
    text = (f"The user query: {instruction}\n"
            f"Task progress (You have done the following operation on the current device): {progress or 'None'}")
    content = [{"type": "text", "text": text}, {"type": "image"}]
    if feedback:
        content.append({"type": "text", "text": f"Feedback: {clipped(feedback, FEEDBACK_CHARS)}"})
    return [{"role": "system", "content": system}, {"role": "user", "content": content}]


def messages(instruction: str, history: Sequence[HistoryItem], screen: Screen, feedback: str | None = None) -> list[dict]:
    """System (tool schema with the model-input size), then one user turn: query, progress, screenshot."""
    render = partial(history_call, call_json=lambda action: _call_json(arguments_for(action, screen)))
    return agent_query(system_prompt(screen.model_size), instruction, history, render, feedback)


# ----- writing ------------------------------------------------------------------------------

def _model_point(screen: Screen, x: float, y: float, space: str = SPACE) -> list[int]:
    mx, my = screen.from_frame(space).apply(x, y)
    return [rounded(mx), rounded(my)]


def arguments_for(action, screen: Screen, target=None, space: str = SPACE) -> dict:
    """The `mobile_use` arguments for an Action (frame px); a tap with `target` = (label, box
    frame px) clicks the box centre, as the tool description asks."""
    if isinstance(action, (Tap, LongPress)) and target is not None:
        x1, y1, x2, y2 = target[1]
        action = action.model_copy(update={"x": (x1 + x2) / 2, "y": (y1 + y2) / 2})
    point = partial(_model_point, screen, space=space)
    if isinstance(action, Tap):
        return {"action": "click", "coordinate": point(action.x, action.y)}
    if isinstance(action, LongPress):
        return {"action": "long_press", "coordinate": point(action.x, action.y), "time": action.seconds}
    if isinstance(action, (Swipe, Scroll)):
        stroke = ((action.x1, action.y1, action.x2, action.y2) if isinstance(action, Swipe)
                  else scroll_stroke(action.direction, screen.frame_size, action.x, action.y))
        return {"action": "swipe", "coordinate": point(*stroke[:2]),
                "coordinate2": point(*stroke[2:])}
    if isinstance(action, TypeText):
        if action.submit:
            raise AnswerFormatError(repr(action), "mobile_use has no submit: write system_button Enter next")
        return {"action": "type", "text": action.text}
    if isinstance(action, KeyPress):
        if isinstance(action.key, list):
            raise AnswerFormatError(repr(action), "mobile_use has no hotkeys")
        button = {v: k for k, v in BUTTONS.items()}.get(action.key)
        return {"action": "system_button", "button": button} if button else {"action": "key", "text": action.key}
    if isinstance(action, OpenApp):
        return {"action": "open", "text": action.app}
    if isinstance(action, Wait):
        return {"action": "wait", "time": action.seconds}
    if isinstance(action, Answer):
        return {"action": "answer", "text": action.text}
    if isinstance(action, Finish):
        return {"action": "terminate", "status": action.status}
    raise AnswerFormatError(repr(action), f"mobile_use has no form for {getattr(action, 'type', type(action).__name__)}")


def format_answer(action, screen: Screen, target=None, thought: str | None = None) -> str:
    """The answer a Qwen2.5-VL model gives for `action` (training targets, round-trip tests)."""
    return f"{CALL_START}\n{_call_json(arguments_for(action, screen, target))}\n{CALL_END}"


# ----- parsing ------------------------------------------------------------------------------

def _text(arguments: dict, raw: str, action: str) -> str:
    value = arguments.get("text")
    if not isinstance(value, str):
        raise AnswerFormatError(raw, f"action={action} needs \"text\": a string")
    return value


def _seconds(arguments: dict, raw: str, default: float) -> float:
    return default if arguments.get("time") is None else number(arguments["time"], raw, "time")


def _frame_point(arguments: dict, key: str, raw: str, screen: Screen, space: str) -> tuple[float, float]:
    if key not in arguments:
        raise AnswerFormatError(raw, f"action={arguments.get('action')} needs \"{key}\": [x, y]")
    x, y = point_pair(arguments[key], raw, key)
    return screen.point_to_frame(space, x, y)


def action_from_arguments(arguments: dict, raw: str, screen: Screen, space: str = SPACE):
    """The Action (frame px) for `mobile_use` arguments whose coordinates are in `space`."""
    name = arguments.get("action")
    if name not in ACTIONS:
        raise AnswerFormatError(raw, f"unknown mobile_use action {shown(str(name))}; expected one of {', '.join(ACTIONS)}")
    if name == "click":
        x, y = _frame_point(arguments, "coordinate", raw, screen, space)
        return build(raw, name, lambda: Tap(x=x, y=y))
    if name == "long_press":
        x, y = _frame_point(arguments, "coordinate", raw, screen, space)
        return build(raw, name, lambda: LongPress(x=x, y=y, seconds=_seconds(arguments, raw, 1.0)))
    if name == "swipe":
        x1, y1 = _frame_point(arguments, "coordinate", raw, screen, space)
        x2, y2 = _frame_point(arguments, "coordinate2", raw, screen, space)
        return build(raw, name, lambda: Swipe(x1=x1, y1=y1, x2=x2, y2=y2))
    if name == "type":
        return build(raw, name, lambda: TypeText(text=_text(arguments, raw, name)))
    if name == "key":
        return build(raw, name, lambda: KeyPress(key=_text(arguments, raw, name)))
    if name == "system_button":
        button = arguments.get("button")
        if button not in BUTTONS:
            raise AnswerFormatError(raw, f"system_button needs \"button\": one of {', '.join(BUTTONS)}")
        return KeyPress(key=BUTTONS[button])
    if name == "open":
        return build(raw, name, lambda: OpenApp(app=_text(arguments, raw, name)))
    if name == "wait":
        return build(raw, name, lambda: Wait(seconds=_seconds(arguments, raw, 1.0)))
    if name == "answer":
        return build(raw, name, lambda: Answer(text=_text(arguments, raw, name)))
    status = arguments.get("status")
    if status not in ("success", "failure"):
        raise AnswerFormatError(raw, "terminate needs \"status\": \"success\" or \"failure\"")
    return Finish(status=status)


def tool_call_arguments(raw: str, tool: str) -> tuple[dict, str | None]:
    """(arguments, thought) of the one `<tool_call>` in an answer naming `tool`. Text before
    the call is the thought; a missing `</tool_call>` at the very end (a cut answer) is tolerated."""
    body = raw.strip().removesuffix("<|im_end|>").rstrip()
    start = body.find(CALL_START)
    if start < 0:
        raise AnswerFormatError(raw, f'answer with {CALL_START}{{"name": "{tool}", "arguments": {{...}}}}{CALL_END}')
    end = body.find(CALL_END, start)
    call_text = body[start + len(CALL_START): end if end >= 0 else None].strip()
    rest = body[end + len(CALL_END):].strip() if end >= 0 else ""
    if CALL_START in rest:
        raise AnswerFormatError(raw, "answer with exactly one tool call")
    call = json_object(call_text, raw, "the tool call")
    if call.get("name") != tool:
        raise AnswerFormatError(raw, f"the tool call must name {tool!r}, got {shown(str(call.get('name')))}")
    arguments = call.get("arguments")
    if isinstance(arguments, str):  # some servers re-encode arguments as a JSON string
        arguments = json_object(arguments, raw, "the arguments")
    if not isinstance(arguments, dict):
        raise AnswerFormatError(raw, "the tool call needs \"arguments\": {\"action\": ...}")
    return arguments, body[:start].strip() or None


def parse(text: str, screen: Screen) -> ProfileAnswer:
    """One `<tool_call>` answer -> ProfileAnswer (frame px)."""
    raw = check_answer(text)
    arguments, thought = tool_call_arguments(raw, TOOL)
    return ProfileAnswer(action_from_arguments(arguments, raw, screen), thought=thought)

PROFILE = Profile(name=NAME, space=SPACE, messages=messages, parse=parse, format_answer=format_answer,
                  min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS,
                  description="Qwen2.5-VL mobile_use tool calls, model-input px")
