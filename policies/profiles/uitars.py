'''UI-TARS (ByteDance): "Thought: ... / Action: name(...)" answers, two versions.

Sources: github.com/bytedance/UI-TARS, `README_v1.md` ("Prompt Templates", mobile) for UI-TARS
1.0 (Qwen2-VL based) and `codes/ui_tars/prompt.py` (`MOBILE_USE_DOUBAO`; `COMPUTER_USE_DOUBAO`
for desktops, profile "ui-tars-1.5-computer") for UI-TARS 1.5 (Qwen2.5-VL based); `README_coordinates.md` for the coordinate spaces:
- "ui-tars" (1.0): `click(start_box='<|box_start|>(x1,y1)<|box_end|>')`, relative 0..1000 ("norm1000");
- "ui-tars-1.5": `click(point='<point>x1 y1</point>')`, absolute px of the smart-resized image
  (min_pixels 100x28x28, max_pixels 16384x28x28 by default; "model_px").
The parser reads every form either version writes (`<point>x y</point>`, `(x,y)`,
`<|box_start|>(x,y)<|box_end|>`, a box `[x1, y1, x2, y2]` meaning its centre); which space the
numbers are in is the version's, never guessed from the form.

Messages follow the UI-TARS agents (OSWorld's `uitars_agent.py`, UI-TARS-desktop): the prompt
with the instruction as the first user turn, the model's previous answers as assistant turns
(its thoughts and actions, the last `base.HISTORY_STEPS`), then the current screenshot as the
last user turn. Past screenshots are not re-sent: one image per request keeps prefill bounded.
`finished(content='...')` with content is the task's answer: it becomes `Answer`, and the next
step finishes without asking the model (`follow_up`).
'''

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial

from vlagent.agent.actions import (
    Answer,
    Click,
    DoubleTap,
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
from vlagent.perception.special_tokens import BOX_END, BOX_START
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
    describe,
    number,
    recent,
    rounded,
    shown,
)
from vlagent.policies.profiles.calls import parse_call, quote

MIN_PIXELS = 100 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28
WAIT_SECONDS = 5.0  # "wait() #Sleep for 5s" in the prompt
_NUMBER = re.compile(r"-?\d{1,12}(?:\.\d{1,8})?")

# README_v1.md's mobile template, a raw string there: its "\n" after the fences are two
# characters, kept as written since the model was prompted with exactly this text.
PROMPT_V1 = r"""You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task. 

## Output Format
```\nThought: ...
Action: ...\n```

## Action Space
click(start_box='<|box_start|>(x1,y1)<|box_end|>')
long_press(start_box='<|box_start|>(x1,y1)<|box_end|>', time='')
type(content='')
scroll(start_box='<|box_start|>(x1,y1)<|box_end|>', end_box='<|box_start|>(x3,y3)<|box_end|>')
press_home()
press_back()
finished(content='') # Submit the task regardless of whether it succeeds or fails.

## Note
- Use English in `Thought` part.

- Write a small plan and finally summarize your next action (with its target element) in one sentence in `Thought` part.

## User Instruction
"""  # noqa: W291 (the trailing space is the template's)

# codes/ui_tars/prompt.py MOBILE_USE_DOUBAO with language=English, as the string it evaluates to.
PROMPT_V15 = r"""You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task. 
## Output Format
```
Thought: ...
Action: ...
```
## Action Space

click(point='<point>x1 y1</point>')
long_press(point='<point>x1 y1</point>')
type(content='') #If you want to submit your input, use "\n" at the end of `content`.
scroll(point='<point>x1 y1</point>', direction='down or up or right or left')
open_app(app_name='')
drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')
press_home()
press_back()
finished(content='xxx') # Use escape characters \', \", and \n in content part to ensure we can parse the content in normal python string format.


## Note
- Use English in `Thought` part.
- Write a small plan and finally summarize your next action (with its target element) in one sentence in `Thought` part.

## User Instruction
"""  # noqa: W291


# codes/ui_tars/prompt.py COMPUTER_USE_DOUBAO (desktops) with language=English, as the string it evaluates to.
PROMPT_V15_COMPUTER = (
    'You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task.\n'
    '\n'
    '## Output Format\n'
    '```\n'
    'Thought: ...\n'
    'Action: ...\n'
    '```\n'
    '\n'
    '## Action Space\n'
    '\n'
    "click(point='<point>x1 y1</point>')\n"
    "left_double(point='<point>x1 y1</point>')\n"
    "right_single(point='<point>x1 y1</point>')\n"
    "drag(start_point='<point>x1 y1</point>', end_point='<point>x2 y2</point>')\n"
    "hotkey(key='ctrl c') # Split keys with a space and use lowercase. Also, do not use more than 3 keys in one hotkey action.\n"
    'type(content=\'xxx\') # Use escape characters \\\', \\", and \\n in content part to ensure we can parse the content in normal python string format. If you want to submit your input, use \\n at the end of content. \n'
    "scroll(point='<point>x1 y1</point>', direction='down or up or right or left') # Show more information on the `direction` side.\n"
    'wait() #Sleep for 5s and take a screenshot to check for any changes.\n'
    'finished(content=\'xxx\') # Use escape characters \\\', \\", and \\n in content part to ensure we can parse the content in normal python string format.\n'
    '\n'
    '\n'
    '## Note\n'
    '- Use English in `Thought` part.\n'
    '- Write a small plan and finally summarize your next action (with its target element) in one sentence in `Thought` part.\n'
    '\n'
    '## User Instruction\n'
)
PROMPTS = {"1.0": PROMPT_V1, "1.5": PROMPT_V15, "1.5-computer": PROMPT_V15_COMPUTER}


