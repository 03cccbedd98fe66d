"""UI trees: the uiautomator XML round trip, and frames agreeing with trees.

Frame/tree agreement is checked by ablation: for every clickable or long-clickable node,
the screen is rendered again without that view (and its children); the pixels that change
are the ones the renderer drew for it. They must exist and lie inside the node's reported
bounds. A negative control shows the check fails when bounds and drawing disagree.
"""

import gc
import time

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vlagent.perception.uitree import (
    UINode,
    UITreeParseError,
    children,
    parse_uiautomator_xml,
    rotation_of,
    subtree,
    to_uiautomator_xml,
    xml_safe,
)
from vlagent.sim.phone import Phone
from vlagent.sim.phone.render import Screen, render_array
from vlagent.sim.phone.view import Box, View, walk_visible

NOT_XML = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff"]
xml_text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters=NOT_XML), max_size=40)


@st.composite
def trees(draw) -> list[UINode]:
    count = draw(st.integers(1, 8))
    nodes, depth, siblings = [], 0, {}
    for i in range(count):
        depth = 0 if i == 0 else draw(st.integers(0, depth + 1))
        index = siblings.get(depth, -1) + 1
        siblings = {d: v for d, v in siblings.items() if d <= depth} | {depth: index}
        x1, y1 = draw(st.integers(-50, 3000)), draw(st.integers(-50, 3000))
        nodes.append(UINode(
            index=index, class_name=draw(xml_text), text=draw(xml_text), resource_id=draw(xml_text),
            content_desc=draw(xml_text), package=draw(xml_text),
            bounds=(x1, y1, x1 + draw(st.integers(0, 2000)), y1 + draw(st.integers(0, 2000))),
            clickable=draw(st.booleans()), long_clickable=draw(st.booleans()), checkable=draw(st.booleans()),
            checked=draw(st.booleans()), focusable=draw(st.booleans()), focused=draw(st.booleans()),
            scrollable=draw(st.booleans()), enabled=draw(st.booleans()), selected=draw(st.booleans()),
            password=draw(st.booleans()), depth=depth,
        ))
    return nodes


@settings(max_examples=150, deadline=None)
@given(trees(), st.integers(0, 3))
def test_xml_round_trip_of_any_tree(nodes, rotation):
    xml = to_uiautomator_xml(nodes, rotation=rotation)
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=")
    assert parse_uiautomator_xml(xml) == nodes
    assert parse_uiautomator_xml(xml.encode("utf-8")) == nodes
    assert rotation_of(xml) == rotation


@settings(max_examples=200, deadline=None)
@given(xml_text)
@example('say "hi" <b> & \'x\' ]]>')
@example("line one\nline two\r\n\ttabbed  double  spaces ")
@example("Zoë Ångström 你好 🚗👋🏽 \u200d \u2028 \x7f \x85")
def test_any_xml_text_round_trips_in_every_attribute(text):
    node = UINode(index=0, class_name=text, text=text, resource_id=text, content_desc=text, package=text, bounds=(0, 0, 1, 1))
    assert parse_uiautomator_xml(to_uiautomator_xml([node])) == [node]


def test_characters_xml_cannot_carry_become_dots_like_uiautomator():
    node = UINode(index=0, class_name="c", text="a\x00b\x01c\x1f\ufffe", bounds=(0, 0, 1, 1))
    (back,) = parse_uiautomator_xml(to_uiautomator_xml([node]))
    assert back.text == "a.b.c.." == xml_safe(node.text)


def test_leaves_are_empty_elements_and_nesting_follows_depth():
    nodes = [UINode(0, "root", depth=0), UINode(0, "a", depth=1), UINode(0, "a1", depth=2), UINode(1, "b", depth=1)]
    xml = to_uiautomator_xml(nodes)
    assert xml.count("<node ") == 4 and xml.count("</node>") == 2 and xml.count(" />") == 2
    assert [nodes[i].class_name for i in children(nodes, 0)] == ["a", "b"]
    assert [n.class_name for n in subtree(nodes, 1)] == ["a", "a1"]


def test_bad_depths_are_refused():
    with pytest.raises(ValueError, match="depth"):
        to_uiautomator_xml([UINode(0, "a", depth=1)])
    with pytest.raises(ValueError, match="rotation"):
        to_uiautomator_xml([], rotation=4)


@pytest.mark.parametrize("xml, message", [
    ("not xml", "well-formed"),
    ("<hierarchy><node bounds='[0,0][1,1]'>", "well-formed"),
    ("<root/>", "<root>"),
    ("<hierarchy><item/></hierarchy>", "unexpected element"),
    ("<hierarchy><node bounds='0,0,1,1'/></hierarchy>", "bounds"),
    ("<hierarchy><node bounds='[0,0][1,1]' clickable='yes'/></hierarchy>", "clickable"),
    ("<hierarchy><node bounds='[0,0][1,1]' index='x'/></hierarchy>", "index"),
])
def test_bad_dumps_raise_a_typed_error(xml, message):
    with pytest.raises(UITreeParseError, match=message):
        parse_uiautomator_xml(xml)


