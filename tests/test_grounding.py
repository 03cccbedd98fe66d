"""The box-token grammar: every documented form, the out-of-range rule, round trips, fuzzing."""

import random
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def ref(label):
    return f"{OBJECT_REF_START}{label}{OBJECT_REF_END}"


def box(*points):
    return BOX_START + ",".join(f"({x},{y})" for x, y in points) + BOX_END


def test_labelled_box_in_free_text():
    text = f"The switch is here: {ref('Wi-Fi')}{box((10, 20), (300, 400))}. Done."
    assert parse_groundings(text) == [Grounding("Wi-Fi", boxes=((10, 20, 300, 400),))]


def test_several_boxes_for_one_label_in_blocks_or_in_one_block():
    blocks = ref("cat") + box((1, 2), (3, 4)) + " " + box((5, 6), (7, 8))
    one_block = ref("cat") + box((1, 2), (3, 4), (5, 6), (7, 8))
    expected = [Grounding("cat", boxes=((1, 2, 3, 4), (5, 6, 7, 8)))]
    assert parse_groundings(blocks) == expected
    assert parse_groundings(one_block) == expected


def test_lone_box_point_and_quad():
    assert parse_groundings(box((1, 2), (3, 4))) == [Grounding(None, boxes=((1, 2, 3, 4),))]
    assert parse_groundings(ref("Send") + box((500, 900))) == [Grounding("Send", points=((500, 900),))]
    quad = QUAD_START + "(10,10),(90,12),(88,50),(12,48)" + QUAD_END
    assert parse_groundings(ref("sign") + quad) == [Grounding("sign", boxes=((10, 10, 90, 50),))]


def test_several_groundings_in_order_and_whitespace_tolerance():
    text = ref(" a ") + BOX_START + " ( 1 , 2 ) , ( 3 , 4 ) " + BOX_END + " then " + ref("b") + box((5, 5))
    result = parse_groundings(text)
    assert [g.label for g in result] == ["a", "b"]
    assert result[0].boxes == ((1, 2, 3, 4),) and result[1].points == ((5, 5),)


def test_no_grounding_is_an_empty_list():
    assert parse_groundings("I cannot see that element.") == []
    assert parse_groundings("") == []


def test_qwen25_json_is_converted_from_model_input_px():
    text = 'Here: ```json\n[{"bbox_2d": [100, 50, 300, 150], "label": "OK"}, {"point_2d": [500, 250]}]\n```'
    result = parse_groundings(text, model_input_size=(1000, 500))
    assert result == [Grounding("OK", boxes=((100, 100, 300, 300),)), Grounding(None, points=((500, 500),))]
    with pytest.raises(GroundingParseError, match="model_input_size"):
        parse_groundings(text)
    with pytest.raises(GroundingParseError, match="list of 4 numbers"):
        parse_groundings('{"bbox_2d": [1, 2, 3]}', model_input_size=(10, 10))
    with pytest.raises(GroundingParseError, match="well-formed JSON"):
        parse_groundings('{"bbox_2d": [1, 2, 3, 4', model_input_size=(10, 10))


def test_out_of_range_rule_clamps_by_default_and_rejects_when_strict():
    text = box((-5, 20), (1200, 400))
    assert parse_groundings(text) == [Grounding(None, boxes=((0, 20, 1000, 400),))]
    with pytest.raises(GroundingParseError, match="outside 0-1000") as caught:
        parse_groundings(text, strict=True)
    assert caught.value.offset == text.index("-5")
    inverted = box((300, 400), (10, 20))
    assert parse_groundings(inverted)[0].boxes == ((10, 20, 300, 400),)
    with pytest.raises(GroundingParseError, match="inverted"):
        parse_groundings(inverted, strict=True)