def messages(instruction: str, history: Sequence[HistoryItem], screen: Screen, feedback: str | None = None, *,
             version: str) -> list[dict]:
    prompt = PROMPTS[version] + instruction
    out: list[dict] = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    for item in recent(history):
        out.append({"role": "assistant", "content": _history_answer(item, screen, version)})
    last = [{"type": "image"}]
    if feedback:
        last.append({"type": "text", "text": f"Feedback: {clipped(feedback, FEEDBACK_CHARS)}"})
    out.append({"role": "user", "content": last})
    return out


def _history_answer(item: HistoryItem, screen: Screen, version: str) -> str:
    if item.raw_text and "Action:" in item.raw_text:
        return clipped(item.raw_text.strip().removesuffix("<|im_end|>").rstrip())
    try:
        return format_answer(item.action, screen, None, item.thought or describe(item.action, item.label),
                             version=version)
    except AnswerFormatError:
        return f"Thought: {describe(item.action, item.label)}\nAction: {getattr(item.action, 'type', 'unknown')}()"


# ----- writing ------------------------------------------------------------------------------

def _space(version: str) -> str:
    return "norm1000" if version == "1.0" else "model_px"


def _point_text(screen: Screen, version: str, x: float, y: float) -> str:
    mx, my = screen.from_frame(_space(version)).apply(x, y)
    if version == "1.0":
        return quote(f"{BOX_START}({rounded(mx)},{rounded(my)}){BOX_END}")
    return quote(f"<point>{rounded(mx)} {rounded(my)}</point>")


def _call(action, screen: Screen, version: str) -> str:
    point = partial(_point_text, screen, version)
    key = "start_box" if version == "1.0" else "point"
    if isinstance(action, Click) and action.clicks == 2:
        return f"left_double({key}={point(action.x, action.y)})"
    if isinstance(action, (Tap, Click)) and getattr(action, "button", "left") == "left":
        return f"click({key}={point(action.x, action.y)})"
    if isinstance(action, Click):
        return f"right_single({key}={point(action.x, action.y)})"
    if isinstance(action, DoubleTap):
        return f"left_double({key}={point(action.x, action.y)})"
    if isinstance(action, LongPress):
        return f"long_press({key}={point(action.x, action.y)})"
    if isinstance(action, Scroll) and version != "1.0":
        x, y = (action.x, action.y) if action.x is not None else (screen.frame_size[0] / 2, screen.frame_size[1] / 2)
        return f"scroll(point={point(x, y)}, direction='{action.direction}')"
    if isinstance(action, (Swipe, Scroll)):
        x1, y1, x2, y2 = ((action.x1, action.y1, action.x2, action.y2) if isinstance(action, Swipe)
                          else scroll_stroke(action.direction, screen.frame_size, action.x, action.y))
        if version == "1.0":
            return f"scroll(start_box={point(x1, y1)}, end_box={point(x2, y2)})"
        return f"drag(start_point={point(x1, y1)}, end_point={point(x2, y2)})"
    if isinstance(action, TypeText):
        content = action.text + "\n" if action.submit else action.text  # "\n" at the end submits
        return f"type(content={quote(content)})"
    if isinstance(action, KeyPress) and action.key in ("home", "back"):
        return f"press_{action.key}()"
    if isinstance(action, KeyPress):
        keys = action.key if isinstance(action.key, list) else [action.key]
        return f"hotkey(key={quote(' '.join(keys))})"
    if isinstance(action, OpenApp):
        return f"open_app(app_name={quote(action.app)})"
    if isinstance(action, Wait):
        return "wait()"
    if isinstance(action, Answer):
        return f"finished(content={quote(action.text)})"
    if isinstance(action, Finish):
        return "finished(content='')" if action.status == "success" else "call_user()"
    raise AnswerFormatError(repr(action), f"UI-TARS has no form for {getattr(action, 'type', type(action).__name__)}")


def format_answer(action, screen: Screen, target=None, thought: str | None = None, *, version: str) -> str:
    """The answer UI-TARS gives for `action` (frame px; a tap with `target` = (label, box frame px)
    acts on the box centre)."""
    label = None
    if isinstance(action, (Tap, LongPress)) and target is not None:
        label, (x1, y1, x2, y2) = target
        action = action.model_copy(update={"x": (x1 + x2) / 2, "y": (y1 + y2) / 2})
    return f"Thought: {thought or describe(action, label)}\nAction: {_call(action, screen, version)}"