def test_parses_a_real_device_dump():
    dump = ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">"
            '<node index="0" text="" resource-id="" class="android.widget.FrameLayout" package="com.android.settings" '
            'content-desc="" checkable="false" checked="false" clickable="false" enabled="true" focusable="false" '
            'focused="false" scrollable="false" long-clickable="false" password="false" selected="false" '
            'bounds="[0,0][1080,2400]"><node index="0" text="Wi‑Fi" resource-id="android:id/title" '
            'class="android.widget.TextView" package="com.android.settings" content-desc="" checkable="false" '
            'checked="false" clickable="true" enabled="true" focusable="true" focused="false" scrollable="false" '
            'long-clickable="false" password="false" selected="false" bounds="[42,262][881,325]" /></node></hierarchy>')
    root, title = parse_uiautomator_xml(dump)
    assert (root.depth, title.depth) == (0, 1)
    assert title.text == "Wi‑Fi" and title.clickable and title.bounds == (42, 262, 881, 325)
    assert title.center == (461.5, 293.5)


def test_phone_xml_matches_its_tree():
    phone = Phone(seed=4)
    phone.open_app("Contacts")
    assert parse_uiautomator_xml(phone.ui_xml()) == phone.ui_tree()
    phone.rotate("landscape")
    assert rotation_of(phone.ui_xml()) == 1


# ----- frames agree with trees ---------------------------------------------------------------


def ablation_problems(screen: Screen) -> tuple[int, list[str]]:
    """Check every clickable/long-clickable visible view against the pixels it draws."""
    full = render_array(screen)
    problems, checked = [], 0
    for placed in walk_visible(screen.interactive(), screen.rect):
        view = placed.view
        if not (view.clickable or view.long_clickable):
            continue
        checked += 1
        changed = np.any(full != render_array(screen, skip=view), axis=2)
        ys, xs = np.nonzero(changed)
        name = f"{view.class_name} {view.text or view.content_desc or view.resource_id!r}"
        if len(xs) == 0:
            problems.append(f"{name}: drew no pixels inside {placed.visible}")
            continue
        x1, y1, x2, y2 = placed.visible
        drawn = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        if drawn[0] < x1 or drawn[1] < y1 or drawn[2] > x2 or drawn[3] > y2:
            problems.append(f"{name}: drew {drawn} outside its bounds {placed.visible}")
    return checked, problems


def _screens(width: int, height: int, orientation: str):
    """A phone walked through home, every app, a scrolled list, a dialog and a menu."""
    phone = Phone(width=width, height=height, seed=11, orientation=orientation)
    yield "home", phone
    phone.long_press(*next(n for n in phone.ui_tree() if n.text == "Maps").center)
    yield "launcher menu", phone
    for app in ("Settings", "Clock", "Messages", "Contacts", "Calculator", "Notes", "Shop", "Browser", "Camera", "Maps"):
        phone.open_app(app)
        yield app, phone
    phone.open_app("Contacts")
    phone.swipe(width / 4, phone.size[1] * 0.7, width / 4, phone.size[1] * 0.45)  # leaves rows cut at both edges
    yield "contacts scrolled", phone
    row = next(n for n in phone.ui_tree() if n.long_clickable)
    phone.long_press(*row.center)
    yield "contact menu", phone
    phone.open_app("Clock")
    phone.tap(*next(n for n in phone.ui_tree() if n.content_desc == "Add alarm").center)
    yield "alarm dialog", phone
    phone.key("app_switch")
    yield "recents", phone


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_every_clickable_node_owns_the_pixels_inside_its_bounds(orientation):
    total = 0
    for name, phone in _screens(540, 1200, orientation):
        checked, problems = ablation_problems(phone.build_screen())
        assert not problems, f"{name}: {problems}"
        assert checked > 0, name
        total += checked
    assert total > 100


def test_frame_tree_agreement_at_full_resolution():
    phone = Phone(seed=2)
    phone.open_app("Settings")
    checked, problems = ablation_problems(phone.build_screen())
    assert checked >= 10 and not problems


