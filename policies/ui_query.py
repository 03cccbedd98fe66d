"""Queries over a UI tree (a pre-order tuple of `UINode`, bounds in device px), for policies
that act from the accessibility tree: find nodes by text, resource id, description or
class, climb to the clickable ancestor, and pick a tap point that no other clickable node
covers (a tap goes to the topmost clickable view, as on Android).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vlagent.perception.uitree import UINode

Point = tuple[float, float]


def _matches(node: UINode, text: str | None, rid: str | None, desc: str | None, cls: str | None,
             where: Callable[[UINode], bool] | None) -> bool:
    return ((text is None or node.text == text) and (rid is None or node.resource_id == rid)
            and (desc is None or node.content_desc == desc) and (cls is None or node.class_name == cls)
            and (where is None or where(node)))


@dataclass(frozen=True)
class UIView:
    """A UI tree with lookups. Positions are indices into `nodes` (pre-order = paint order)."""

    nodes: tuple[UINode, ...] = ()

    def find_all(self, text: str | None = None, rid: str | None = None, desc: str | None = None, cls: str | None = None,
                 where: Callable[[UINode], bool] | None = None) -> list[UINode]:
        return [n for n in self.nodes if _matches(n, text, rid, desc, cls, where)]

    def find(self, text: str | None = None, rid: str | None = None, desc: str | None = None, cls: str | None = None,
             where: Callable[[UINode], bool] | None = None) -> UINode | None:
        """The first node matching every given attribute exactly, or None."""
        found = self.find_all(text, rid, desc, cls, where)
        return found[0] if found else None

    def position(self, node: UINode) -> int:
        for i, candidate in enumerate(self.nodes):
            if candidate is node:
                return i
        return self.nodes.index(node)

    def ancestors(self, node: UINode) -> list[UINode]:
        """Ancestors of `node`, nearest first."""
        out, depth = [], node.depth
        for candidate in reversed(self.nodes[: self.position(node)]):
            if candidate.depth < depth:
                out.append(candidate)
                depth = candidate.depth
        return out

    def clickable_self_or_ancestor(self, node: UINode, long: bool = False) -> UINode | None:
        for candidate in (node, *self.ancestors(node)):
            if (candidate.long_clickable if long else candidate.clickable) and candidate.enabled:
                return candidate
        return None

    def descendants(self, node: UINode) -> list[UINode]:
        start = self.position(node)
        out = []
        for candidate in self.nodes[start + 1:]:
            if candidate.depth <= node.depth:
                break
            out.append(candidate)
        return out

    @property
    def package(self) -> str:
        """The package of the first top-level node (the window in front)."""
        return self.nodes[0].package if self.nodes else ""

    def scrollables(self) -> list[UINode]:
        return [n for n in self.nodes if n.scrollable]

    def tap_point(self, node: UINode, long: bool = False) -> Point:
        """A point inside `node` that no clickable node painted after it covers.

        Tries the centre, then a 7x7 grid over the bounds. Raises LookupError when every
        candidate is covered (the node cannot be hit).
        """
        start = self.position(node)
        later = [n for n in self.nodes[start + 1:] if (n.long_clickable if long else n.clickable)]
        x1, y1, x2, y2 = node.bounds
        candidates: list[Point] = [node.center]
        candidates += [(x1 + (x2 - x1) * (i + 0.5) / 7, y1 + (y2 - y1) * (j + 0.5) / 7) for j in range(7) for i in range(7)]
        for x, y in candidates:
            if not any(other.contains(x, y) for other in later):
                return (x, y)
        raise LookupError(f"every point of {node.class_name} {node.text or node.content_desc!r} is covered")


def same_tree(a: Sequence[UINode], b: Sequence[UINode]) -> bool:
    """Whether two trees are identical (a scroll that changed nothing hit the end)."""
    return tuple(a) == tuple(b)
