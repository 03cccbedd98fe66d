"""The view tree: one structure that is both drawn and reported as the UI tree.

Apps build a tree of `View`s for the current state. Each view carries its bounds (device
px, x2/y2 exclusive), its accessibility attributes, the paint ops that draw it (in device
px), its children and its input handlers. The renderer paints exactly these ops and
`to_nodes` reports exactly these views, so the frame and the UI tree cannot disagree by
construction; a view whose own ops or children paint outside its bounds is a bug the
frame/tree agreement test catches.

A view with `clips=True` (a scrolling list) clips its descendants to its bounds, as
Android clips a RecyclerView's children; descendants outside the clip are not visible and
are left out of the UI tree and of hit testing.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from vlagent.perception.uitree import UINode

Rect = tuple[int, int, int, int]
Color = tuple[int, int, int]


@dataclass(frozen=True)
class Box:
    """A filled (optionally rounded, optionally outlined) rectangle; `rect` x2/y2 exclusive."""

    rect: Rect
    fill: Color | None
    radius: int = 0
    outline: Color | None = None
    width: int = 0


@dataclass(frozen=True)
class Oval:
    rect: Rect
    fill: Color | None
    outline: Color | None = None
    width: int = 0


@dataclass(frozen=True)
class Label:
    """Text whose anchor point is (x, y); `anchor` is Pillow's two-letter text anchor."""

    x: int
    y: int
    text: str
    size: int
    fill: Color
    anchor: str = "lm"
    bold: bool = False


@dataclass(frozen=True)
class Lines:
    points: tuple[tuple[int, int], ...]
    fill: Color
    width: int = 1


@dataclass(frozen=True)
class Poly:
    points: tuple[tuple[int, int], ...]
    fill: Color


@dataclass(frozen=True)
class Bitmap:
    """A pre-drawn RGB or RGBA image pasted with its top-left at (x, y)."""

    x: int
    y: int
    image: object  # PIL.Image.Image; typed loosely so this module stays free of Pillow


PaintOp = Box | Oval | Label | Lines | Poly | Bitmap


@dataclass(eq=False)
class View:
    """One node of the screen: bounds in device px, accessibility flags, paint ops, handlers.

    `on_tap` receives nothing; `on_long_press` receives the press point (x, y) in device px.
    `text_field` names the text field this view edits (a key into UIState.fields) and
    `on_submit` runs when enter is pressed while it is focused.
    """

    class_name: str = "android.view.View"
    bounds: Rect = (0, 0, 0, 0)
    text: str = ""
    resource_id: str = ""
    content_desc: str = ""
    package: str = ""
    clickable: bool = False
    long_clickable: bool = False
    checkable: bool = False
    checked: bool = False
    focusable: bool = False
    focused: bool = False
    scrollable: bool = False
    enabled: bool = True
    selected: bool = False
    paint: list[PaintOp] = field(default_factory=list)
    children: list["View"] = field(default_factory=list)
    on_tap: Callable[[], None] | None = None
    on_long_press: Callable[[int, int], None] | None = None
    on_submit: Callable[[], None] | None = None
    text_field: str | None = None
    multiline: bool = False
    scroll_key: str | None = None
    scroll_offset: int = 0
    scroll_max: int = 0
    clips: bool = False

    def add(self, *views: "View") -> "View":
        self.children.extend(views)
        return self


def intersect(a: Rect, b: Rect) -> Rect:
    """The overlap of two rects, (0, 0, 0, 0) when they do not overlap."""
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    if x2 <= x1 or y2 <= y1:
        return (0, 0, 0, 0)
    return (x1, y1, x2, y2)


def is_empty(rect: Rect) -> bool:
    return rect[2] <= rect[0] or rect[3] <= rect[1]


def contains(rect: Rect, x: float, y: float) -> bool:
    return rect[0] <= x < rect[2] and rect[1] <= y < rect[3]


@dataclass(frozen=True)
class Placed:
    """A visible view with its visible bounds (clipped by scrolling ancestors) and depth."""

    view: View
    visible: Rect
    clip: Rect
    depth: int
    index: int
    package: str


def walk_visible(roots: list[View], screen: Rect) -> Iterator[Placed]:
    """Visible views in paint order (pre-order); children of invisible views are skipped."""

    def visit(view: View, clip: Rect, depth: int, index: int, package: str) -> Iterator[Placed]:
        visible = intersect(view.bounds, clip)
        if is_empty(visible):
            return
        package = view.package or package
        yield Placed(view, visible, clip, depth, index, package)
        child_clip = intersect(clip, view.bounds) if view.clips else clip
        position = 0
        for child in view.children:
            if is_empty(intersect(child.bounds, child_clip)):
                continue
            yield from visit(child, child_clip, depth + 1, position, package)
            position += 1

    for position, root in enumerate(roots):
        yield from visit(root, screen, 0, position, root.package)


def to_nodes(roots: list[View], screen: Rect) -> list[UINode]:
    """The UI tree of the visible views, pre-order, bounds clipped to what is visible."""
    return [
        UINode(
            index=p.index,
            class_name=p.view.class_name,
            text=p.view.text,
            resource_id=p.view.resource_id,
            content_desc=p.view.content_desc,
            package=p.package,
            bounds=p.visible,
            clickable=p.view.clickable,
            long_clickable=p.view.long_clickable,
            checkable=p.view.checkable,
            checked=p.view.checked,
            focusable=p.view.focusable,
            focused=p.view.focused,
            scrollable=p.view.scrollable,
            enabled=p.view.enabled,
            selected=p.view.selected,
            depth=p.depth,
        )
        for p in walk_visible(roots, screen)
    ]


def hit(roots: list[View], screen: Rect, x: float, y: float, want: Callable[[View], bool]) -> Placed | None:
    """The topmost visible view under (x, y) device px for which `want` is true."""
    found = None
    for placed in walk_visible(roots, screen):
        if want(placed.view) and contains(placed.visible, x, y):
            found = placed  # later in paint order means drawn on top
    return found