def test_the_agreement_check_catches_bounds_that_lie():
    phone = Phone(width=540, height=1200, seed=3)
    phone.open_app("Browser")
    screen = phone.build_screen()
    bar = next(p.view for p in walk_visible(screen.interactive(), screen.rect) if p.view.class_name == "android.widget.EditText")
    x1, y1, x2, y2 = bar.bounds
    bar.bounds = (x1, y1 + 30, x2, y2 + 30)  # the tree now claims a shifted box
    _, problems = ablation_problems(screen)
    assert any("EditText" in p and "outside" in p for p in problems)
    bar.bounds = (x1, y1, x2, y2)
    ghost = View("android.widget.Button", (0, 900, 100, 1000), text="ghost", clickable=True, on_tap=lambda: None)
    screen.base.children.append(ghost)  # reported, but draws nothing
    _, problems = ablation_problems(screen)
    assert [p for p in problems if "ghost" in p] == ["android.widget.Button 'ghost': drew no pixels inside (0, 900, 100, 1000)"]
    ghost.paint = [Box((0, 900, 100, 1000), screen.background)]  # draws, but nothing that shows
    _, problems = ablation_problems(screen)
    assert any("ghost" in p and "no pixels" in p for p in problems)
    ghost.paint = [Box((0, 900, 100, 1000), (200, 0, 0))]
    assert ablation_problems(screen)[1] == []


@pytest.mark.parametrize(
    "xml, message",
    [
        # The original failures: each escaped as a builtin error instead of UITreeParseError.
        (None, "expected XML"),                                                          # TypeError
        (5, "expected XML"),                                                             # TypeError
        ("<hierarchy text='\ud800'/>", "unreadable XML"),                                # UnicodeEncodeError
        ("<hierarchy><node bounds='[" + "1" * 5000 + ",0][1,1]'/></hierarchy>", "bounds"),  # ValueError (int digits)
        (b"<?xml version='1.0' encoding='bogus'?><hierarchy/>", "unknown encoding"),  # LookupError
        (b"<?xml version='1.0' encoding='shift_jis'?><hierarchy/>", "unreadable XML"),   # ValueError
        (memoryview(b"<hierarchy/>" * 2)[::2], "not well-formed"),                       # BufferError
        # Tightened: no DTD (entity expansion), no unbounded or non-ASCII numbers.
        ('<!DOCTYPE h [<!ENTITY e "' + "a" * 10_000 + '">]><hierarchy><node text="' + "&e;" * 10_000
         + '" bounds="[0,0][1,1]"/></hierarchy>', "DOCTYPE"),
        ('<!DOCTYPE hierarchy SYSTEM "http://example.com/x.dtd"><hierarchy/>', "DOCTYPE"),
        ("<hierarchy><node bounds='[0,0][1,1]' index='" + "1" * 5000 + "'/></hierarchy>", "index"),
        ("<hierarchy><node bounds='[\u0665,0][1,1]'/></hierarchy>", "bounds"),
        ("<hierarchy><node bounds='[0,0][1,1]&#10;'/></hierarchy>", "bounds"),
    ],
    ids=lambda value: repr(value)[:30] if isinstance(value, str) else type(value).__name__,
)
def test_any_input_raises_only_the_typed_error(xml, message):
    with pytest.raises(UITreeParseError, match=message) as caught:
        parse_uiautomator_xml(xml)
    assert type(caught.value) is UITreeParseError
    assert len(str(caught.value)) < 1000
    if isinstance(xml, str) and xml.startswith("<!DOCTYPE"):
        with pytest.raises(UITreeParseError, match="DOCTYPE"):
            rotation_of(xml)


def test_a_str_is_read_as_the_text_it_is_whatever_the_declared_encoding():
    xml = "<?xml version='1.0' encoding='latin-1'?><hierarchy><node text='日本' bounds='[0,0][1,1]'/></hierarchy>"
    assert parse_uiautomator_xml(xml)[0].text == "日本"
    assert parse_uiautomator_xml(memoryview(xml.replace("latin-1", "UTF-8").encode()))[0].text == "日本"


def test_a_deep_tree_parses_without_recursion_in_linear_time():
    def deep(depth):
        return "<hierarchy>" + "<node bounds='[0,0][1,1]'>" * depth + "</node>" * depth + "</hierarchy>"

    def seconds(xml):
        # The cyclic GC's passes grow with every object alive (pytest's included), which is not
        # the parser's cost: time the parse alone.
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            nodes = parse_uiautomator_xml(xml)
            return time.perf_counter() - start, nodes
        finally:
            gc.enable()

    # The original failure: the recursive walk raised RecursionError past ~1000 levels.
    elapsed, nodes = seconds(deep(30_000))  # 1 MB
    print(f"30000-deep tree ({len(deep(30_000))} bytes): {elapsed:.3f} s")
    assert [node.depth for node in nodes] == list(range(30_000))
    assert elapsed < 5.0
    # Best of three on sizes large enough that scheduler noise on a busy 2-core machine stays small.
    small = min(seconds(deep(20_000))[0] for _ in range(3))
    large = min(seconds(deep(60_000))[0] for _ in range(3))
    print(f"20000 deep: {small:.3f} s, 60000 deep: {large:.3f} s, ratio {large / small:.2f}")
    assert large / small < 6  # 3 when linear, 9 when quadratic
