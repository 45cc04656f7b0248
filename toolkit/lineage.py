"""Lineage of a population: which member came from which, read from ``generation`` events.

An evolutionary method (ME-DARTS, TS-ENAS) emits one ``generation`` event per generation or stage;
each member names in ``parents`` the ids of the previous generation it came from (the individual
it inherited from, or the two parents of a crossover). :class:`Lineage` collects these records and
:meth:`Lineage.ancestry` gives the family tree of one member: the member, its parents, their
parents, ... back to the first generation. With crossover a tree can meet itself (two parents with
a common ancestor), so it is a directed acyclic graph; each ancestor appears once.

A member is known by its generation and its id, so an individual that survives into the next
generation under the same id is two nodes, linked. A parent id is looked up in the latest earlier
generation that holds it; a parent that was never recorded (e.g. a run resumed after the first
generation) stays in the tree as a node without metrics, marked "not recorded".

:func:`draw_lineage` draws a tree with graphviz in the style of :mod:`toolkit.draw` (graphviz is
imported only when something is drawn). Nothing here imports UI code.

Example:
    >>> gens = [{"index": 0, "population": [{"id": "a", "metrics": {"val_acc": 0.8}, "genotype": {}},
    ...                                     {"id": "b", "metrics": {"val_acc": 0.7}, "genotype": {}}]},
    ...         {"index": 1, "population": [{"id": "c", "metrics": {"val_acc": 0.9}, "genotype": {},
    ...                                      "parents": ["a", "b"]}]}]
    >>> tree = Lineage(gens).ancestry("c")
    >>> [(p.id, c.id) for p, c in tree.edges]
    [('a', 'c'), ('b', 'c')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real

from .errors import ToolkitError


@dataclass(frozen=True)
class LineageNode:
    """One member in one generation (``generation`` None for records without one)."""

    id: str | int
    generation: int | None
    metrics: Mapping = field(default_factory=dict, compare=False, hash=False)
    genotype: Mapping = field(default_factory=dict, compare=False, hash=False)
    recorded: bool = field(default=True, compare=False, hash=False)

    @property
    def key(self) -> tuple:
        return (self.generation, self.id)


@dataclass
class LineageTree:
    """The ancestry of :attr:`member`: its ancestors (``nodes``, the member first) and the
    ``edges`` (parent, child) between them."""

    member: LineageNode
    nodes: list[LineageNode]
    edges: list[tuple[LineageNode, LineageNode]]

    def parents_of(self, node: LineageNode) -> list[LineageNode]:
        return [p for p, c in self.edges if c == node]


def _records(source) -> list[tuple[int | None, Mapping]]:
    """(generation index, member record) of every member in ``source`` (events, generation
    records or member records)."""
    out = []
    for i, item in enumerate(source):
        data = getattr(item, "data", item)  # an Event, or its data
        if getattr(item, "kind", "generation") != "generation":
            continue
        if not isinstance(data, Mapping):
            raise ToolkitError(f"lineage: item {i} is a {type(data).__name__}; give generation events, generation "
                               "records ({index, population}) or member records ({id, metrics, genotype, parents})")
        if "population" in data:
            index = data.get("index", i)
            out += [(index, m) for m in data["population"]]
        elif "id" in data:
            out.append((data.get("generation"), data))
        else:
            raise ToolkitError(f"lineage: item {i} has neither 'population' (a generation) nor 'id' (a member)")
    return out


class Lineage:
    """Every member of a run and its parent links.

    Args:
        source: ``generation`` events (as a listener collects them), their data
            (``{index, population, pareto_front}``), or flat member records ``{id, metrics,
            genotype, parents}`` (optionally with a ``generation`` number).
    """

    def __init__(self, source: Iterable = ()):
        self.nodes: dict[tuple, LineageNode] = {}
        self._parents: dict[tuple, list] = {}
        for generation, member in _records(source):
            self.add(member, generation)

    def add(self, member: Mapping, generation: int | None = None) -> LineageNode:
        """Record one member (a later record of the same member in the same generation replaces it)."""
        if "id" not in member:
            raise ToolkitError("lineage: a member record needs an 'id'")
        node = LineageNode(member["id"], generation, dict(member.get("metrics") or {}),
                           dict(member.get("genotype") or {}))
        self.nodes[node.key] = node
        self._parents[node.key] = list(member.get("parents") or ())
        return node

    def find(self, member_id, generation: int | None = None) -> LineageNode:
        """The member ``member_id`` of ``generation`` (None: its latest generation)."""
        found = [n for n in self.nodes.values() if n.id == member_id
                 and (generation is None or n.generation == generation)]
        if not found:
            where = f" in generation {generation}" if generation is not None else ""
            known = ", ".join(str(i) for i in dict.fromkeys(n.id for n in self.nodes.values()))
            raise ToolkitError(f"lineage: no member '{member_id}'{where}; the members are {known or 'none'}")
        return max(found, key=lambda n: -1 if n.generation is None else n.generation)

    def parents(self, node: LineageNode) -> list[LineageNode]:
        """The recorded parents of ``node``: each id in the latest generation before ``node``'s."""
        out = []
        for pid in self._parents.get(node.key, ()):
            earlier = [n for n in self.nodes.values() if n.id == pid and _before(n.generation, node.generation)]
            out.append(max(earlier, key=lambda n: -1 if n.generation is None else n.generation) if earlier else
                       LineageNode(pid, None if node.generation is None else node.generation - 1, recorded=False))
        return out

    def ancestry(self, member_id, generation: int | None = None) -> LineageTree:
        """The family tree of one member (its latest generation unless ``generation`` is given)."""
        member = self.find(member_id, generation)
        nodes, edges, todo = [member], [], [member]
        seen = {member.key}
        while todo:
            child = todo.pop(0)
            for parent in self.parents(child):
                edges.append((parent, child))
                if parent.key not in seen:
                    seen.add(parent.key)
                    nodes.append(parent)
                    todo.append(parent)
        return LineageTree(member, nodes, edges)