@pytest.mark.parametrize(
    "text, reason",
    [
        (BOX_START + "(1,2),(3,4)", "not closed"),
        (ref("x"), "not followed by a box"),
        (ref("x") + " and then " + box((1, 2)), "not followed by a box"),
        (OBJECT_REF_START + "x" + box((1, 2)), "not closed"),
        (BOX_END, "stray"),
        (OBJECT_REF_END, "stray"),
        (box((1, 2), (3, 4), (5, 6)), "2 points per box"),
        (BOX_START + "(1,2),(3,x)" + BOX_END, "expected a number"),
        (BOX_START + "(1,2)(3,4)" + BOX_END, "expected ','"),
        (BOX_START + BOX_END, "expected '('"),
        (BOX_START + "(1e999,2)" + BOX_END, "not finite"),
        (QUAD_START + "(1,2),(3,4)" + QUAD_END, "4 points"),
        (BOX_START + "(1,2)" + QUAD_END, "not closed"),
    ],
)
def test_malformed_text_raises_with_offset_and_reason(text, reason):
    with pytest.raises(GroundingParseError) as caught:
        parse_groundings(text)
    assert reason in caught.value.reason
    assert 0 <= caught.value.offset <= len(text)
    assert f"offset {caught.value.offset}" in str(caught.value)


coordinate = st.integers(min_value=0, max_value=1000)
labels = st.text(min_size=1, max_size=30).map(str.strip).filter(lambda s: s and "<|" not in s)


@st.composite
def groundings(draw):
    boxes = []
    for _ in range(draw(st.integers(0, 3))):
        x1, x2 = sorted((draw(coordinate), draw(coordinate)))
        y1, y2 = sorted((draw(coordinate), draw(coordinate)))
        boxes.append((x1, y1, x2, y2))
    points = [(draw(coordinate), draw(coordinate)) for _ in range(draw(st.integers(0 if boxes else 1, 2)))]
    return Grounding(draw(st.none() | labels), boxes=tuple(boxes), points=tuple(points))


@settings(max_examples=500, deadline=None)
@given(items=st.lists(groundings(), min_size=1, max_size=4), prose=st.sampled_from([" | ", "\nthen ", "; and "]))
def test_format_then_parse_round_trip(items, prose):
    text = "Answer: " + prose.join(format_grounding(g) for g in items) + "."
    assert parse_groundings(text) == items


def test_box_blocks_separated_only_by_white_space_belong_to_one_grounding():
    text = box((1, 2), (3, 4)) + "\n " + box((5, 6))
    assert parse_groundings(text) == [Grounding(None, boxes=((1, 2, 3, 4),), points=((5, 6),))]


TOKENS = [OBJECT_REF_START, OBJECT_REF_END, BOX_START, BOX_END, QUAD_START, QUAD_END,
          "(", ")", ",", "1", "-3", "1000", "2.5e3", " ", "x", '{"bbox_2d": [1,2,3,4]}', '{"point_2d": [', "]", "}",
          '"label"', "nan", "1e999"]


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.sampled_from(TOKENS) | st.text(max_size=5), max_size=25), size=st.sampled_from([None, (28, 56)]),
       strict=st.booleans())
def test_random_and_mutated_strings_raise_nothing_but_the_parse_error(parts, size, strict):
    text = "".join(parts)
    try:
        result = parse_groundings(text, model_input_size=size, strict=strict)
    except GroundingParseError as error:
        assert 0 <= error.offset <= len(text)
        return
    for grounding in result:
        for value in [v for b in grounding.boxes for v in b] + [v for p in grounding.points for v in p]:
            assert 0 <= value <= 1000


@settings(max_examples=2000, deadline=None)
@given(item=groundings(), data=st.data())
def test_mutations_of_valid_text_raise_nothing_but_the_parse_error(item, data):
    text = format_grounding(item)
    position = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 5))
    insert = data.draw(st.sampled_from(TOKENS))
    mutated = text[:position] + insert + text[position + cut:]
    try:
        parse_groundings(mutated)
    except GroundingParseError:
        pass


def test_non_text_input_is_a_parse_error():
    with pytest.raises(GroundingParseError):
        parse_groundings(None)  # type: ignore[arg-type]


