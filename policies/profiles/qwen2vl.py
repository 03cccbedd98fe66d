"""Qwen2-VL-Instruct: Qwen-Agent's function-call template with a `mobile_use` tool, 0..1000.

Sources: Qwen2-VL's README ("Function Calling": agents through Qwen-Agent) and Qwen-Agent's
`qwen_fncall_prompt.py` (the template Qwen2 models were tuned on): the system message is the
default one followed by "# Tools / ## You have access to the following tools:", one
"### name" section per tool ("name: description Parameters: {JSON schema} Format the arguments
as a JSON object."), and the ✿FUNCTION✿ / ✿ARGS✿ / ✿RESULT✿ / ✿RETURN✿ call format. The model answers

    ✿FUNCTION✿: mobile_use
    ✿ARGS✿: {"action": "click", "coordinate": [x, y]}

The tool is Qwen2.5-VL's `mobile_use` (same actions, `policies.profiles.qwen25vl`) with one
change: coordinates are Qwen2-VL's grounding space, relative 0..1000 of the image ("norm1000"),
since Qwen2-VL grounds in that space (its box tokens) and not in px. A bare grounding answer,
`<|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>`, which is
what Qwen2-VL-Instruct writes when asked where to click, is read as a tap on the box centre.
The user turn is the Qwen agent query ("The user query: ...\\nTask progress ...") with the last
`base.HISTORY_STEPS` calls' arguments, then the screenshot; feedback follows as text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial

from vlagent.agent.actions import Tap
from vlagent.perception.chat import DEFAULT_SYSTEM_PROMPT
from vlagent.perception.coords import apply_box, clamp_point
from vlagent.perception.grounding import OBJECT_REF_START, GroundingParseError, parse_groundings
from vlagent.perception.special_tokens import BOX_START
from vlagent.policies.profiles import qwen25vl
from vlagent.policies.profiles.base import (
    AnswerFormatError,
    HistoryItem,
    Profile,
    ProfileAnswer,
    Screen,
    check_answer,
    json_object,
    shown,
)

NAME = "qwen2-vl"
SPACE = "norm1000"
TOOL = qwen25vl.TOOL
FN_NAME, FN_ARGS, FN_RESULT, FN_EXIT = "✿FUNCTION✿", "✿ARGS✿", "✿RESULT✿", "✿RETURN✿"
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28


def tool_function() -> dict:
    """`mobile_use` with its coordinates described in 0..1000."""
    function = json.loads(json.dumps(qwen25vl.tool_schema((1000, 1000))["function"]))
    function["description"] = function["description"].replace(
        "* The screen's resolution is 1000x1000.",
        "* Coordinates are relative: (0, 0) is the top-left corner and (1000, 1000) the bottom-right of the screen.")
    for key in ("coordinate", "coordinate2"):
        prop = function["parameters"]["properties"][key]
        prop["description"] = prop["description"].replace("(pixels from the left edge)", "(0-1000, from the left edge)") \
            .replace("(pixels from the top edge)", "(0-1000, from the top edge)")
    return function


def system_prompt() -> str:
    function = tool_function()
    tool = (f"### {function['name_for_human']}\n\n{function['name']}: {function['description']} "
            f"Parameters: {json.dumps(function['parameters'], ensure_ascii=False)} {function['args_format']}")
    return (f"{DEFAULT_SYSTEM_PROMPT}\n\n# Tools\n\n## You have access to the following tools:\n\n{tool}\n\n"
            "## When you need to call a tool, please insert the following command in your reply, which can be "
            "called zero or multiple times according to your needs:\n\n"
            f"{FN_NAME}: The tool to use, should be one of [{TOOL}]\n"
            f"{FN_ARGS}: The input of the tool\n"
            f"{FN_RESULT}: Tool results\n"
            f"{FN_EXIT}: Reply based on tool results. Images need to be rendered as ![](url)")


def messages(instruction: str, history: Sequence[HistoryItem], screen: Screen, feedback: str | None = None) -> list[dict]:
    """The Qwen agent query (policies.profiles.qwen25vl.agent_query), each step as its ✿ARGS✿ JSON."""
    def args_json(action) -> str:
        return json.dumps(qwen25vl.arguments_for(action, screen, space=SPACE), ensure_ascii=False)

    render = partial(qwen25vl.history_call, call_json=args_json, tool_call_start=FN_ARGS, tool_call_end=FN_RESULT)
    return qwen25vl.agent_query(system_prompt(), instruction, history, render, feedback)


def format_answer(action, screen: Screen, target=None, thought: str | None = None) -> str:
    arguments = qwen25vl.arguments_for(action, screen, target, space=SPACE)
    return f"{FN_NAME}: {TOOL}\n{FN_ARGS}: {json.dumps(arguments, ensure_ascii=False)}"


def _grounding_tap(raw: str, body: str, screen: Screen) -> ProfileAnswer:
    try:
        groundings = parse_groundings(body)
    except GroundingParseError as error:
        raise AnswerFormatError(raw, f"bad box: {str(error)[:200]}") from None
    boxes = [(g.label, box) for g in groundings for box in g.boxes]
    if len(boxes) != 1:
        raise AnswerFormatError(raw, f"a grounding answer must hold exactly one box, got {len(boxes)}")
    label, box = boxes[0]
    x1, y1, x2, y2 = apply_box(screen.to_frame(SPACE), box)
    x, y = clamp_point((x1 + x2) / 2, (y1 + y2) / 2, screen.frame_size)
    return ProfileAnswer(Tap(x=x, y=y), label=label or None, box_norm=box)


def parse(text: str, screen: Screen) -> ProfileAnswer:
    raw = check_answer(text)
    body = raw.strip().removesuffix("<|im_end|>").rstrip()
    at = body.find(FN_NAME)
    if at < 0:
        if BOX_START in body or OBJECT_REF_START in body:
            return _grounding_tap(raw, body, screen)
        raise AnswerFormatError(raw, f"answer with {FN_NAME}: {TOOL} and a line {FN_ARGS}: {{...}}")
    name_part, sep, rest = body[at + len(FN_NAME):].partition(FN_ARGS)
    name = name_part.strip().lstrip(":").strip()
    if not sep:
        raise AnswerFormatError(raw, f"the call needs a line {FN_ARGS}: {{\"action\": ...}}")
    if name != TOOL:
        raise AnswerFormatError(raw, f"the tool must be {TOOL!r}, got {shown(name)}")
    args_text = rest.lstrip().removeprefix(":").split(FN_RESULT, 1)[0].split(FN_EXIT, 1)[0].strip()
    if FN_NAME in args_text:
        raise AnswerFormatError(raw, "answer with exactly one tool call")
    arguments = json_object(args_text, raw, "the arguments")
    action = qwen25vl.action_from_arguments(arguments, raw, screen, space=SPACE)
    return ProfileAnswer(action, thought=body[:at].strip() or None)


PROFILE = Profile(name=NAME, space=SPACE, messages=messages, parse=parse, format_answer=format_answer,
                  min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS,
                  description="Qwen2-VL-Instruct: Qwen-Agent function calls (mobile_use), 0..1000")
