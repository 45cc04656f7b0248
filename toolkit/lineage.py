"""Lineage of a population: which member came from which, read from ``generation`` events or run records.

An evolutionary method (ME-DARTS, TS-ENAS) emits one ``generation`` event per generation or stage;
each member names in ``parents`` the ids of the members it came from (the individual it inherited
from, the two parents of a crossover, the individual a mutation changed). :class:`Lineage`
collects these records and :meth:`Lineage.ancestry` gives the family tree of one member: the
member, its parents, their parents, ... back to the first generation. With crossover a tree can
meet itself (two parents with a common ancestor), so it is a directed acyclic graph in which each
ancestor appears once.

A member id names one individual: a member that survives into later generations under the same
id (TS-ENAS' environmental selection keeps parents) is one node, born in the generation where it
first appears, with its latest metrics; its parents are those of its first record. A parent that
was never recorded (e.g. a run resumed after the first generation) stays in the tree as a node
without metrics, marked "not recorded".

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
    """One member: its id, the generations it was seen in (``generation`` the first, None for
    records without one), its latest metrics and genotype."""

    id: str | int
    generation: int | None = field(default=None, compare=False)
    last_generation: int | None = field(default=None, compare=False)
    metrics: Mapping = field(default_factory=dict, compare=False, hash=False)
    genotype: Mapping = field(default_factory=dict, compare=False, hash=False)
    recorded: bool = field(default=True, compare=False)


@dataclass
class LineageTree:
    """The ancestry of :attr:`member`: its ancestors (``nodes``, the member first) and the
    ``edges`` (parent, child) between them."""

    member: LineageNode
    nodes: list[LineageNode]
    edges: list[tuple[LineageNode, LineageNode]]
    cut: list[LineageNode] = field(default_factory=list)  # nodes whose parents were left out (``depth``)

    @property
    def depth(self) -> int:
        """Generations of ancestors shown: the longest path from the oldest ancestor to the member."""
        levels = {self.member.id: 0}
        for parent, child in self.edges:  # edges are listed breadth first, children before their parents
            levels[parent.id] = max(levels.get(parent.id, 0), levels[child.id] + 1)
        return max(levels.values())

    def parents_of(self, node: LineageNode) -> list[LineageNode]:
        return [p for p, c in self.edges if c == node]


_NOT_METRICS = ("id", "generation", "parents", "genotype", "metrics")


def _records(source) -> list[tuple[int | None, Mapping]]:
    """(generation index, member record) of every member in ``source``."""
    if isinstance(source, Mapping):  # {id: [parent ids]} or {id: {parents, generation, metric: value, ...}}
        out = []
        for mid, value in source.items():
            if isinstance(value, Mapping):
                metrics = {k: v for k, v in value.items() if k not in _NOT_METRICS and _is_number(v)}
                out.append((value.get("generation"), {"id": mid, "parents": value.get("parents"),
                                                      "metrics": value.get("metrics") or metrics}))
            else:
                out.append((None, {"id": mid, "parents": list(value or ())}))
        return out
    out = []
    for i, item in enumerate(source):
        data = getattr(item, "data", item)  # an Event, or its data
        if getattr(item, "kind", "generation") != "generation":
            continue
        if not isinstance(data, Mapping):
            raise ToolkitError(f"lineage: item {i} is a {type(data).__name__}; give generation events, generation "
                               "records ({index, population}) or member records ({id, metrics, genotype, parents})")
        members = data.get("population", data.get("members"))
        if members is not None:
            out += [(data.get("index", i), m) for m in members]
        elif "id" in data:
            out.append((data.get("generation"), data))
        else:
            raise ToolkitError(f"lineage: item {i} has neither 'population' (a generation) nor 'id' (a member)")
    return out


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


class Lineage:
    """Every member of a run and its parent links.

    Args:
        source: ``generation`` events (as a listener collects them), their data
            (``{index, population, pareto_front}``; a stage record's ``members`` is read as well),
            flat member records ``{id, metrics, genotype, parents}`` (optionally with a
            ``generation``), or a mapping ``{id: [parent ids]}`` or ``{id: {parents, generation,
            metric: value, ...}}`` as run folders store it.
    """

    def __init__(self, source: Iterable | Mapping = ()):
        self.nodes: dict[str | int, LineageNode] = {}
        self._parents: dict[str | int, list] = {}
        for generation, member in _records(source):
            self.add(member, generation)

    def add(self, member: Mapping, generation: int | None = None) -> LineageNode:
        """Record one member; a member seen before keeps its first generation and parents and takes
        the new metrics and genotype."""
        if "id" not in member:
            raise ToolkitError("lineage: a member record needs an 'id'")
        mid = member["id"]
        old = self.nodes.get(mid)
        first = old.generation if old is not None and old.generation is not None else generation
        node = LineageNode(mid, first, generation if generation is not None else first,
                           dict(member.get("metrics") or {}), dict(member.get("genotype") or {}))
        self.nodes[mid] = node
        if old is None:
            self._parents[mid] = [p for p in member.get("parents") or () if p != mid]
        return node

    def find(self, member_id) -> LineageNode:
        """The member ``member_id`` (ToolkitError naming the known ids when there is none)."""
        if member_id not in self.nodes:
            known = ", ".join(str(i) for i in self.nodes)
            raise ToolkitError(f"lineage: no member '{member_id}'; the members are {known or 'none'}")
        return self.nodes[member_id]

    def parents(self, node: LineageNode) -> list[LineageNode]:
        """The parents of ``node`` (a parent without a record is a node marked ``recorded=False``)."""
        gen = None if node.generation is None else node.generation - 1
        return [self.nodes.get(pid) or LineageNode(pid, gen, gen, recorded=False)
                for pid in self._parents.get(node.id, ())]

    def ancestry(self, member_id, depth: int | None = None) -> LineageTree:
        """The family tree of one member, ``depth`` generations of ancestors back (None: all)."""
        member = self.find(member_id)
        nodes, edges, cut, todo, seen = [member], [], [], [(member, 0)], {member.id}
        while todo:
            child, level = todo.pop(0)
            parents = self.parents(child)
            if depth is not None and level >= depth:
                cut += [child] if parents else []
                continue
            for parent in parents:
                edges.append((parent, child))
                if parent.id not in seen:
                    seen.add(parent.id)
                    nodes.append(parent)
                    todo.append((parent, level + 1))
        return LineageTree(member, nodes, edges, cut)


def lineage(source: Iterable | Mapping, member_id, depth: int | None = None) -> LineageTree:
    """The family tree of ``member_id`` from generation events or records (see :class:`Lineage`)."""
    return Lineage(source).ancestry(member_id, depth)


def format_metric(name: str, value) -> str:
    """``val_acc 0.912``, ``parameters 1.23M``: a metric as a short label."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return f"{name} {value}"
    if isinstance(value, Integral) or (abs(value) >= 1000 and float(value).is_integer()):
        v = int(value)
        text = f"{v / 1e6:.3g}M" if abs(v) >= 10**6 else f"{v / 1e3:.3g}k" if abs(v) >= 10**4 else str(v)
        return f"{name} {text}"
    return f"{name} {value:.3g}"


def node_label(node: LineageNode, metrics: Iterable[str] | None = None, label: str = "gen") -> str:
    """Two or more lines: the id and generation(s) (``label`` names a generation: 'gen', 'stage'),
    then the chosen metrics (all numeric ones when None)."""
    gens = (f" · {label} {node.generation}" + (f"–{node.last_generation}" if node.last_generation != node.generation
                                             and node.last_generation is not None else "")
            if node.generation is not None else "")
    head = f"{node.id}{gens}"
    if not node.recorded:
        return f"{head}\nnot recorded"
    names = [m for m in metrics if m in node.metrics] if metrics is not None else [
        k for k, v in node.metrics.items() if isinstance(v, Real) and not isinstance(v, bool)]
    return "\n".join([head, *(format_metric(m, node.metrics[m]) for m in names)])


def draw_lineage(tree: LineageTree, *, metrics: Iterable[str] | None = None, title: str | None = None,
                 rankdir: str = "LR", label: str = "gen"):
    """Draw a family tree: the oldest ancestors on the left, ``tree.member`` on the right (highlighted).

    Args:
        tree: from :meth:`Lineage.ancestry` or :func:`lineage`.
        metrics: the metrics printed in each node (None: every numeric metric).
        title: a line above the drawing. rankdir: 'LR' (left to right) or 'TB' (top to bottom).
        label: what a generation is called in the nodes ('gen', 'stage').
    """
    from .draw import INPUT_STYLE, NODE_STYLE, OUTPUT_STYLE, PRUNED_COLOR, new_graph

    metrics = None if metrics is None else tuple(metrics)
    g = new_graph(title, rankdir)
    g.attr(ranksep="0.35", nodesep="0.2")
    names = {node.id: f"m{i}" for i, node in enumerate(tree.nodes)}
    box = {"shape": "box", "style": "rounded,filled"}
    for node in tree.nodes:
        if node is tree.member:
            style = OUTPUT_STYLE | box
        elif not node.recorded:
            style = box | {"fillcolor": "white", "color": PRUNED_COLOR, "style": "rounded,dashed",
                           "fontcolor": "#737373"}
        elif not tree.parents_of(node) and node not in tree.cut:  # a first-generation ancestor
            style = INPUT_STYLE | box
        else:
            style = {k: v for k, v in NODE_STYLE.items() if k in ("fillcolor", "color")} | box
        g.node(names[node.id], node_label(node, metrics, label), **style)
    for parent, child in tree.edges:
        g.edge(names[parent.id], names[child.id], color="#737373")
    for node in tree.cut:  # earlier generations left out
        g.node(f"{names[node.id]}_earlier", "earlier…", shape="plaintext", fontcolor="#737373")
        g.edge(f"{names[node.id]}_earlier", names[node.id], color=PRUNED_COLOR, style="dashed")
    return g