# ----- parsing ------------------------------------------------------------------------------

def _point(arguments: dict, keys: tuple[str, ...], raw: str, screen: Screen, version: str):
    """The first of `keys` present, as a frame-px point (a box means its centre), or None."""
    for key in keys:
        if key in arguments:
            value = arguments[key][:200]
            numbers = [number(v, raw, key) for v in _NUMBER.findall(value)]
            if len(numbers) == 4:
                numbers = [(numbers[0] + numbers[2]) / 2, (numbers[1] + numbers[3]) / 2]
            if len(numbers) != 2:
                raise AnswerFormatError(raw, f"{key} must hold one point like '<point>x y</point>', got {shown(value)}")
            return screen.point_to_frame(_space(version), *numbers)
    return None


def _needed(point, raw: str, name: str):
    if point is None:
        raise AnswerFormatError(raw, f"{name}(...) needs a point: point='<point>x y</point>'")
    return point


_START = ("point", "start_box", "start_point")
_END = ("end_point", "end_box")


def _action(name: str, arguments: dict, raw: str, screen: Screen, version: str):
    start = _point(arguments, _START, raw, screen, version)
    if name in ("click", "left_single"):
        x, y = _needed(start, raw, name)
        return Tap(x=x, y=y)
    if name == "left_double":
        x, y = _needed(start, raw, name)
        return DoubleTap(x=x, y=y)
    if name == "right_single":
        x, y = _needed(start, raw, name)
        return Click(x=x, y=y, button="right")
    if name == "long_press":
        x, y = _needed(start, raw, name)
        seconds = number(arguments["time"], raw, "time") if arguments.get("time", "").strip() else 1.0
        return build(raw, name, lambda: LongPress(x=x, y=y, seconds=seconds))
    if name in ("drag", "swipe") or (name == "scroll" and "direction" not in arguments):
        end = _point(arguments, _END, raw, screen, version)
        (x1, y1), (x2, y2) = _needed(start, raw, name), _needed(end, raw, name)
        return Swipe(x1=x1, y1=y1, x2=x2, y2=y2)
    if name == "scroll":
        direction = arguments["direction"].strip().lower()
        x, y = start if start is not None else (None, None)
        return build(raw, name, lambda: Scroll(direction=direction, x=x, y=y))
    if name == "type":
        text = arguments.get("content", "")
        submit = text.endswith("\n")
        return build(raw, name, lambda: TypeText(text=text[:-1] if submit else text, submit=submit))
    if name == "hotkey":
        keys = arguments.get("key", arguments.get("hotkey", "")).split()
        return build(raw, name, lambda: KeyPress(key=keys[0] if len(keys) == 1 else keys))
    if name in ("press_home", "press_back"):
        return KeyPress(key=name.removeprefix("press_"))
    if name == "open_app":
        return build(raw, name, lambda: OpenApp(app=arguments.get("app_name", "")))
    if name == "wait":
        return Wait(seconds=WAIT_SECONDS)
    if name == "finished":
        content = arguments.get("content", "")
        return build(raw, name, lambda: Answer(text=content)) if content.strip() else Finish(status="success")
    if name == "call_user":
        return Finish(status="failure", reason="the model called the user")
    raise AnswerFormatError(raw, f"unknown UI-TARS action {shown(name)}")


def parse(text: str, screen: Screen, *, version: str) -> ProfileAnswer:
    raw = check_answer(text)
    body = raw.strip().removesuffix("<|im_end|>").rstrip()
    at = 0 if body.startswith("Action:") else body.find("\nAction:") + 1
    if at == 0 and not body.startswith("Action:"):
        raise AnswerFormatError(raw, "answer with 'Thought: ...' then a line 'Action: ...'")
    thought = body[:at].strip()
    thought = thought.removeprefix("Thought:").strip() or None
    name, arguments = parse_call(body[at + len("Action:"):], raw)
    return ProfileAnswer(_action(name, arguments, raw, screen, version), thought=thought)


def follow_up(history: Sequence[HistoryItem], screen: Screen, *, version: str):
    """After `finished(content='...')` (an Answer), the task is over: Finish without asking."""
    if history and isinstance(history[-1].action, Answer) and "finished(" in history[-1].raw_text:
        return Finish(status="success", reason="the model answered and finished")
    return None


def _profile(name: str, version: str, description: str) -> Profile:
    return Profile(name=name, space=_space(version), messages=partial(messages, version=version),
                   parse=partial(parse, version=version), format_answer=partial(format_answer, version=version),
                   min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, description=description,
                   follow_up=partial(follow_up, version=version))


PROFILE_V1 = _profile("ui-tars", "1.0", "UI-TARS 1.0 (Qwen2-VL based): start_box, 0..1000")
PROFILE_V15 = _profile("ui-tars-1.5", "1.5", "UI-TARS 1.5 (Qwen2.5-VL based): <point>, model-input px")
PROFILE_V15_COMPUTER = _profile("ui-tars-1.5-computer", "1.5-computer",
                                "UI-TARS 1.5 on desktops (COMPUTER_USE template): <point>, model-input px")
