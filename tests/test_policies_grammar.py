"""The action grammar: every form round-trips, and any text raises only ActionGrammarError."""

import json
import time

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
from vlagent.policies.action_grammar import (
    ActionGrammarError,
    format_action_line,
    history_line,
    parse_action_line,
)

FRAME = (540, 1200)
REF = "<|object_ref_start|>Wi-Fi<|object_ref_end|>"


def test_tap_round_trip_acts_on_box_centre_in_frame_px():
    line = format_action_line(Tap(x=5, y=5), FRAME, target=("Wi-Fi", (54, 120, 108, 240)))
    assert line == f"tap {REF}<|box_start|>(100,100),(200,200)<|box_end|>"
    parsed = parse_action_line(line, FRAME)
    assert parsed.action == Tap(x=81.0, y=180.0)
    assert parsed.label == "Wi-Fi"
    assert parsed.box_norm == (100, 100, 200, 200)


def test_long_press_round_trip():
    line = format_action_line(LongPress(x=1, y=1), FRAME, target=("Note 3", (0, 0, 540, 1200)))
    parsed = parse_action_line(line, FRAME)
    assert line.startswith("long_press <|object_ref_start|>Note 3<|object_ref_end|>")
    assert isinstance(parsed.action, LongPress)
    assert (parsed.action.x, parsed.action.y) == (270.0, 600.0)
    assert parsed.box_norm == (0, 0, 1000, 1000)


@pytest.mark.parametrize(
    "action, line",
    [
        (TypeText(text='say "hi"\n日本', clear=True), 'type "say \\"hi\\"\\n日本"'),
        (Scroll(direction="up"), "scroll up"),
        (Scroll(direction="left"), "scroll left"),
        (KeyPress(key="back"), "key back"),
        (KeyPress(key="app_switch"), "key app_switch"),
        (OpenApp(app="Clock"), 'open_app "Clock"'),
        (Wait(), "wait"),
        (Answer(text="555-0100"), 'answer "555-0100"'),
        (Finish(status="failure"), "finish failure"),
        (Finish(status="success"), "finish success"),
    ],
)
def test_untargeted_forms_round_trip(action, line):
    assert format_action_line(action, FRAME) == line
    parsed = parse_action_line(line, FRAME)
    assert parsed.action == action
    assert parsed.label is None and parsed.box_norm is None


def test_swipe_is_written_as_the_scroll_it_causes():
    finger_up = Swipe(x1=270, y1=900, x2=270, y2=300)
    assert format_action_line(finger_up, FRAME) == "scroll down"
    assert format_action_line(Swipe(x1=400, y1=600, x2=100, y2=620), FRAME) == "scroll right"


def test_history_line_drops_box_tokens():
    assert history_line(Tap(x=3, y=4), "Wi-Fi") == "tap Wi-Fi"
    assert history_line(LongPress(x=3, y=4), "Note") == "long_press Note"
    assert history_line(KeyPress(key="home")) == "key home"
    assert history_line(TypeText(text="a b")) == 'type "a b"'


def test_trailing_im_end_and_white_space_are_ignored():
    assert parse_action_line("  key home<|im_end|>\n", FRAME).action == KeyPress(key="home")


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "tap", "tap Wi-Fi", "key volume_up", "scroll sideways", "finish maybe",
        "type hello", "type 'hello'", 'type "a" "b"', "type 5", "open_app \"\"", "wait 3",
        "key back\nkey home", "click (1,2)", f"tap {REF}", f"tap {REF}<|box_start|>(1,2)<|box_end|>",
        f"tap {REF}<|box_start|>(1,2),(3,4)<|box_end|> extra",
        f"tap {REF}<|box_start|>(1,2),(3,4),(5,6),(7,8)<|box_end|>",
        "tap <|object_ref_start|> <|object_ref_end|><|box_start|>(1,2),(3,4)<|box_end|>",
        f"tap {REF}<|box_start|>(nan,2),(3,4)<|box_end|>",
        'type "' + "x" * 9000 + '"',
    ],
)
def test_malformed_lines_raise_the_typed_retryable_error(text):
    with pytest.raises(ActionGrammarError) as info:
        parse_action_line(text, FRAME)
    assert isinstance(info.value, PolicyOutputError)
    assert info.value.raw_text == text and info.value.reason


