"""The Action schema: every type, every validation rule, and the JSON round trip."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vlagent.agent.actions import (
    ACTION_TYPES,
    MAX_TEXT_LENGTH,
    ActionParseError,
    Answer,
    Drag,
    Finish,
    KeyPress,
    NavigateTo,
    Scroll,
    Stop,
    Tap,
    Twist,
    TypeText,
    action_json_schema,
    action_to_json,
    parse_action,
)

EXAMPLES = [
    {"type": "tap", "x": 10, "y": 20},
    {"type": "click", "x": 10, "y": 20, "button": "right", "clicks": 1},
    {"type": "hover", "x": 11, "y": 21},
    {"type": "double_tap", "x": 1.5, "y": 2.5},
    {"type": "long_press", "x": 3, "y": 4, "seconds": 1.5},
    {"type": "swipe", "x1": 0, "y1": 0, "x2": 100, "y2": 200, "seconds": 0.2},
    {"type": "drag", "x1": 5, "y1": 6, "x2": 7, "y2": 8, "seconds": 1},
    {"type": "scroll", "direction": "down"},
    {"type": "scroll", "direction": "left", "x": 10, "y": 10, "amount": 0.5},
    {"type": "type_text", "text": "Zoë Ångström 你好 😀 $(rm -rf /)", "clear": True, "submit": True},
    {"type": "key_press", "key": "back"},
    {"type": "key_press", "key": ["ctrl", "shift", "t"]},
    {"type": "open_app", "app": "Settings"},
    {"type": "wait", "seconds": 2},
    {"type": "answer", "text": "42"},
    {"type": "finish", "status": "failure", "reason": "stuck"},
    {"type": "twist", "linear": 0.2, "angular": -0.5, "seconds": 1.0},
    {"type": "navigate_to", "x": 1.0, "y": -2.0, "yaw": 3.1, "frame_id": "map"},
    {"type": "stop"},
]


def test_every_type_has_an_example_and_the_snake_case_name():
    assert {example["type"] for example in EXAMPLES} == set(ACTION_TYPES)
    for type_name, cls in ACTION_TYPES.items():
        snake = "".join("_" + c.lower() if c.isupper() else c for c in cls.__name__).lstrip("_")
        assert snake == type_name


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["type"])
def test_json_round_trip_is_unchanged(example):
    action = parse_action(example)
    assert action.type == example["type"]
    text = action_to_json(action)
    assert parse_action(text) == action
    assert parse_action(json.loads(text)) == action
    assert parse_action(action.model_dump_json()) == action
    assert json.loads(text)["type"] == example["type"]


def test_parse_accepts_dict_string_and_action():
    tap = Tap(x=1, y=2)
    assert parse_action(tap) == tap
    assert parse_action('{"type": "tap", "x": 1, "y": 2}') == tap


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (42, "JSON object"),
        ({"x": 1, "y": 2}, "no 'type'"),
        ({"type": "teleport"}, "unknown action type"),
        ({"type": "tap", "x": 1}, "y"),
        ({"type": "tap", "x": float("nan"), "y": 1}, "finite"),
        ({"type": "tap", "x": float("inf"), "y": 1}, "finite"),
        ('{"type": "tap", "x": NaN, "y": 1}', "finite"),
        ({"type": "tap", "x": -1, "y": 1}, "greater than or equal"),
        ({"type": "tap", "x": 1, "y": 2, "z": 3}, "Extra inputs"),
        ({"type": "tap", "x": "left", "y": 2}, "x"),
        ({"type": "long_press", "x": 1, "y": 1, "seconds": -0.1}, "seconds"),
        ({"type": "wait", "seconds": -1}, "seconds"),
        ({"type": "swipe", "x1": 0, "y1": 0, "x2": 1, "y2": 1, "seconds": -2}, "seconds"),
        ({"type": "twist", "linear": 1, "angular": 0, "seconds": -1}, "seconds"),
        ({"type": "twist", "linear": float("nan"), "angular": 0}, "finite"),
        ({"type": "navigate_to", "x": 0, "y": float("inf")}, "finite"),
        ({"type": "scroll", "direction": "sideways"}, "direction"),
        ({"type": "scroll", "direction": "up", "x": 5}, "both x and y"),
        ({"type": "scroll", "direction": "up", "amount": 0}, "amount"),
        ({"type": "type_text", "text": "a" * (MAX_TEXT_LENGTH + 1)}, "text"),
        ({"type": "answer", "text": "a" * (MAX_TEXT_LENGTH + 1)}, "text"),
        ({"type": "key_press", "key": "warp"}, "unknown key"),
        ({"type": "key_press", "key": []}, "at least one"),
        ({"type": "open_app", "app": "   "}, "blank"),
        ({"type": "finish", "status": "maybe"}, "status"),
        ({"type": "stop", "now": True}, "Extra inputs"),
    ],
)
def test_invalid_input_raises_the_one_typed_error(bad, fragment):
    with pytest.raises(ActionParseError) as caught:
        parse_action(bad)
    assert fragment in str(caught.value)


def test_coordinates_must_lie_inside_the_frame_when_its_size_is_given():
    assert parse_action({"type": "tap", "x": 1080, "y": 2400}, frame_size=(1080, 2400)).x == 1080
    with pytest.raises(ActionParseError, match="outside the 1080x2400 frame"):
        parse_action({"type": "tap", "x": 1081, "y": 5}, frame_size=(1080, 2400))
    with pytest.raises(ActionParseError, match="x2, y2"):
        parse_action({"type": "swipe", "x1": 1, "y1": 1, "x2": 5, "y2": 3000}, frame_size=(1080, 2400))
    with pytest.raises(ActionParseError, match="outside"):
        parse_action({"type": "scroll", "direction": "up", "x": 2000, "y": 1}, frame_size=(1080, 2400))
    # Without a frame size only non-negativity applies.
    assert parse_action({"type": "tap", "x": 5000, "y": 5000}).x == 5000


def test_key_names_are_canonicalised():
    assert parse_action({"type": "key_press", "key": "KEYCODE_BACK"}).key == "back"
    assert parse_action({"type": "key_press", "key": "Return"}).key == "enter"
    assert parse_action({"type": "key_press", "key": "recents"}).key == "app_switch"
    assert parse_action({"type": "key_press", "key": ["Control", "C"]}).key == ["ctrl", "c"]


def test_actions_are_immutable_and_defaults_are_documented():
    tap = Tap(x=1, y=2)
    with pytest.raises(ValidationError):
        tap.x = 5  # frozen: a recorded action can never change after validation
    assert Finish().status == "success"
    assert Drag(x1=0, y1=0, x2=1, y2=1).seconds == 1.0
    assert Scroll(direction="down").amount is None
    assert Stop().type == "stop"
    assert NavigateTo(x=0, y=0).frame_id == "map"


def test_json_schema_is_a_discriminated_union():
    schema = action_json_schema()
    assert "discriminator" in json.dumps(schema)
    assert set(ACTION_TYPES) <= set(json.dumps(schema).replace('"', " ").split())


finite = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(x=finite, y=finite, text=st.text(max_size=200), linear=st.floats(allow_nan=False, allow_infinity=False),
       seconds=st.floats(min_value=0, max_value=3600))
def test_generated_actions_round_trip(x, y, text, linear, seconds):
    for action in (Tap(x=x, y=y), TypeText(text=text), Answer(text=text),
                   Twist(linear=linear, angular=0.0, seconds=seconds), KeyPress(key="home")):
        assert parse_action(action_to_json(action)) == action


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                    lambda children: st.lists(children) | st.dictionaries(st.text(), children), max_leaves=10))
def test_arbitrary_json_values_never_raise_anything_else(value):
    if isinstance(value, dict) and len(value) % 2:
        value = {"type": "tap", **value}  # half the dicts reach field validation
    try:
        parse_action(value)
    except ActionParseError:
        pass


class _FailingContains(dict):
    def __contains__(self, key):
        raise RuntimeError("a mapping whose lookups fail")


def _nested(depth):
    value: dict = {}
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    "bad, fragment",
    [
        # The original failures: an unhashable `type` reached `in ACTION_TYPES` (TypeError).
        ({"type": []}, "must be a string"),
        ({"type": {}}, "must be a string"),
        ({"type": {"type": "tap"}}, "must be a string"),
        ({"type": 3}, "must be a string"),
        ({"type": None}, "must be a string"),
        ({"type": "t" * 100_000}, "unknown action type"),
        # A 5000-digit integer made json.loads raise a bare ValueError (int digit limit).
        ('{"type": "tap", "x": ' + "1" * 5000 + ', "y": 1}', "too long"),
        ('{"type": "tap", "x": 1, "y": 1, "z": ' + "9" * 401 + "}", "too long"),
        ("[" * 100_000, "nested too deeply"),
        ('{"a": ' * 100_000, "nested too deeply"),
        (b"\xff\xfe\x00\xd8", "not valid JSON"),
        (b"\x80not utf-8", "not valid JSON"),
        (b"", "not valid JSON"),
        ("", "not valid JSON"),
        (bytearray(b"[1]"), "JSON object"),
        (_FailingContains(type="tap"), "RuntimeError"),
        ({"type": "tap", "x": 1, "y": 1, 7: 1}, "Keys should be strings"),
        ({"type": "tap", "x": 1, "y": 1, (1, 2): 1}, "Keys should be strings"),
        ({"type": "tap", "x": 1, "y": 1, None: 1}, "Keys should be strings"),
        ({"type": "tap", "x": 10**400, "y": 1}, "x"),
        ({"type": "tap", "x": 1, "y": 1, "extra": _nested(50_000)}, "Extra inputs"),
        ({"type": "key_press", "key": [_nested(50_000)]}, "key"),
        ({"type": "key_press", "key": [[]]}, "key"),
        ({"type": "scroll", "direction": []}, "direction"),
        (object(), "JSON object"),
        (None, "JSON object"),
    ],
    ids=lambda value: repr(value)[:30] if isinstance(value, str) else type(value).__name__,
)
def test_any_input_raises_only_the_typed_error(bad, fragment):
    with pytest.raises(ActionParseError) as caught:
        parse_action(bad)
    assert type(caught.value) is ActionParseError
    assert fragment in str(caught.value)
    assert len(str(caught.value)) < 2000  # messages name the problem, they do not echo the input


def test_bytes_and_bytearray_are_json_too():
    assert parse_action(b'{"type": "stop"}') == Stop()
    assert parse_action(bytearray(b'{"type": "stop"}')) == Stop()
    assert parse_action('{"type": "stop"}'.encode("utf-16")) == Stop()
    # A long (but representable) integer is still a number.
    assert parse_action('{"type": "tap", "x": 1' + "0" * 300 + ', "y": 1}').x == 1e300
