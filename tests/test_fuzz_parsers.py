"""Fuzzing the four parsers of untrusted input: each raises only its own typed error.

- `agent.actions.parse_action` (str, bytes, dicts, any JSON-like value) -> ActionParseError
- `perception.grounding.parse_groundings` (model text) -> GroundingParseError
- `policies.action_grammar.parse_action_line` (one model line) -> ActionGrammarError
- `perception.uitree.parse_uiautomator_xml` (device XML, str or bytes) -> UITreeParseError

Two sources of inputs, both deterministic so CI is reproducible: hypothesis with
`derandomize=True` and bounded `max_examples`, and a seeded corpus of random bytes and of
mutations (cuts, insertions of grammar tokens, repetitions, byte flips) of valid inputs.
When a parser returns, the result must have the documented type. Runs in seconds.
"""

import json
import math
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlagent.agent.actions import ACTION_TYPES, ActionParseError, Tap, action_to_json, parse_action
from vlagent.perception.grounding import (
    BOX_END,
    BOX_START,
    OBJECT_REF_END,
    OBJECT_REF_START,
    QUAD_END,
    QUAD_START,
    Grounding,
    GroundingParseError,
    format_grounding,
    parse_groundings,
)
from vlagent.perception.uitree import (
    UINode,
    UITreeParseError,
    parse_uiautomator_xml,
    to_uiautomator_xml,
)
from vlagent.policies.action_grammar import (
    VERBS,
    ActionGrammarError,
    ParsedAction,
    format_action_line,
    parse_action_line,
)

