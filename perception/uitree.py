"""UI trees: the accessibility nodes a screen shows, and the `uiautomator dump` XML format.

A tree is a flat tuple of `UINode` in pre-order (document order); `depth` gives the
nesting (the root has depth 0) and `index` is the node's position among its siblings,
as in uiautomator's `index` attribute. `bounds` are (x1, y1, x2, y2) in **device px**,
integers, with x2/y2 exclusive, exactly Android's `[x1,y1][x2,y2]`.

`to_uiautomator_xml` writes what `adb shell uiautomator dump` writes; `parse_uiautomator_xml`
reads it back (from the simulator or a real device). Attribute values escape `& < > "` and
also tab, newline and carriage return as character references, because XML attribute
normalisation would otherwise turn them into spaces; with that, every text XML 1.0 can carry
round-trips exactly. The few code points XML 1.0 cannot carry at all (C0 controls other than
tab/newline/CR, lone surrogates, U+FFFE, U+FFFF) are written as "." — the substitution
Android's own AccessibilityNodeInfoDumper makes — so a dump never becomes unparseable.
The XML is written by hand rather than with ElementTree because ElementTree neither writes
the exact uiautomator header nor escapes newlines inside attributes.

Reading is the contract for untrusted device output: `UITreeParseError` and nothing else,
in time and memory linear in the input. So a `<!DOCTYPE>` is refused (a dump never has one;
no entity is ever expanded), the tree is walked without recursion (any depth), and numbers
are bounded before `int()` (bounds: ASCII, at most 10 digits; index: at most 20 characters).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vlagent.perception.errors import VlagentError, error_text

Bounds = tuple[int, int, int, int]

XML_HEADER = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
# ASCII digits only, at most 10 (an int32 fits): a longer number is no device coordinate, and
# refusing it keeps int() linear. Used with fullmatch.
_BOUNDS_RE = re.compile(r"\[(-?[0-9]{1,10}),(-?[0-9]{1,10})\]\[(-?[0-9]{1,10}),(-?[0-9]{1,10})\]")
_MAX_INDEX_LENGTH = 20
# Code points XML 1.0 cannot carry, even as character references.
_NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
_ESCAPE_RE = re.compile("[&<>\"\t\n\r]")


class UITreeParseError(VlagentError, ValueError):
    """Raised when text is not a uiautomator dump; the message names what was wrong."""


@dataclass(frozen=True)
class UINode:
    """One accessibility node. `bounds` are device px (x1, y1, x2, y2), x2/y2 exclusive."""

    index: int
    class_name: str
    text: str = ""
    resource_id: str = ""
    content_desc: str = ""
    package: str = ""
    bounds: Bounds = (0, 0, 0, 0)
    clickable: bool = False
    long_clickable: bool = False
    checkable: bool = False
    checked: bool = False
    focusable: bool = False
    focused: bool = False
    scrollable: bool = False
    enabled: bool = True
    selected: bool = False
    depth: int = 0
    password: bool = False

    @property
    def center(self) -> tuple[float, float]:
        """Centre of the bounds in device px (continuous coordinates)."""
        x1, y1, x2, y2 = self.bounds
        return ((x1 + x2) / 2.0, (y1 + y2) / 2.0)

    @property
    def width(self) -> int:
        return self.bounds[2] - self.bounds[0]

    @property
    def height(self) -> int:
        return self.bounds[3] - self.bounds[1]

    def contains(self, x: float, y: float) -> bool:
        """Whether the device-px point (x, y) lies inside the bounds."""
        x1, y1, x2, y2 = self.bounds
        return x1 <= x < x2 and y1 <= y < y2


def xml_safe(text: str) -> str:
    """`text` with the code points XML 1.0 cannot carry replaced by '.' (as uiautomator does)."""
    return _NOT_XML_RE.sub(".", text)


def _attr(value: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], xml_safe(value))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _node_open(node: UINode) -> str:
    x1, y1, x2, y2 = node.bounds
    fields = (
        ("index", str(node.index)),
        ("text", _attr(node.text)),
        ("resource-id", _attr(node.resource_id)),
        ("class", _attr(node.class_name)),
        ("package", _attr(node.package)),
        ("content-desc", _attr(node.content_desc)),
        ("checkable", _bool(node.checkable)),
        ("checked", _bool(node.checked)),
        ("clickable", _bool(node.clickable)),
        ("enabled", _bool(node.enabled)),
        ("focusable", _bool(node.focusable)),
        ("focused", _bool(node.focused)),
        ("scrollable", _bool(node.scrollable)),
        ("long-clickable", _bool(node.long_clickable)),
        ("password", _bool(node.password)),
        ("selected", _bool(node.selected)),
        ("bounds", f"[{x1},{y1}][{x2},{y2}]"),
    )
    return "<node " + " ".join(f'{name}="{value}"' for name, value in fields)


def to_uiautomator_xml(nodes: Sequence[UINode], rotation: int = 0) -> str:
    """Serialise a pre-order node list into `uiautomator dump` XML.

    `rotation` is Android's display rotation (0-3). Raises ValueError if the depths do not
    describe a tree (the first node must have depth 0 and depth may grow by at most 1).
    """
    if rotation not in (0, 1, 2, 3):
        raise ValueError(f"rotation must be 0, 1, 2 or 3, got {rotation!r}")
    parts = [XML_HEADER, f'<hierarchy rotation="{rotation}">']
    open_depths: list[int] = []
    previous = -1
    for position, node in enumerate(nodes):
        if node.depth < 0 or node.depth > previous + 1:
            raise ValueError(
                f"node {position} has depth {node.depth} after depth {previous}; depths must start at 0 and grow by at most 1"
            )
        while open_depths and open_depths[-1] >= node.depth:
            open_depths.pop()
            parts.append("</node>")
        is_leaf = position + 1 == len(nodes) or nodes[position + 1].depth <= node.depth
        if is_leaf:  # uiautomator writes childless nodes as empty elements
            parts.append(_node_open(node) + " />")
        else:
            parts.append(_node_open(node) + ">")
            open_depths.append(node.depth)
        previous = node.depth
    parts.extend("</node>" for _ in open_depths)
    parts.append("</hierarchy>")
    return "".join(parts)


def _shown(value: str | None, limit: int = 60) -> str:
    return repr(value) if value is None or len(value) <= limit else repr(value[:limit]) + "..."


def _parse_bool(element: ET.Element, name: str) -> bool:
    value = element.get(name, "false")
    if value not in ("true", "false"):
        raise UITreeParseError(f"attribute {name}={_shown(value)} is not 'true' or 'false'")
    return value == "true"


def _parse_bounds(value: str | None) -> Bounds:
    match = _BOUNDS_RE.fullmatch(value or "")
    if match is None:
        raise UITreeParseError(f"bounds {_shown(value)} is not of the form [x1,y1][x2,y2]")
    x1, y1, x2, y2 = (int(v) for v in match.groups())
    return (x1, y1, x2, y2)


def _parse_node(element: ET.Element, depth: int, position: int) -> UINode:
    index_text = element.get("index", str(position))
    try:
        if len(index_text) > _MAX_INDEX_LENGTH:
            raise ValueError(index_text)
        index = int(index_text)
    except ValueError:
        raise UITreeParseError(f"node index {_shown(index_text)} is not an integer") from None
    return UINode(
        index=index,
        class_name=element.get("class", ""),
        text=element.get("text", ""),
        resource_id=element.get("resource-id", ""),
        content_desc=element.get("content-desc", ""),
        package=element.get("package", ""),
        bounds=_parse_bounds(element.get("bounds")),
        clickable=_parse_bool(element, "clickable"),
        long_clickable=_parse_bool(element, "long-clickable"),
        checkable=_parse_bool(element, "checkable"),
        checked=_parse_bool(element, "checked"),
        focusable=_parse_bool(element, "focusable"),
        focused=_parse_bool(element, "focused"),
        scrollable=_parse_bool(element, "scrollable"),
        enabled=_parse_bool(element, "enabled") if "enabled" in element.attrib else True,
        selected=_parse_bool(element, "selected"),
        password=_parse_bool(element, "password"),
        depth=depth,
    )


def _walk(root: ET.Element) -> list[UINode]:
    """The nodes under `root` in pre-order, depth 0 for its children; iterative, so a deep
    tree cannot exhaust the Python stack."""
    out: list[UINode] = []
    stack = [(root, enumerate(root))]
    while stack:
        parent, siblings = stack[-1]
        entry = next(siblings, None)
        if entry is None:
            stack.pop()
            continue
        position, child = entry
        if child.tag != "node":
            raise UITreeParseError(f"unexpected element <{child.tag[:60]}> inside <{parent.tag[:60]}>")
        out.append(_parse_node(child, len(stack) - 1, position))
        stack.append((child, enumerate(child)))
    return out


class _NoDoctype(ET.TreeBuilder):
    """A TreeBuilder that refuses any DTD: a dump never has one, and refusing it up front
    rules out entity expansion (billion laughs and its quadratic cousins) entirely."""

    def doctype(self, name, pubid, system):  # noqa: ARG002 - the signature ElementTree calls
        raise UITreeParseError("a uiautomator dump has no <!DOCTYPE>; DTDs and entities are not accepted")


def _root(xml: str | bytes) -> ET.Element:
    """The root element of `xml`; UITreeParseError, and nothing else, for any other input."""
    if not isinstance(xml, (str, bytes, bytearray, memoryview)):
        raise UITreeParseError(f"expected XML text or bytes, got {type(xml).__name__}")
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        # A str is fed as it is: ElementTree reads it as UTF-8 whatever the declaration says.
        parser.feed(xml.tobytes() if isinstance(xml, memoryview) else xml)
        return parser.close()
    except (UITreeParseError, MemoryError):
        raise
    except ET.ParseError as error:
        raise UITreeParseError(f"not well-formed XML: {error}") from None
    except Exception as error:  # noqa: BLE001 - e.g. lone surrogates in a str, an unknown declared encoding
        raise UITreeParseError(f"unreadable XML: {error_text(error, with_type=True)}") from None


def parse_uiautomator_xml(xml: str | bytes) -> list[UINode]:
    """Parse `uiautomator dump` XML into a pre-order node list (depth 0 = top-level nodes).

    Text before the XML declaration (uiautomator sometimes prints a status line) is not
    accepted: strip it first. Raises UITreeParseError, and nothing else, on anything that is
    not a dump (including non-text input); time and memory are linear in its length.
    """
    root = _root(xml)
    if root.tag != "hierarchy":
        raise UITreeParseError(f"root element is <{root.tag[:60]}>, expected <hierarchy>")
    return _walk(root)


def rotation_of(xml: str | bytes) -> int:
    """The `rotation` attribute of a dump's <hierarchy> (0 when absent)."""
    value = _root(xml).get("rotation", "0")
    if value not in ("0", "1", "2", "3"):
        raise UITreeParseError(f"rotation {_shown(value)} is not 0-3")
    return int(value)


def children(nodes: Sequence[UINode], position: int) -> Iterable[int]:
    """Positions (into `nodes`) of the direct children of the node at `position`."""
    depth = nodes[position].depth
    for later in range(position + 1, len(nodes)):
        if nodes[later].depth <= depth:
            return
        if nodes[later].depth == depth + 1:
            yield later


def subtree(nodes: Sequence[UINode], position: int) -> list[UINode]:
    """The node at `position` followed by all its descendants, in pre-order."""
    depth = nodes[position].depth
    out = [nodes[position]]
    for node in nodes[position + 1:]:
        if node.depth <= depth:
            break
        out.append(node)
    return out
