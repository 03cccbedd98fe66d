"""The box-token grammar: model text <-> `Grounding`s in norm-1000 space.

Reads, anywhere in free text:

- Qwen2-VL: `<|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>`,
  several box blocks in a row for one label, a lone box block with no ref, a point
  `(x,y)` inside box tokens, and `<|quad_start|>` blocks of four points (kept as their
  bounding box).
- Qwen2.5-VL JSON: `{"bbox_2d": [x1, y1, x2, y2], "label": "..."}` or `{"point_2d": [x, y]}`,
  alone or in a list (or any other JSON around it), optionally in a ```json fence. These are
  absolute **model-input px**, so `model_input_size` is required and they are converted
  with `perception.coords`. Such an object is flat, and is read as one: a candidate is a
  `{...}` span with no `{` or `}` inside it that contains `"bbox_2d"` or `"point_2d"`, and
  it must be one JSON object. So a grounding object that nests another object, or whose
  label holds a brace, is not read (alone it raises, like any key outside well-formed JSON).

Out-of-range rule (documented contract): coordinates must be finite numbers. With
`strict=False` (default) values outside [0, 1000] are clamped into it and box corners are
ordered so x1 <= x2, y1 <= y2; with `strict=True` any value outside [0, 1000] or an
inverted box raises. Anything malformed (unclosed or stray tokens, a ref with no box,
bad numbers, an odd point count) raises `GroundingParseError(offset, reason)`, and no
other exception escapes `parse_groundings`.

Cost (the contract for untrusted model text): time linear in len(text), whatever the text.
The markers are found in one regex pass and every box is read once; JSON candidates are
bounded by the next brace, so they are disjoint and each character is scanned a constant
number of times, and integers longer than 400 digits are read as floats (overflowing to a
non-finite, rejected coordinate) so no quadratic `int()` runs.

Written by hand: the grammar is a dozen tokens, and a scanner gives exact error offsets
without a parser-generator dependency on the runtime path.
"""

import heapq
import json
import math
import re
from dataclasses import dataclass

from vlagent.perception.coords import Size, Transform, apply_box, image_to_norm1000
from vlagent.perception.errors import VlagentError, error_text

OBJECT_REF_START = "<|object_ref_start|>"
OBJECT_REF_END = "<|object_ref_end|>"
BOX_START = "<|box_start|>"
BOX_END = "<|box_end|>"
QUAD_START = "<|quad_start|>"
QUAD_END = "<|quad_end|>"

NORM_MAX = 1000.0
_MARKER = re.compile(r"<\|(object_ref_start|object_ref_end|box_start|box_end|quad_start|quad_end)\|>")
_NUMBER_TEXT = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER = re.compile(_NUMBER_TEXT)
# One well-formed `(x,y)` with the white space around it: the fast path of _parse_points.
# The atomic groups make each number match exactly what _NUMBER.match would (no
# backtracking into it), so the fast and the careful path accept the same text.
_POINT = re.compile(rf"\s*\(\s*((?>{_NUMBER_TEXT}))\s*,\s*((?>{_NUMBER_TEXT}))\s*\)\s*")
_SPACE = re.compile(r"\s*")  # \s is exactly str.isspace() for str patterns
_JSON_KEYS = ('"bbox_2d"', '"point_2d"')
# A JSON grounding candidate: `{`, then no brace, then `}`. Scanning for these is linear:
# each attempt stops at the next brace, where the next attempt starts.
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")
_MAX_INT_DIGITS = 400

Point = tuple[float, float]
Box = tuple[float, float, float, float]