@pytest.mark.parametrize(
    "action, target",
    [
        (Tap(x=1, y=1), None),
        (Tap(x=1, y=1), ("", (0, 0, 1, 1))),
        (Tap(x=1, y=1), ("a<|box_start|>", (0, 0, 1, 1))),
        (Tap(x=1, y=1), ("ok", (0, 0, float("nan"), 1))),
        (DoubleTap(x=1, y=1), None),
        (KeyPress(key="volume_up"), None),
        (TypeText(text="x", submit=True), None),
    ],
)
def test_unwritable_actions_raise(action, target):
    with pytest.raises(ActionGrammarError):
        format_action_line(action, FRAME, target=target)


def test_string_literals_are_json_never_evaluated():
    # Python syntax that eval would run is just an invalid literal here.
    with pytest.raises(ActionGrammarError):
        parse_action_line('type __import__("os").getcwd()', FRAME)
    assert parse_action_line('answer "__import__(\\"os\\")"', FRAME).action.text == '__import__("os")'


LABELS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="<\n\r"), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and s)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_text_literals_round_trip_any_unicode(text):
    for action in (TypeText(text=text, clear=True), Answer(text=text)):
        line = format_action_line(action, FRAME)
        assert "\n" not in line and "\r" not in line
        assert parse_action_line(line, FRAME).action == action
    if text.strip():
        assert parse_action_line(format_action_line(OpenApp(app=text), FRAME), FRAME).action == OpenApp(app=text)


@settings(max_examples=150, deadline=None)
@given(
    label=LABELS,
    corners=st.tuples(*[st.integers(0, 1000)] * 4),
    long=st.booleans(),
)
def test_targets_round_trip(label, corners, long):
    x1, x2 = sorted(corners[0::2])
    y1, y2 = sorted(corners[1::2])
    box_px = (x1 * FRAME[0] / 1000, y1 * FRAME[1] / 1000, x2 * FRAME[0] / 1000, y2 * FRAME[1] / 1000)
    action = (LongPress if long else Tap)(x=0, y=0)
    parsed = parse_action_line(format_action_line(action, FRAME, target=(label, box_px)), FRAME)
    assert parsed.label == label
    assert parsed.box_norm == (x1, y1, x2, y2)
    assert parsed.action.x == pytest.approx((box_px[0] + box_px[2]) / 2)
    assert parsed.action.y == pytest.approx((box_px[1] + box_px[3]) / 2)


GRAMMARISH = st.lists(
    st.sampled_from(list("tapkeyscrolwi\"\\ ,()0123456789{}[]\n")
                    + ["<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
                       "<|quad_start|>", "<|quad_end|>", "<|im_end|>", "tap ", "long_press ", "type ",
                       "\"bbox_2d\": [1,2,3,4]", "\\ud800", "1e999", "-5"]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=120), GRAMMARISH))
def test_fuzz_raises_only_the_typed_error(text):
    try:
        parsed = parse_action_line(text, FRAME)
    except ActionGrammarError as error:
        assert error.reason
        return
    # Whatever parses re-formats to a line that parses to the same action.
    target = None
    if parsed.label is not None:
        x1, y1, x2, y2 = parsed.box_norm
        target = (parsed.label, (x1 * FRAME[0] / 1000, y1 * FRAME[1] / 1000, x2 * FRAME[0] / 1000, y2 * FRAME[1] / 1000))
    again = parse_action_line(format_action_line(parsed.action, FRAME, target=target), FRAME)
    assert json.loads(again.action.model_dump_json()) == json.loads(parsed.action.model_dump_json())


@pytest.mark.parametrize(
    "text",
    [
        # The original failure: json.loads on a 5000-digit number raised a bare ValueError.
        "answer " + "1" * 5000,
        "type " + "9" * 5000,
        "open_app -" + "1" * 5000,
        "answer " + "[" * 100_000,
        'answer "' + "\\" * 100_001,
        "answer NaN",
        "answer 1e999",
        "wait " + "x" * 1_000_000,
        "scroll " + "x" * 1_000_000,
        f"tap <|object_ref_start|>{'a' * 1_000_000}<|object_ref_end|><|box_start|>(1,2)<|box_end|>",
        f"tap {REF}<|box_start|>(" + "1" * 1_000_000 + ",2),(3,4)<|box_end|>",
        f"tap {REF}<|box_start|>" + '{"bbox_2d":' * 100_000 + "<|box_end|>",
    ],
    ids=lambda text: text[:24],
)
def test_adversarial_lines_raise_only_the_typed_error_quickly_with_short_reasons(text):
    start = time.perf_counter()
    with pytest.raises(ActionGrammarError) as info:
        parse_action_line(text, FRAME)
    assert type(info.value) is ActionGrammarError
    assert info.value.raw_text == text
    assert len(info.value.reason) < 1000  # fed back to the model: never an echo of a huge argument
    assert time.perf_counter() - start < 5.0
