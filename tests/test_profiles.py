"""Prompt profiles (policies/profiles): golden prompts, documented answers, coordinates, choice, fuzz.

Example answers are quoted from each family's public documentation (cited at each), and the
frame px they must land on are computed here from the documented coordinate space, not with
the profile's own transforms. Golden prompts live in tests/golden/profiles/NAME.txt; after a
deliberate prompt change, regenerate them with VLAGENT_UPDATE_GOLDEN=1 and review the diff.
"""

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlagent.agent.actions import (
    Answer,
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
from vlagent.agent.errors import PolicyOutputError
from vlagent.perception.chat import render_chat
from vlagent.perception.processor import smart_resize
from vlagent.policies.profiles import (
    PROFILES,
    choose_profile,
    get_profile,
    profile_for_model_dir,
    profile_for_name,
)
from vlagent.policies.profiles.base import AnswerFormatError, HistoryItem, ProfileError, Screen

GOLDEN = Path(__file__).parent / "golden" / "profiles"
FRAME = (1080.0, 2400.0)
TASK = "Send 'on my way' to Grace García"
BUDGETS = (28 * 28 * 128, 28 * 28 * 1280, 16384 * 28 * 28)  # px of the resized input


def screen(max_pixels: int = BUDGETS[0]) -> Screen:
    h, w = smart_resize(2400, 1080, 28, 4 * 28 * 28, max_pixels)
    return Screen(FRAME, (float(w), float(h)))


def test_a_1080x2400_screen_resizes_differently_at_each_budget():
    sizes = [screen(b).model_size for b in BUDGETS]
    assert sizes == [(196.0, 448.0), (672.0, 1484.0), (1092.0, 2408.0)]  # never the frame's own size


def history(profile) -> list[HistoryItem]:
    """Two earlier steps as the model answered them: tap Messages, tap Grace García."""
    s = screen()
    steps = [(Tap(x=0, y=0), ("Messages", (300.0, 1900.0, 420.0, 2020.0))),
             (Tap(x=0, y=0), ("Grace García", (40.0, 600.0, 1040.0, 760.0)))]
    items = []
    for action, target in steps:
        x1, y1, x2, y2 = target[1]
        done = action.model_copy(update={"x": (x1 + x2) / 2, "y": (y1 + y2) / 2})
        items.append(HistoryItem(done, profile.format_answer(action, s, target), target[0]))
    return items


def rendered(name: str) -> str:
    profile = get_profile(name)
    return render_chat(profile.messages(TASK, history(profile), screen()))


@pytest.mark.parametrize("name", list(PROFILES))
def test_prompt_equals_its_golden_file(name):
    path = GOLDEN / f"{name}.txt"
    text = rendered(name)
    if os.environ.get("VLAGENT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def _turns(text: str) -> list[tuple[str, str]]:
    out = []
    for chunk in text.split("<|im_start|>")[1:]:
        role, _, body = chunk.partition("\n")
        out.append((role, body.removesuffix("\n").removesuffix("<|im_end|>")))
    return out


IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"


def test_qwen25vl_prompt_is_the_cookbook_shape():
    """Qwen2.5-VL cookbook (mobile_agent.ipynb, agent_function_call.py MobileUse, rendered by
    Qwen-Agent's NousFnCallPrompt): tools in <tools>, the resized resolution, the query, the progress."""
    turns = _turns(rendered("qwen2.5-vl"))
    assert [role for role, _ in turns] == ["system", "user", "assistant"]
    system, user = turns[0][1], turns[1][1]
    assert system.startswith("You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions")
    tools = json.loads(system.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0])
    function = tools["function"]
    assert tools["type"] == "function" and function["name"] == "mobile_use"
    assert "* The screen's resolution is 196x448." in function["description"]
    assert function["parameters"]["properties"]["action"]["enum"] == [
        "key", "click", "long_press", "swipe", "type", "answer", "system_button", "open", "wait", "terminate"]
    assert function["parameters"]["properties"]["button"]["enum"] == ["Back", "Home", "Menu", "Enter"]
    assert system.endswith('<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>')
    query, image = user.split(IMAGE)
    assert image == ""  # the screenshot closes the turn
    head = f"The user query: {TASK}\nTask progress (You have done the following operation on the current device): "
    assert query.startswith(head)
    steps = query[len(head):]
    assert steps.startswith('Step 1: {"name": "mobile_use", "arguments": {"action": "click", "coordinate": [65, 366]}}; ')
    assert steps.endswith('Step 2: {"name": "mobile_use", "arguments": {"action": "click", "coordinate": [98, 127]}}; ')


def test_qwen25vl_first_step_says_none_and_feedback_follows_the_image():
    profile = get_profile("qwen2.5-vl")
    turns = _turns(render_chat(profile.messages(TASK, [], screen(), "Your previous output could not be used")))
    assert turns[1][1].split(IMAGE)[0].endswith("on the current device): None")
    assert turns[1][1].endswith(IMAGE + "Feedback: Your previous output could not be used")


def test_qwen2vl_prompt_is_qwen_agents_function_call_template():
    """Qwen-Agent qwen_fncall_prompt.py (English): '# Tools', '## You have access to the following
    tools:', '### name', 'name: description Parameters: {...} Format the arguments as a JSON object.'"""
    turns = _turns(rendered("qwen2-vl"))
    system, user = turns[0][1], turns[1][1]
    assert system.startswith("You are a helpful assistant.\n\n# Tools\n\n## You have access to the following tools:"
                             "\n\n### mobile_use\n\nmobile_use: Use a touchscreen")
    parameters = json.loads(system.split(" Parameters: ", 1)[1].split(" Format the arguments as a JSON object.")[0])
    assert parameters["required"] == ["action"]
    assert "0-1000" in parameters["properties"]["coordinate"]["description"]
    assert system.endswith("✿FUNCTION✿: The tool to use, should be one of [mobile_use]\n✿ARGS✿: The input of the tool\n"
                           "✿RESULT✿: Tool results\n✿RETURN✿: Reply based on tool results. Images need to be rendered "
                           "as ![](url)")
    assert 'Step 1: {"action": "click", "coordinate": [333, 817]}; ' in user  # norm-1000 of (360, 1960)
    assert user.endswith(IMAGE)


@pytest.mark.parametrize("name,action_line", [
    ("ui-tars", "click(start_box='<|box_start|>(x1,y1)<|box_end|>')"),
    ("ui-tars-1.5", "click(point='<point>x1 y1</point>')"),
])
def test_uitars_prompt_is_the_readme_template_then_previous_answers_then_the_screenshot(name, action_line):
    """UI-TARS README_v1.md (mobile template) / codes/ui_tars/prompt.py (MOBILE_USE_DOUBAO); the
    history as the UI-TARS agents send it: previous answers as assistant turns."""
    turns = _turns(rendered(name))
    assert [role for role, _ in turns] == ["system", "user", "assistant", "assistant", "user", "assistant"]
    prompt = turns[1][1]
    assert prompt.startswith("You are a GUI agent. You are given a task and your action history, with screenshots.")
    assert action_line in prompt and "press_home()\npress_back()\n" in prompt
    assert prompt.endswith(f"## User Instruction\n{TASK}")
    assert turns[2][1].startswith("Thought: Tap Messages.\nAction: click(")
    assert turns[3][1].startswith("Thought: Tap Grace García.\nAction: click(")
    assert turns[4][1] == IMAGE


def test_desktop_forms_use_the_families_computer_templates():
    """Qwen2.5-VL cookbook computer_use.ipynb (ComputerUse tool); UI-TARS codes/ui_tars/prompt.py
    COMPUTER_USE_DOUBAO."""
    turns = _turns(rendered("qwen2.5-vl-computer"))
    tools = json.loads(turns[0][1].split("<tools>\n", 1)[1].split("\n</tools>", 1)[0])
    assert tools["function"]["name"] == "computer_use"
    assert tools["function"]["description"].startswith("Use a mouse and keyboard to interact with a computer")
    assert "* The screen's resolution is 196x448." in tools["function"]["description"]
    assert tools["function"]["parameters"]["properties"]["action"]["enum"][:4] == [
        "key", "type", "mouse_move", "left_click"]
    assert '"action": "left_click", "coordinate": [65, 366]' in turns[1][1]
    prompt = _turns(rendered("ui-tars-1.5-computer"))[1][1]
    assert "left_double(point='<point>x1 y1</point>')\nright_single(point='<point>x1 y1</point>')" in prompt
    assert "hotkey(key='ctrl c') # Split keys with a space and use lowercase." in prompt
    assert "press_home()" not in prompt


@pytest.mark.parametrize("arguments,action", [
    ({"action": "left_click", "coordinate": [98, 224]}, "Click(x=540, y=1200, button='left')"),
    ({"action": "right_click", "coordinate": [98, 224]}, "Click(x=540, y=1200, button='right')"),
    ({"action": "double_click", "coordinate": [98, 224]}, "Click(x=540, y=1200, clicks=2)"),
    ({"action": "mouse_move", "coordinate": [196, 448]}, "Hover(x=1080, y=2400)"),
    ({"action": "type", "text": "hello\n"}, "TypeText(text='hello', submit=True)"),
    ({"action": "key", "keys": ["ctrl", "c"]}, "KeyPress(key=['ctrl', 'c'])"),
    ({"action": "key", "keys": ["Return"]}, "KeyPress(key='enter')"),
    ({"action": "scroll", "pixels": -224}, "Scroll(direction='down', amount=0.5)"),
    ({"action": "wait", "time": 2}, "Wait(seconds=2.0)"),
    ({"action": "terminate", "status": "success"}, "Finish(status='success')"),
])
def test_qwen25vl_computer_use_actions(arguments, action):
    from vlagent.agent import actions as A

    text = f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': arguments})}\n</tool_call>"
    assert get_profile("qwen2.5-vl-computer").parse(text, screen()).action == eval(action, vars(A))  # noqa: S307


def test_computer_use_drag_without_a_start_is_refused_and_the_desktop_env_picks_desktop_forms(tmp_path):
    from types import SimpleNamespace

    from vlagent.agent.envs import SimPhoneEnv

    with pytest.raises(AnswerFormatError, match="mouse_move"):
        get_profile("qwen2.5-vl-computer").parse(
            '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click_drag", "coordinate": [1, 2]}}'
            "</tool_call>", screen())
    desktop = SimpleNamespace(device={"kind": "desktop"})  # what DesktopEnv.device says (docs/DESKTOP.md)
    assert choose_profile(model_name="Qwen2.5-VL-7B-Instruct", env=desktop).name == "qwen2.5-vl-computer"
    assert choose_profile(model_name="UI-TARS-1.5-7B", env=desktop).name == "ui-tars-1.5-computer"
    assert choose_profile(model_name="Qwen2-VL-7B", env=desktop).name == "qwen2-vl"  # no desktop form
    assert choose_profile("qwen2.5-vl", env=desktop).name == "qwen2.5-vl"  # named: kept
    phone = SimPhoneEnv(0, state_file=tmp_path / "s.json", fresh=True)
    assert choose_profile(model_name="Qwen2.5-VL-7B-Instruct", env=phone).name == "qwen2.5-vl"
    phone.close()


def test_vlagent_prompt_is_unchanged_by_profiles():
    from vlagent.policies.prompts import agent_prompt

    assert rendered("vlagent") == agent_prompt(TASK, ["tap Messages", "tap Grace García"])


def test_history_is_bounded():
    profile = get_profile("qwen2.5-vl")
    many = [HistoryItem(Tap(x=540, y=1200), "") for _ in range(50)]
    text = render_chat(profile.messages(TASK, many, screen()))
    assert text.count('"action": "click"') == 8 and "Step 43:" in text and "Step 42:" not in text
    uitars = get_profile("ui-tars-1.5")
    assert len(uitars.messages(TASK, many, screen())) == 2 + 8
    long_answer = HistoryItem(Tap(x=1, y=1), "Thought: " + "x" * 5000 + "\nAction: click(point='<point>1 1</point>')")
    assert len(uitars.messages(TASK, [long_answer], screen())[1]["content"]) < 500


# ----- documented answers -> Action in frame px ---------------------------------------------

def to_frame(point, model_size):
    """Model-input px -> frame px, written out here (not the profile's transform)."""
    return point[0] * FRAME[0] / model_size[0], point[1] * FRAME[1] / model_size[1]


def norm_to_frame(point):
    return point[0] * FRAME[0] / 1000, point[1] * FRAME[1] / 1000


@pytest.mark.parametrize("budget", BUDGETS)
def test_qwen25vl_documented_answers_land_on_frame_px(budget):
    """Answer shapes of the Qwen2.5-VL cookbook's mobile agent (mobile_agent.ipynb: a 1080x2400
    phone, resized to 1092x2408, answering <tool_call>{"name": "mobile_use", "arguments":
    {"action": "click", "coordinate": [935, 406]}}</tool_call>); coordinates scaled to each budget."""
    s = screen(budget)
    mw, mh = s.model_size
    parse = get_profile("qwen2.5-vl").parse
    point = [round(935 * mw / 1092), round(406 * mh / 2408)]
    answer = parse(f'<tool_call>\n{{"name": "mobile_use", "arguments": {{"action": "click", "coordinate": {point}}}}}\n'
                   '</tool_call>', s)
    assert isinstance(answer.action, Tap)
    assert (answer.action.x, answer.action.y) == pytest.approx(to_frame(point, s.model_size))
    if budget == BUDGETS[2]:  # the cookbook's own numbers at its own size
        assert (answer.action.x, answer.action.y) == pytest.approx((924.7, 404.7), abs=0.1)
    start, end = [int(mw / 2), int(mh * 0.8)], [int(mw / 2), int(mh * 0.2)]
    arguments = {"action": "swipe", "coordinate": start, "coordinate2": end}
    swipe = parse(f"<tool_call>\n{json.dumps({'name': 'mobile_use', 'arguments': arguments})}\n</tool_call>", s).action
    assert isinstance(swipe, Swipe)
    assert (swipe.x1, swipe.y1) == pytest.approx(to_frame((int(mw / 2), int(mh * 0.8)), s.model_size))
    long_press = parse('<tool_call>\n{"name": "mobile_use", "arguments": {"action": "long_press", "coordinate": '
                       f'[{int(mw)}, 0], "time": 2}}}}\n</tool_call>', s).action
    assert long_press == LongPress(x=1080.0, y=0.0, seconds=2.0)


@pytest.mark.parametrize("arguments,action", [
    ({"action": "open", "text": "File Manager"}, OpenApp(app="File Manager")),
    ({"action": "type", "text": "on my way"}, TypeText(text="on my way")),
    ({"action": "system_button", "button": "Back"}, KeyPress(key="back")),
    ({"action": "system_button", "button": "Enter"}, KeyPress(key="enter")),
    ({"action": "key", "text": "volume_up"}, KeyPress(key="volume_up")),
    ({"action": "wait", "time": 2}, Wait(seconds=2.0)),
    ({"action": "answer", "text": "+33 64 1025 9822"}, Answer(text="+33 64 1025 9822")),
    ({"action": "terminate", "status": "success"}, Finish(status="success")),
    ({"action": "terminate", "status": "failure"}, Finish(status="failure")),
])
def test_qwen25vl_every_documented_action(arguments, action):
    text = f"<tool_call>\n{json.dumps({'name': 'mobile_use', 'arguments': arguments})}\n</tool_call>"
    assert get_profile("qwen2.5-vl").parse(text, screen()).action == action


@pytest.mark.parametrize("budget", BUDGETS)
def test_uitars15_documented_answers_land_on_frame_px(budget):
    """UI-TARS codes/README.md ("Thought: Click the button\\nAction: click(point='<point>200 300</point>')"),
    README_coordinates.md ("Action: click(start_box='(197,525)')", absolute px of the resized image),
    codes/tests/action_parser_test.py (start_box with box tokens); UI-TARS 1.5 = model-input px."""
    s = screen(budget)
    parse = get_profile("ui-tars-1.5").parse
    for text, point in [("Thought: Click the button\nAction: click(point='<point>200 300</point>')", (200, 300)),
                        ("Thought: xxx\nAction: click(start_box='(197,525)')", (197, 525)),
                        ("Thought: test\nAction: click(start_box='<|box_start|>(112,224)<|box_end|>')", (112, 224))]:
        answer = parse(text, s)
        expected = to_frame(point, s.model_size)
        expected = (min(expected[0], FRAME[0]), min(expected[1], FRAME[1]))  # clamped into the frame
        assert isinstance(answer.action, Tap) and (answer.action.x, answer.action.y) == pytest.approx(expected)
    assert parse("Thought: Click the button\nAction: click(point='<point>200 300</point>')", s).thought == \
        "Click the button"


def test_uitars_v1_is_relative_1000():
    """UI-TARS 1.0 (Qwen2-VL based) answers 0..1000 (README_v1.md; ui_tars.action_parser factor=1000)."""
    for budget in BUDGETS:
        answer = get_profile("ui-tars").parse(
            "Thought: Tap Wi-Fi.\nAction: click(start_box='<|box_start|>(500,300)<|box_end|>')", screen(budget))
        assert (answer.action.x, answer.action.y) == pytest.approx(norm_to_frame((500, 300)))
        # codes/README.md's gesture form: a finger stroke (README_v1's mobile scroll).
        swipe = get_profile("ui-tars").parse("Action: scroll(start_box='(800,200)', end_box='(200,800)')",
                                             screen(budget)).action
        assert isinstance(swipe, Swipe)
        assert (swipe.x1, swipe.y1, swipe.x2, swipe.y2) == pytest.approx((*norm_to_frame((800, 200)),
                                                                           *norm_to_frame((200, 800))))


@pytest.mark.parametrize("text,action", [
    # codes/README.md's list of supported forms, and the prompt templates' action spaces.
    ("Action: drag(start_point='<point>98 300</point>', end_point='<point>98 100</point>')",
     Swipe(x1=540, y1=300 * 2400 / 448, x2=540, y2=100 * 2400 / 448)),
    ("Thought: t\nAction: scroll(point='<point>98 224</point>', direction='down')",
     Scroll(direction="down", x=540.0, y=1200.0)),
    ("Thought: t\nAction: long_press(point='<point>98 224</point>')", LongPress(x=540.0, y=1200.0)),
    ("Thought: t\nAction: type(content='on my way\\n')", TypeText(text="on my way", submit=True)),
    ("Thought: t\nAction: type(content='it\\'s \"fine\"')", TypeText(text="it's \"fine\"")),
    ("Thought: t\nAction: open_app(app_name='Messages')", OpenApp(app="Messages")),
    ("Thought: t\nAction: press_home()", KeyPress(key="home")),
    ("Thought: t\nAction: press_back()", KeyPress(key="back")),
    ("Thought: t\nAction: hotkey(key='ctrl c')", KeyPress(key=["ctrl", "c"])),
    ("Thought: t\nAction: left_double(point='<point>98 224</point>')", DoubleTap(x=540.0, y=1200.0)),
    ("Thought: t\nAction: wait()", Wait(seconds=5.0)),
    ("Thought: t\nAction: finished(content='')", Finish(status="success")),
    ("Thought: t\nAction: finished(content='+33 64')", Answer(text="+33 64")),
])
def test_uitars15_every_documented_action(text, action):
    parsed = get_profile("ui-tars-1.5").parse(text, screen()).action
    if isinstance(action, Swipe):
        assert isinstance(parsed, Swipe)
        assert (parsed.x1, parsed.y1, parsed.x2, parsed.y2) == pytest.approx((action.x1, action.y1, action.x2, action.y2))
    else:
        assert parsed == action


def test_uitars_answer_with_content_is_followed_by_finish():
    profile = get_profile("ui-tars-1.5")
    text = "Thought: found it\nAction: finished(content='+33 64')"
    answer = profile.parse(text, screen()).action
    assert profile.follow_up([HistoryItem(answer, text)], screen()) == Finish(status="success",
                                                                               reason="the model answered and finished")
    assert profile.follow_up([HistoryItem(Tap(x=1, y=1), "Action: click(point='<point>1 1</point>')")], screen()) is None


@pytest.mark.parametrize("budget", BUDGETS)
def test_qwen2vl_documented_answers_are_relative_1000(budget):
    """Qwen-Agent's call form (✿FUNCTION✿ name, ✿ARGS✿ JSON) and Qwen2-VL's grounding answer
    (README: <|object_ref_start|>..<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>, 0..1000)."""
    s = screen(budget)
    parse = get_profile("qwen2-vl").parse
    call = parse('✿FUNCTION✿: mobile_use\n✿ARGS✿: {"action": "click", "coordinate": [500, 300]}', s)
    assert (call.action.x, call.action.y) == pytest.approx(norm_to_frame((500, 300)))
    box = parse("<|object_ref_start|>the Wi-Fi toggle<|object_ref_end|><|box_start|>(100,200),(300,400)<|box_end|>", s)
    assert box.label == "the Wi-Fi toggle" and box.box_norm == (100, 200, 300, 400)
    assert (box.action.x, box.action.y) == pytest.approx(norm_to_frame((200, 300)))
    done = parse('✿FUNCTION✿: mobile_use\n✿ARGS✿: {"action": "terminate", "status": "success"}\n✿RETURN✿: done', s)
    assert done.action == Finish(status="success")


@pytest.mark.parametrize("name", list(PROFILES))
def test_written_answers_parse_back_to_the_action(name):
    from vlagent.agent.actions import Click

    profile, s = get_profile(name), screen(BUDGETS[1])
    written = 0
    for action in (Tap(x=540, y=1200), TypeText(text="Idées 💡 'x' \"y\""), KeyPress(key="back"), KeyPress(key="home"),
                   OpenApp(app="Calculator"), Answer(text="+33 64"), Finish(status="success")):
        target = ("Wi-Fi", (500.0, 1150.0, 580.0, 1250.0)) if isinstance(action, Tap) else None
        try:
            text = profile.format_answer(action, s, target)
        except AnswerFormatError:
            assert name == "qwen2.5-vl-computer" and isinstance(action, (OpenApp, Answer))  # no such tool action
            continue
        parsed = profile.parse(text, s).action
        expected = action
        if name == "vlagent" and isinstance(action, TypeText):
            expected = action.model_copy(update={"clear": True})
        if name == "qwen2.5-vl-computer" and isinstance(action, Tap):
            expected = Click(x=action.x, y=action.y)  # a desktop click
        assert parsed == expected
        written += 1
    assert written >= 5


@pytest.mark.parametrize("name,text,reason", [
    ("qwen2.5-vl", "I will click the button.", "<tool_call>"),
    ("qwen2.5-vl", '<tool_call>{"name": "computer_use", "arguments": {"action": "click"}}</tool_call>', "mobile_use"),
    ("qwen2.5-vl", '<tool_call>{"name": "mobile_use", "arguments": {"action": "fly"}}</tool_call>', "unknown"),
    ("qwen2.5-vl", '<tool_call>{"name": "mobile_use", "arguments": {"action": "click"}}</tool_call>', "coordinate"),
    ("qwen2.5-vl", '<tool_call>{"name": "mobile_use", "arguments": {"action": "click", "coordinate": [1]}}'
                   '</tool_call>', "[x, y]"),
    ("qwen2.5-vl", '<tool_call>{"name": "mobile_use", "arguments": {"action": "key", "text": "warp"}}</tool_call>',
     "unknown key"),
    ("qwen2.5-vl", '<tool_call>{"name": "mobile_use", "arguments": {"action": "wait"}}</tool_call><tool_call>',
     "exactly one"),
    ("qwen2-vl", "✿FUNCTION✿: mobile_use", "✿ARGS✿"),
    ("qwen2-vl", "✿FUNCTION✿: web_search\n✿ARGS✿: {}", "mobile_use"),
    ("ui-tars-1.5", "Thought: hmm", "Action:"),
    ("ui-tars-1.5", "Action: click(point='<point>1 2 3</point>')", "one point"),
    ("ui-tars-1.5", "Action: click()", "needs a point"),
    ("ui-tars-1.5", "Action: teleport(point='<point>1 2</point>')", "unknown UI-TARS action"),
    ("ui-tars-1.5", "Action: click(point='<point>1 2</point>'", "closing parenthesis"),
    ("ui-tars-1.5", "Action: type(content='abc)", "unclosed"),
    ("ui-tars-1.5", "Action: click(point='<point>1 2</point>')\n\nAction: press_home()", "unexpected text"),
])
def test_unreadable_answers_are_typed_errors_that_say_what_was_expected(name, text, reason):
    with pytest.raises(AnswerFormatError) as info:
        get_profile(name).parse(text, screen())
    assert isinstance(info.value, PolicyOutputError)  # the loop's retry path
    assert reason in info.value.reason and info.value.raw_text == text


# ----- fuzz ----------------------------------------------------------------------------------

FRAGMENTS = {
    "qwen2.5-vl": ["<tool_call>", "</tool_call>", '{"name": "mobile_use", "arguments": ', '{"action": "click", ',
                   '"coordinate": [', "1e999", "NaN", "-5", "123456789012345", "]", "}", '"', "\\", ",", " ", "\n",
                   '"action": "swipe"', '"coordinate2": [1, 2]', '"text": "x"', '"status": "success"', "[[[["],
    "qwen2-vl": ["✿FUNCTION✿: ", "mobile_use", "\n✿ARGS✿: ", '{"action": "click", "coordinate": [', "500, 300]}",
                 "✿RESULT✿", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "(1,2),(3,4)",
                 "<|box_end|>", "1e999", "}", "{", '"', ","],
    "qwen2.5-vl-computer": ["<tool_call>", "</tool_call>", '{"name": "computer_use", "arguments": ',
                            '{"action": "left_click", ', '"coordinate": [', '"keys": ["ctrl"]', '"pixels": -5',
                            "1e999", "]", "}", '"', ","],
    "ui-tars": ["Thought: ", "Action: ", "\nAction: ", "click(", "start_box=", "point=", "'", '"', "<|box_start|>",
                "(500,300)", "<|box_end|>", "<point>", "1 2", "</point>", ")", ",", "\\", "=", "type(content=",
                "finished(", "scroll(", "direction='down'", "1" * 20],
}
FRAGMENTS["ui-tars-1.5"] = FRAGMENTS["ui-tars-1.5-computer"] = FRAGMENTS["ui-tars"]
FRAGMENTS["vlagent"] = ["tap ", "<|object_ref_start|>", "x", "<|object_ref_end|>", "<|box_start|>", "(1,2),(3,4)",
                        "<|box_end|>", 'type "', '"', "finish success"]


@pytest.mark.parametrize("name", list(PROFILES))
def test_fuzzed_answers_raise_only_the_typed_error(name):
    profile, s = get_profile(name), screen()
    strategy = st.one_of(st.text(max_size=120), st.lists(st.sampled_from(FRAGMENTS[name]), max_size=30).map("".join))

    @settings(max_examples=300, deadline=None, database=None)
    @given(text=strategy)
    def check(text):
        try:
            answer = profile.parse(text, s)
        except PolicyOutputError as error:
            assert error.reason and len(error.reason) < 1000
            return
        for x, y in [(getattr(answer.action, "x", None), getattr(answer.action, "y", None))]:
            if x is not None:
                assert 0 <= x <= FRAME[0] and 0 <= y <= FRAME[1]  # clamped into the frame

    check()


ADVERSARIAL = {
    "qwen2.5-vl": ["<tool_call>" + "[" * 100_000, "<tool_call>" + '{"name": "mobile_use", "arguments": {"action": '
                   '"click", "coordinate": [' + "9" * 5000 + ", 1]}}", "<tool_call>" * 5000, "x" * 1_000_000],
    "qwen2-vl": ["✿FUNCTION✿: mobile_use\n✿ARGS✿: " + "{" * 100_000, "<|box_start|>(" + "1" * 19_000,
                 "✿FUNCTION✿" * 2000],
    "ui-tars": ["Action: click(start_box='" + "(" * 19_000, "Action: type(content='" + "\\" * 19_000,
                "Thought: " + "Action:" * 2800, "Action: " + "a" * 19_000 + "(", "Action: f(" + "k='v'," * 3000],
}
ADVERSARIAL["ui-tars-1.5"] = ADVERSARIAL["ui-tars-1.5-computer"] = ADVERSARIAL["ui-tars"]
ADVERSARIAL["qwen2.5-vl-computer"] = ADVERSARIAL["qwen2.5-vl"]
ADVERSARIAL["vlagent"] = ["tap " + "<|box_start|>" * 1500, 'type "' + "\\" * 100_001]


@pytest.mark.parametrize("name", list(PROFILES))
def test_adversarial_answers_fail_quickly_with_short_reasons(name):
    profile, s = get_profile(name), screen()
    for text in ADVERSARIAL[name]:
        started = time.perf_counter()
        with pytest.raises(PolicyOutputError) as info:
            profile.parse(text, s)
        assert len(info.value.reason) < 1000
        assert time.perf_counter() - started < 2.0, text[:40]


def test_parse_time_grows_linearly():
    """Doubling an answer's length at most about doubles its parse time (one scan each)."""
    profile, s = get_profile("ui-tars-1.5"), screen()

    def seconds(n: int) -> float:
        text = "Thought: " + "a " * n + "\nAction: type(content='" + "x\\'" * n + "')"
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            profile.parse(text, s)
            best = min(best, time.perf_counter() - started)
        return best

    assert seconds(3200) < 8 * seconds(400) + 0.01  # 8x the text; quadratic would be 64x


# ----- choosing a profile ------------------------------------------------------------------------

@pytest.mark.parametrize("name,profile", [
    ("Qwen2.5-VL-7B-Instruct", "qwen2.5-vl"), ("Qwen/Qwen2.5-VL-72B-Instruct-AWQ", "qwen2.5-vl"),
    ("Qwen/Qwen2-VL-7B-Instruct", "qwen2-vl"), ("qwen2_vl_2b", "qwen2-vl"),
    ("bytedance-research/UI-TARS-7B-SFT", "ui-tars"), ("UI-TARS-2B-SFT", "ui-tars"),
    ("ByteDance-Seed/UI-TARS-1.5-7B", "ui-tars-1.5"), ("vlagent-demo", "vlagent"), ("gpt-4o", None),
])
def test_profile_from_a_model_name(name, profile):
    assert profile_for_name(name) == profile


def test_unknown_profile_and_unknown_model_name_every_known_profile(tmp_path):
    with pytest.raises(ProfileError, match="qwen2.5-vl, ui-tars, ui-tars-1.5"):
        get_profile("llava")
    with pytest.raises(ProfileError, match="--profile"):
        choose_profile(model_name="gpt-4o")
    assert choose_profile("UI-TARS", model_name="Qwen2.5-VL-7B-Instruct").name == "ui-tars"  # explicit wins
    assert choose_profile(model_name="my-model", advertised="vlagent").name == "vlagent"
    assert choose_profile(model_name="Qwen2-VL-2B", advertised="vlagent").name == "qwen2-vl"  # the name first


def test_profile_from_a_local_model_dir(tmp_path):
    from vlagent.perception.demo_model import path

    assert profile_for_model_dir(path()) == "vlagent"  # trained by vlagent (training.json)
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
    assert profile_for_model_dir(checkpoint) == "qwen2.5-vl"
    (checkpoint / "config.json").write_text(json.dumps({"model_type": "qwen2_vl", "_name_or_path": "UI-TARS-7B-DPO"}))
    assert profile_for_model_dir(checkpoint) == "ui-tars"
    (checkpoint / "manifest.json").write_text(json.dumps({"profile": "ui-tars-1.5"}))
    assert profile_for_model_dir(checkpoint) == "ui-tars-1.5"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert profile_for_model_dir(empty) is None
    with pytest.raises(ProfileError, match="cannot tell"):
        choose_profile(model_dir=empty)


def test_cli_unknown_profile_is_one_line_naming_the_profiles(tmp_path):
    import subprocess
    import sys

    for args in (["run", "--task", "settings.wifi_on:1", "--policy", "agent", "--profile", "llava", "--headless",
                  "--env-opt", f"state_file={tmp_path / 's.json'}"],
                 ["serve", "--profile", "llava", "--port", "8123"]):
        done = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", *args], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert errors == ["error: unknown profile 'llava'; known profiles: vlagent, qwen2-vl, qwen2.5-vl, ui-tars, "
                          "ui-tars-1.5, qwen2.5-vl-computer, ui-tars-1.5-computer"], done.stderr