FUZZ = settings(derandomize=True, deadline=None, max_examples=300, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FRAME = (540, 1200)
SECONDS_PER_CALL = 5.0  # every input here is small: anything near this is a complexity bug

ACTION_CLASSES = tuple(ACTION_TYPES.values())


def check_action(value, frame_size=None):
    start = time.perf_counter()
    try:
        result = parse_action(value, frame_size=frame_size)
    except ActionParseError as error:
        assert str(error)
    else:
        assert isinstance(result, ACTION_CLASSES)
        assert parse_action(action_to_json(result)) == result
    assert time.perf_counter() - start < SECONDS_PER_CALL


def check_groundings(text, model_input_size=None, strict=False):
    start = time.perf_counter()
    try:
        result = parse_groundings(text, model_input_size=model_input_size, strict=strict)
    except GroundingParseError as error:
        assert 0 <= error.offset <= (len(text) if isinstance(text, str) else 0)
    else:
        assert isinstance(result, list) and all(isinstance(item, Grounding) for item in result)
        for item in result:
            for value in [v for b in item.boxes for v in b] + [v for p in item.points for v in p]:
                assert math.isfinite(value) and 0 <= value <= 1000
    assert time.perf_counter() - start < SECONDS_PER_CALL


def check_line(text):
    start = time.perf_counter()
    try:
        result = parse_action_line(text, FRAME)
    except ActionGrammarError as error:
        assert error.reason and error.raw_text is not None
    else:
        assert isinstance(result, ParsedAction) and isinstance(result.action, ACTION_CLASSES)
    assert time.perf_counter() - start < SECONDS_PER_CALL


def check_xml(xml):
    start = time.perf_counter()
    try:
        result = parse_uiautomator_xml(xml)
    except UITreeParseError as error:
        assert str(error)
    else:
        assert isinstance(result, list) and all(isinstance(node, UINode) for node in result)
    assert time.perf_counter() - start < SECONDS_PER_CALL


# ----- seeds: valid inputs of each parser, to mutate ----------------------------------------

ACTION_SEEDS = [
    '{"type": "tap", "x": 10, "y": 20}',
    '{"type": "swipe", "x1": 0, "y1": 0, "x2": 100, "y2": 200, "seconds": 0.2}',
    '{"type": "scroll", "direction": "left", "x": 10, "y": 10, "amount": 0.5}',
    '{"type": "type_text", "text": "Zo\\u00eb \\ud83d\\ude00", "clear": true, "submit": false}',
    '{"type": "key_press", "key": ["ctrl", "shift", "t"]}',
    '{"type": "finish", "status": "failure", "reason": "stuck"}',
    '{"type": "navigate_to", "x": 1.0, "y": -2.0, "yaw": 3.1, "frame_id": "map"}',
    '{"type": "stop"}',
]
GROUNDING_SEEDS = [
    format_grounding(Grounding("Wi-Fi", boxes=((10, 20, 300, 400),))),
    format_grounding(Grounding(None, boxes=((1, 2, 3, 4), (5, 6, 7, 8)), points=((9, 9),))),
    f"{OBJECT_REF_START}sign{OBJECT_REF_END}{QUAD_START}(10,10),(90,12),(88,50),(12,48){QUAD_END}",
    'Here: ```json\n[{"bbox_2d": [100, 50, 300, 150], "label": "OK"}, {"point_2d": [500, 250]}]\n```',
]
LINE_SEEDS = [
    format_action_line(Tap(x=5, y=5), FRAME, target=("Wi-Fi", (54, 120, 108, 240))),
    'type "say \\"hi\\"\\n\u65e5\u672c"', "scroll down", "key back", 'open_app "Clock"', "wait",
    'answer "555-0100"', "finish success", "key home<|im_end|>",
]
XML_SEEDS = [
    to_uiautomator_xml([
        UINode(0, "android.widget.FrameLayout", package="com.android.settings", bounds=(0, 0, 1080, 2400)),
        UINode(0, "android.widget.TextView", text="Wi\u2011Fi\n&<>\"", bounds=(40, 300, 1040, 420),
               clickable=True, depth=1),
        UINode(1, "android.widget.Switch", resource_id="android:id/switch", checkable=True, checked=True,
               bounds=(900, 320, 1040, 400), depth=2),
    ], rotation=1),
    "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\" />",
]
TOKENS = [
    OBJECT_REF_START, OBJECT_REF_END, BOX_START, BOX_END, QUAD_START, QUAD_END, "<|im_end|>",
    "(", ")", ",", "[", "]", "{", "}", '"', "\\", ":", "\n", " ", "\t", "\ud800", "\x00", "\ufeff",
    "1e999", "-1", "NaN", "Infinity", "9" * 500, '"bbox_2d": ', '"point_2d": [', '"label": ', '"type": ',
    "tap ", "type ", "answer ", "<node ", "<hierarchy>", "</node>", "/>", "bounds=", "'[0,0][1,1]'",
    "<!DOCTYPE h [<!ENTITY e 'x'>]>", "&e;", "&#10;", "&amp;", "<![CDATA[", "]]>", "<!--", "-->",
    "<?xml version='1.0' encoding='bogus'?>",
]


def mutate(rng: random.Random, text: str) -> str:
    """One to four random edits of `text`, some of them adversarial (long repetitions)."""
    for _ in range(rng.randint(1, 4)):
        position = rng.randint(0, len(text))
        kind = rng.randrange(7)
        if kind == 0:
            text = text[:position] + text[position + rng.randint(1, 8):]
        elif kind == 1:
            text = text[:position] + rng.choice(TOKENS) + text[position:]
        elif kind == 2:
            text = text[:position] + chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0, 0x10FFFF)])) + text[position:]
        elif kind == 3:
            piece = text[position:position + rng.randint(1, 12)] or rng.choice(TOKENS)
            text = text[:position] + piece * rng.choice([2, 10, 1000, 5000]) + text[position:]
        elif kind == 4:
            text = text[:position]
        elif kind == 5:
            text = text[position:] + text[:position]
        else:
            text = text[:position] + rng.choice(TOKENS) * rng.choice([100, 3000]) + text[position:]
    return text


def random_bytes(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 3, 16, 200, 2000])))


def decoded(rng: random.Random, data: bytes) -> str:
    # surrogateescape turns invalid UTF-8 into lone surrogates: a str no codec will encode.
    return data.decode("utf-8", "surrogateescape") if rng.random() < 0.5 else data.decode("latin-1")


def corpus(seed: int, seeds: list[str], count: int):
    rng = random.Random(seed)
    for _ in range(count):
        choice = rng.random()
        if choice < 0.2:
            yield rng, random_bytes(rng)
        elif choice < 0.3:
            yield rng, decoded(rng, random_bytes(rng))
        else:
            yield rng, mutate(rng, rng.choice(seeds))


# ----- the seeded corpus --------------------------------------------------------------------

def test_corpus_parse_action():
    for _rng, value in corpus(1, ACTION_SEEDS, 600):
        check_action(value)
        if isinstance(value, str):
            check_action(value.encode("utf-8", "surrogatepass"))
            check_action(value, frame_size=(100, 100))
            try:
                loaded = json.loads(value)
            except (ValueError, RecursionError):
                continue
            check_action(loaded)