def _before(a: int | None, b: int | None) -> bool:
    if b is None:  # flat records: any other record may be a parent
        return True
    return a is None or a < b


def lineage(source: Iterable, member_id, generation: int | None = None) -> LineageTree:
    """The family tree of ``member_id`` from generation events or member records (see :class:`Lineage`)."""
    return Lineage(source).ancestry(member_id, generation)


def format_metric(name: str, value) -> str:
    """``val_acc 0.912``, ``parameters 1.23M``: a metric as a short label."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return f"{name} {value}"
    if isinstance(value, Integral) or (abs(value) >= 1000 and float(value).is_integer()):
        v = int(value)
        text = f"{v / 1e6:.3g}M" if abs(v) >= 10**6 else f"{v / 1e3:.3g}k" if abs(v) >= 10**4 else str(v)
        return f"{name} {text}"
    return f"{name} {value:.3g}"


def node_label(node: LineageNode, metrics: Iterable[str] | None = None) -> str:
    """Two or more lines: the id and generation, then the chosen metrics (all numeric ones when None)."""
    head = f"{node.id}" + (f" · gen {node.generation}" if node.generation is not None else "")
    if not node.recorded:
        return f"{head}\nnot recorded"
    names = [m for m in metrics if m in node.metrics] if metrics is not None else [
        k for k, v in node.metrics.items() if isinstance(v, Real) and not isinstance(v, bool)]
    return "\n".join([head, *(format_metric(m, node.metrics[m]) for m in names)])


def draw_lineage(tree: LineageTree, *, metrics: Iterable[str] | None = None, title: str | None = None,
                 rankdir: str = "LR"):
    """Draw a family tree: the oldest ancestors on the left, ``tree.member`` on the right (highlighted).

    Args:
        tree: from :meth:`Lineage.ancestry` or :func:`lineage`.
        metrics: the metrics printed in each node (None: every numeric metric).
        title: a line above the drawing. rankdir: 'LR' (left to right) or 'TB' (top to bottom).
    """
    from .draw import INPUT_STYLE, NODE_STYLE, OUTPUT_STYLE, PRUNED_COLOR, new_graph

    metrics = None if metrics is None else tuple(metrics)
    g = new_graph(title, rankdir)
    g.attr(ranksep="0.35", nodesep="0.2")
    names = {node.key: f"m{i}" for i, node in enumerate(tree.nodes)}
    box = {"shape": "box", "style": "rounded,filled"}
    for node in tree.nodes:
        if node is tree.member:
            style = OUTPUT_STYLE | box
        elif not node.recorded:
            style = box | {"fillcolor": "white", "color": PRUNED_COLOR, "style": "rounded,dashed",
                           "fontcolor": "#737373"}
        elif not tree.parents_of(node):  # a first-generation ancestor
            style = INPUT_STYLE | box
        else:
            style = {k: v for k, v in NODE_STYLE.items() if k in ("fillcolor", "color")} | box
        g.node(names[node.key], node_label(node, metrics), **style)
    for parent, child in tree.edges:
        g.edge(names[parent.key], names[child.key], color="#737373")
    return g
