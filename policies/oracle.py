"""The oracle policy: solves every simulator task by reading the UI tree.

It knows the task (its template and parameters) but acts only through `Action`s chosen from
what `observation.frame.ui_tree` shows, exactly as a model policy acts: it taps visible
nodes, scrolls lists until a node appears, types into focused fields and reads text back
from the screen (a phone number, a calculator result). It never touches phone state. It
proves the tasks are solvable and is the baseline for replays.

A plan (policies/oracle_plans.py) is a generator of Actions in **device px**; after each
yield the policy refreshes `skills.ui` with the next observation's tree. `act` maps the
action's coordinates to frame px with `frame.to_frame_px` (the identity for the sim).
"""

from collections.abc import Generator

from vlagent.agent.actions import (
    Action,
    Finish,
    KeyPress,
    LongPress,
    Scroll,
    Swipe,
    Tap,
    TypeText,
    action_to_json,
)
from vlagent.agent.interfaces import Decision, Observation
from vlagent.perception.errors import VlagentError
from vlagent.perception.frame import Frame
from vlagent.perception.uitree import UINode
from vlagent.policies.ui_query import UIView, same_tree

LAUNCHER_ICON = "com.android.launcher3:id/icon"

Plan = Generator[Action, None, object]


class OracleError(VlagentError, RuntimeError):
    """The oracle cannot go on: an expected node is missing or a list ended without it."""


class Skills:
    """Building blocks for plans. Each generator method yields Actions (device px)."""

    def __init__(self) -> None:
        self.ui = UIView()

    # ----- single actions -----------------------------------------------------------------
    def expect(self, **query) -> UINode:
        """The first node matching `query` (see UIView.find); OracleError when none is shown."""
        node = self.ui.find(**query)
        if node is None:
            raise OracleError(f"no node with {query} on screen ({self.ui.package})")
        return node

    def tap(self, node: UINode) -> Tap:
        """A tap on `node`, or on its nearest clickable ancestor, at an uncovered point."""
        target = self.ui.clickable_self_or_ancestor(node) or node
        x, y = self.ui.tap_point(target)
        return Tap(x=x, y=y)

    def long_press(self, node: UINode) -> LongPress:
        target = self.ui.clickable_self_or_ancestor(node, long=True) or node
        x, y = self.ui.tap_point(target, long=True)
        return LongPress(x=x, y=y, seconds=1.0)

    # ----- multi-step skills --------------------------------------------------------------
    def open_app(self, label: str) -> Plan:
        """Go home and tap the app's icon."""
        if self.ui.find(rid="com.android.launcher3:id/workspace") is None:
            yield KeyPress(key="home")
        yield self.tap(self.expect(rid=LAUNCHER_ICON, text=label))

    def _container(self, rid: str | None):
        if rid is not None:
            return self.expect(rid=rid)
        scrollables = self.ui.scrollables()
        if not scrollables:
            return None
        return max(scrollables, key=lambda n: n.width * n.height)

    def _swipe(self, container, fraction: float) -> Swipe:
        """Move the content so that what lies below comes up by `fraction` of the list height (negative: down)."""
        x1, y1, x2, y2 = container.bounds
        cx = (x1 + x2) / 2
        half = (y2 - y1) * abs(fraction) / 2
        mid = (y1 + y2) / 2
        start, end = (mid + half, mid - half) if fraction > 0 else (mid - half, mid + half)
        return Swipe(x1=cx, y1=start, x2=cx, y2=end, seconds=0.4)

    def _edge(self, node, container) -> str | None:
        """"top"/"bottom" when `node` touches that edge of its scrolling `container` (it may be cut off)."""
        if container is None or container not in self.ui.ancestors(node):
            return None
        if node.bounds[3] >= container.bounds[3]:
            return "bottom"
        if node.bounds[1] <= container.bounds[1]:
            return "top"
        return None

    def scroll_to(self, container_rid: str | None = None, max_swipes: int = 40, **query) -> Plan:
        """Scroll the main list (or `container_rid`) until a node matching `query` is fully shown; returns it."""
        direction = 1.0
        turned = False
        for _ in range(max_swipes):
            node = self.ui.find(**query)
            container = self._container(container_rid)
            if node is not None:
                edge = self._edge(node, container)
                if edge is None:
                    return node
                before = self.ui.nodes
                yield self._swipe(container, 0.3 if edge == "bottom" else -0.3)
                if same_tree(before, self.ui.nodes):
                    return self.ui.find(**query)
                continue
            if container is None:
                break
            before = self.ui.nodes
            yield self._swipe(container, 0.7 * direction)
            if same_tree(before, self.ui.nodes):
                if turned:
                    break
                direction, turned = -direction, True
        raise OracleError(f"no node with {query} in the list after scrolling")

    def type_into(self, node, text: str, submit: bool = False) -> Plan:
        """Focus the field `node` (tap) and replace its text."""
        if not node.focused:
            yield self.tap(node)
        yield TypeText(text=text, clear=True, submit=submit)

    def type_into_field(self, rid: str, text: str, submit: bool = False) -> Plan:
        yield from self.type_into(self.expect(rid=rid), text, submit)


def _to_frame(action: Action, frame: Frame) -> Action:
    """Map an action's device-px coordinates into the frame's px."""
    def point(x: float, y: float) -> tuple[float, float]:
        fx, fy = frame.to_frame_px(x, y)
        return min(max(0.0, fx), float(frame.width)), min(max(0.0, fy), float(frame.height))

    if isinstance(action, (Tap, LongPress)):
        x, y = point(action.x, action.y)
        return action.model_copy(update={"x": x, "y": y})
    if isinstance(action, Swipe):
        x1, y1 = point(action.x1, action.y1)
        x2, y2 = point(action.x2, action.y2)
        return action.model_copy(update={"x1": x1, "y1": y1, "x2": x2, "y2": y2})
    if isinstance(action, Scroll) and action.x is not None:
        x, y = point(action.x, action.y)
        return action.model_copy(update={"x": x, "y": y})
    return action


class OraclePolicy:
    """`Policy` that solves `task` (a sim.tasks.Task) from the UI tree. One instance per episode."""

    def __init__(self, task) -> None:
        from vlagent.policies.oracle_plans import PLANS

        if task.template_id not in PLANS:
            raise OracleError(f"the oracle has no plan for task template {task.template_id!r}")
        self.task = task
        self.skills = Skills()
        self._plan: Plan = PLANS[task.template_id](self.skills, task.params)
        self._done: Finish | None = None

    def next_action(self, ui_tree) -> Action:
        """The next Action in device px for this UI tree (device px)."""
        if self._done is not None:
            return self._done
        self.skills.ui = UIView(tuple(ui_tree))
        try:
            return next(self._plan)
        except StopIteration:
            self._done = Finish(status="success", reason="oracle plan complete")
        except (OracleError, LookupError) as error:
            self._done = Finish(status="failure", reason=str(error))
        return self._done

    def act(self, observation: Observation, history: list[Decision]) -> Decision:
        frame = observation.frame
        if frame.ui_tree is None:
            error = OracleError("the oracle needs a frame with a UI tree (frame.ui_tree is None)")
            error.hint = "over adb, pass --env-opt ui_tree=true"
            raise error
        action = _to_frame(self.next_action(frame.ui_tree), frame)
        return Decision(action=action, raw_text=action_to_json(action), thought=f"oracle plan for {self.task.template_id}")