def test_corpus_parse_groundings():
    for rng, value in corpus(2, GROUNDING_SEEDS, 600):
        text = value if isinstance(value, str) else decoded(rng, value)
        check_groundings(text, model_input_size=rng.choice([None, (28, 56), (1000, 1000)]), strict=rng.random() < 0.3)
        if not isinstance(value, str):
            check_groundings(value)  # bytes are not text: the typed error too


def test_corpus_parse_action_line():
    for rng, value in corpus(3, LINE_SEEDS, 600):
        check_line(value if rng.random() < 0.95 else value.encode() if isinstance(value, str) else value)
        if isinstance(value, bytes):
            check_line(decoded(rng, value))
    # Every verb with every token as its argument, once and repeated (a 5000-digit number
    # after `answer` used to escape json.loads as a bare ValueError).
    for verb in VERBS:
        for token in TOKENS:
            for repeat in (1, 10, 200):
                check_line(f"{verb} {token * repeat}")


def test_corpus_parse_uiautomator_xml():
    for rng, value in corpus(4, XML_SEEDS, 500):
        check_xml(value)
        check_xml(value.encode("utf-8", "surrogatepass") if isinstance(value, str) else decoded(rng, value))


# ----- hypothesis -----------------------------------------------------------------------------

odd_keys = st.one_of(st.text(max_size=8), st.integers(), st.none(), st.booleans(), st.floats(),
                     st.tuples(st.integers(), st.text(max_size=3)))
json_like = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.integers(min_value=10**300, max_value=10**320)
    | st.text(max_size=20) | st.binary(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(odd_keys, children, max_size=4)
    | st.tuples(children, children),
    max_leaves=12,
)
field_names = st.sampled_from(["x", "y", "x1", "y1", "x2", "y2", "seconds", "text", "key", "app", "direction",
                               "amount", "status", "reason", "clear", "submit", "linear", "angular", "yaw",
                               "frame_id", "type"])


@st.composite
def action_dicts(draw):
    value = draw(st.dictionaries(field_names | odd_keys, json_like, max_size=6))
    if draw(st.booleans()):
        value["type"] = draw(st.sampled_from(sorted(ACTION_TYPES)) | json_like)
    return value


@FUZZ
@given(value=st.one_of(json_like, action_dicts(), st.text(max_size=60), st.binary(max_size=60),
                       st.sampled_from(ACTION_SEEDS).flatmap(lambda s: st.just(s) | st.binary(max_size=4).map(
                           lambda b: s.encode()[: len(b) * 7] + b))),
       frame_size=st.none() | st.just((100, 200)))
def test_hypothesis_parse_action(value, frame_size):
    check_action(value, frame_size)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return
    check_action(text, frame_size)


grounding_text = st.lists(st.sampled_from(TOKENS) | st.text(max_size=6), max_size=30).map("".join)


@FUZZ
@given(text=grounding_text | st.text(max_size=80), size=st.sampled_from([None, (28, 56), (1, 1)]),
       strict=st.booleans())
def test_hypothesis_parse_groundings(text, size, strict):
    check_groundings(text, size, strict)


@FUZZ
@given(head=st.sampled_from(LINE_SEEDS + ["tap ", "long_press ", "type ", "answer ", "open_app ", ""]),
       tail=grounding_text | st.text(max_size=60))
def test_hypothesis_parse_action_line(head, tail):
    check_line(head + tail)
    check_line(tail)


xml_fragment = st.sampled_from(TOKENS + ["<node bounds='[0,0][1,1]'>", "<node bounds='[0,0][1,1]'/>",
                                         " index='", " text='", "' ", "clickable='true'", "='", ">", "<"])


@FUZZ
@given(parts=st.lists(xml_fragment | st.text(max_size=5), max_size=30), wrap=st.booleans(),
       as_bytes=st.booleans())
def test_hypothesis_parse_uiautomator_xml(parts, wrap, as_bytes):
    text = "".join(parts)
    if wrap:
        text = "<hierarchy>" + text + "</hierarchy>"
    check_xml(text.encode("utf-8", "surrogatepass") if as_bytes else text)


@pytest.mark.parametrize("parse, error", [
    (parse_action, ActionParseError),
    (parse_groundings, GroundingParseError),
    (lambda value: parse_action_line(value, FRAME), ActionGrammarError),
    (parse_uiautomator_xml, UITreeParseError),
])
@pytest.mark.parametrize("value", [None, 0, 1.5, float("nan"), [], {}, (), object(), b"\xff", bytearray(b"\x00")])
def test_non_text_input_raises_the_typed_error(parse, error, value):
    try:
        parse(value)
    except error:
        pass