# ----- cost: linear in the length of the text, whatever the text ---------------------------

def _adversarial_texts(size: int) -> dict[str, str]:
    """Texts of about `size` characters that made the old JSON scan (raw_decode at every `{`/`[`,
    each attempt reading on to the end) or the token scanner slow."""
    rng = random.Random(size)
    printable = string.printable + "{{[[\"\""
    noise = "".join(rng.choices(printable, k=size))
    sprinkled, position = [], 0
    while position < size:
        step = rng.randint(0, 200)
        sprinkled += [noise[position:position + step],
                      rng.choice(['"bbox_2d": [', '{"bbox_2d": [1, 2, ', '"point_2d"', '{"label": "x", '])]
        position += step
    valid_object = '{"bbox_2d": [10, 20, 30, 40], "label": "ok"}'
    valid_box = box((1, 2), (3, 4)) + " "
    return {
        "repeated_key": '{"bbox_2d":' * (size // 11),
        "repeated_bracket": '"bbox_2d"' + "[" * size,
        "deep_bracket": '{"bbox_2d": ' + "[" * size + "}",
        "valid_json_list": "[" + ", ".join([valid_object] * (size // (len(valid_object) + 2))) + "]",
        "valid_box_tokens": valid_box * (size // len(valid_box)),
        "random_with_keys": "".join(sprinkled)[:size],
        "many_markers": BOX_START * (size // len(BOX_START)),
        "long_space_in_box": BOX_START + "(" + " " * size + "1,2)" + BOX_END,
        "long_number_in_box": BOX_START + "(" + "1" * size + ",2)" + BOX_END,
        "long_json_integer": '{"bbox_2d": [' + "1" * size + ", 1, 1, 1]}",
    }


def _parse_seconds(text: str) -> float:
    start = time.perf_counter()
    try:
        result = parse_groundings(text, model_input_size=(1000, 1000))
    except GroundingParseError as error:
        assert 0 <= error.offset <= len(text)
    else:
        assert all(isinstance(item, Grounding) for item in result)
    return time.perf_counter() - start


def test_one_megabyte_of_adversarial_text_parses_in_linear_time():
    # Before the fix: repeated `{"bbox_2d":` took 12.6 s and `{"bbox_2d": [[[...` 132 s per MB.
    for name, text in _adversarial_texts(1_000_000).items():
        seconds = _parse_seconds(text)
        print(f"{name}: {len(text)} chars in {seconds:.3f} s")
        assert seconds < 5.0, name  # well under a second here; generous for a loaded CI machine


def test_parse_time_grows_linearly_with_the_text():
    def total(size: int) -> float:
        texts = _adversarial_texts(size).values()
        return min(sum(_parse_seconds(text) for text in texts) for _ in range(2))

    small, large = total(500_000), total(2_000_000)
    print(f"0.5 MB: {small:.3f} s, 2 MB: {large:.3f} s, ratio {large / small:.2f}")
    assert large / small < 8  # 4 when linear, 16 when quadratic


def test_json_objects_are_found_inside_any_json_around_them():
    text = '{"objects": [{"bbox_2d": [100, 50, 300, 150], "label": "OK"}], "n": 1}'
    assert parse_groundings(text, model_input_size=(1000, 500)) == [Grounding("OK", boxes=((100, 100, 300, 300),))]
    # A grounding object that nests another object is not read (candidates are brace-free).
    with pytest.raises(GroundingParseError, match="well-formed JSON"):
        parse_groundings('{"bbox_2d": [1, 2, 3, 4], "extra": {"a": 1}}', model_input_size=(10, 10))


def test_a_bad_model_input_size_is_still_the_parse_error():
    with pytest.raises(GroundingParseError):
        parse_groundings('{"bbox_2d": [1, 2, 3, 4]}', model_input_size=(0, 0))
    with pytest.raises(GroundingParseError):
        parse_groundings('{"bbox_2d": [1, 2, 3, 4]}', model_input_size="wide")  # type: ignore[arg-type]