class GroundingParseError(VlagentError, ValueError):
    """Malformed grounding text; `offset` is the character index where parsing failed."""

    def __init__(self, offset: int, reason: str):
        super().__init__(f"at offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True)
class Grounding:
    """A labelled target: boxes (x1, y1, x2, y2) and points (x, y), all in norm-1000."""

    label: str | None
    boxes: tuple[Box, ...] = ()
    points: tuple[Point, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "boxes", tuple(tuple(float(v) for v in box) for box in self.boxes))
        object.__setattr__(self, "points", tuple(tuple(float(v) for v in point) for point in self.points))
        if not self.boxes and not self.points:
            raise ValueError("a Grounding needs at least one box or point")
        if self.label is not None and "<|" in self.label:
            raise ValueError("a Grounding label may not contain special tokens")

    @property
    def center(self) -> Point:
        """The centre of the first box, else the first point (norm-1000)."""
        if self.boxes:
            x1, y1, x2, y2 = self.boxes[0]
            return (x1 + x2) / 2, (y1 + y2) / 2
        return self.points[0]


def _check_value(value: float, offset: int, strict: bool) -> float:
    if not math.isfinite(value):
        raise GroundingParseError(offset, f"coordinate {value} is not finite")
    if 0.0 <= value <= NORM_MAX:
        return value
    if strict:
        raise GroundingParseError(offset, f"coordinate {value:g} is outside 0-1000")
    return min(max(value, 0.0), NORM_MAX)


def _parse_points(text: str, start: int, end: int, strict: bool) -> list[Point]:
    """Parse `(x,y),(x,y),...` in text[start:end]."""
    points: list[Point] = []
    position = start

    def skip_space() -> None:
        nonlocal position
        position = _SPACE.match(text, position, end).end()

    def expect(char: str) -> None:
        nonlocal position
        skip_space()
        if position >= end or text[position] != char:
            found = repr(text[position]) if position < end else "the end of the box"
            raise GroundingParseError(position, f"expected {char!r}, found {found}")
        position += 1

    def number() -> float:
        nonlocal position
        skip_space()
        match = _NUMBER.match(text, position, end)
        if not match:
            raise GroundingParseError(position, "expected a number")
        position = match.end()
        return _check_value(float(match.group()), match.start(), strict)

    while True:
        match = _POINT.match(text, position, end)
        if match is not None:
            x = _check_value(float(match[1]), match.start(1), strict)
            y = _check_value(float(match[2]), match.start(2), strict)
            position = match.end()
        else:  # malformed: step through it to name the exact offset and reason
            expect("(")
            x = number()
            expect(",")
            y = number()
            expect(")")
            skip_space()
        points.append((x, y))
        if position >= end:
            return points
        expect(",")


def _to_shapes(points: list[Point], offset: int, quad: bool, strict: bool) -> tuple[list[Box], list[Point]]:
    if quad:
        if len(points) != 4:
            raise GroundingParseError(offset, f"a quad needs 4 points, got {len(points)}")
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return [(min(xs), min(ys), max(xs), max(ys))], []
    if len(points) == 1:
        return [], points
    if len(points) % 2:
        raise GroundingParseError(offset, f"a box needs 2 points per box, got {len(points)}")
    boxes = []
    for (x1, y1), (x2, y2) in zip(points[0::2], points[1::2], strict=True):
        if strict and (x1 > x2 or y1 > y2):
            raise GroundingParseError(offset, "box corners are inverted")
        boxes.append((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
    return boxes, []


def _parse_tokens(text: str, strict: bool) -> list[tuple[int, Grounding]]:
    markers = list(_MARKER.finditer(text))
    found: list[tuple[int, Grounding]] = []
    index = 0
    while index < len(markers):
        marker = markers[index]
        name = marker.group(1)
        label = None
        start_offset = marker.start()
        if name == "object_ref_start":
            if index + 1 >= len(markers) or markers[index + 1].group(1) != "object_ref_end":
                where = markers[index + 1].start() if index + 1 < len(markers) else len(text)
                raise GroundingParseError(where, "object_ref_start is not closed by object_ref_end")
            label = text[marker.end():markers[index + 1].start()].strip()
            index += 2
            following = markers[index] if index < len(markers) else None
            gap_end = following.start() if following else len(text)
            if following is None or following.group(1) not in ("box_start", "quad_start") or text[
                markers[index - 1].end():gap_end
            ].strip():
                raise GroundingParseError(markers[index - 1].end(), f"object ref {label!r} is not followed by a box")
        elif name not in ("box_start", "quad_start"):
            raise GroundingParseError(marker.start(), f"stray <|{name}|>")
        boxes: list[Box] = []
        points: list[Point] = []
        # One or more box blocks, separated by white space only.
        while index < len(markers) and markers[index].group(1) in ("box_start", "quad_start"):
            opener = markers[index]
            if boxes or points:
                if text[markers[index - 1].end():opener.start()].strip():
                    break
            quad = opener.group(1) == "quad_start"
            closer_name = "quad_end" if quad else "box_end"
            if index + 1 >= len(markers) or markers[index + 1].group(1) != closer_name:
                where = markers[index + 1].start() if index + 1 < len(markers) else len(text)
                raise GroundingParseError(where, f"<|{opener.group(1)}|> is not closed by <|{closer_name}|>")
            closer = markers[index + 1]
            parsed = _parse_points(text, opener.end(), closer.start(), strict)
            new_boxes, new_points = _to_shapes(parsed, opener.end(), quad, strict)
            boxes += new_boxes
            points += new_points
            index += 2
        found.append((start_offset, Grounding(label=label or None, boxes=tuple(boxes), points=tuple(points))))
    return found


def _json_int(digits: str) -> int | float:
    # Past this many digits no integer is a usable coordinate; float() reads it (as inf when
    # it overflows, which _json_grounding rejects) in linear time, where int() may not.
    return int(digits) if len(digits) <= _MAX_INT_DIGITS else float(digits)


def _json_candidates(text: str):
    """(offset, value) for each brace-free `{...}` span that names a grounding key and is JSON.

    The spans are disjoint and each is found by one forward scan, so this is linear in
    len(text) however many `{`, `[` or keys the text holds.
    """
    for match in _JSON_OBJECT.finditer(text):
        span = match.group()
        if not any(key in span for key in _JSON_KEYS):
            continue
        try:
            value = _DECODER.decode(span)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            continue
        yield match.start(), value


_DECODER = json.JSONDecoder(parse_int=_json_int)


def _json_grounding(item: dict, offset: int, to_norm: Transform, strict: bool) -> Grounding:
    label = item.get("label")
    if label is not None and not isinstance(label, str):
        raise GroundingParseError(offset, "JSON grounding label must be a string")
    key = "bbox_2d" if "bbox_2d" in item else "point_2d"
    values = item[key]
    want = 4 if key == "bbox_2d" else 2
    if (not isinstance(values, list) or len(values) != want
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
        raise GroundingParseError(offset, f"{key} must be a list of {want} numbers")
    for value in values:
        if not math.isfinite(value):
            raise GroundingParseError(offset, f"coordinate {value} is not finite")
    if key == "bbox_2d":
        x1, y1, x2, y2 = apply_box(to_norm, tuple(float(v) for v in values))
        if strict and (values[0] > values[2] or values[1] > values[3]):
            raise GroundingParseError(offset, "box corners are inverted")
        box = tuple(_check_value(v, offset, strict) for v in (x1, y1, x2, y2))
        return Grounding(label=label or None, boxes=(box,))
    x, y = to_norm.apply(float(values[0]), float(values[1]))
    return Grounding(label=label or None, points=((_check_value(x, offset, strict), _check_value(y, offset, strict)),))


def _parse_json(text: str, model_input_size: Size | None, strict: bool) -> list[tuple[int, Grounding]]:
    if not any(key in text for key in _JSON_KEYS):
        return []
    found: list[tuple[int, Grounding]] = []
    to_norm: Transform | None = None
    for offset, value in _json_candidates(text):
        if not isinstance(value, dict) or not any(key in value for key in ("bbox_2d", "point_2d")):
            continue
        if model_input_size is None:
            raise GroundingParseError(offset, "JSON bbox_2d/point_2d is in model-input px: model_input_size is required")
        if to_norm is None:
            to_norm = image_to_norm1000(model_input_size)
        found.append((offset, _json_grounding(value, offset, to_norm, strict)))
    if not found:
        offset = min(text.find(key) for key in _JSON_KEYS if key in text)
        raise GroundingParseError(offset, "bbox_2d/point_2d found outside a well-formed JSON object")
    return found


def parse_groundings(text: str, model_input_size: Size | None = None, strict: bool = False) -> list[Grounding]:
    """All groundings in `text`, in order of appearance, in norm-1000.

    `model_input_size` is (width, height) of the smart-resized model input, needed only for
    Qwen2.5-VL JSON boxes. Raises GroundingParseError and nothing else.
    """
    if not isinstance(text, str):
        raise GroundingParseError(0, f"expected text, got {type(text).__name__}")
    try:
        tokens = _parse_tokens(text, strict)
        objects = _parse_json(text, model_input_size, strict)
    except (GroundingParseError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - the contract: nothing but GroundingParseError escapes
        # A defect in this module (or a bad model_input_size) must still surface as the one
        # documented error type.
        raise GroundingParseError(0, f"unparseable grounding text: {error_text(error, with_type=True)}") from None
    # Both lists are already in order of offset: merging keeps the whole parse linear.
    return [grounding for _, grounding in heapq.merge(tokens, objects, key=lambda item: item[0])]


def _number_text(value: float) -> str:
    return str(int(round(value)))


def format_grounding(grounding: Grounding) -> str:
    """The Qwen2-VL token form of a grounding; coordinates are rounded to integers."""
    blocks = [
        f"{BOX_START}({_number_text(x1)},{_number_text(y1)}),({_number_text(x2)},{_number_text(y2)}){BOX_END}"
        for x1, y1, x2, y2 in grounding.boxes
    ]
    blocks += [f"{BOX_START}({_number_text(x)},{_number_text(y)}){BOX_END}" for x, y in grounding.points]
    ref = f"{OBJECT_REF_START}{grounding.label}{OBJECT_REF_END}" if grounding.label else ""
    return ref + "".join(blocks)
