"""The graph autograd records, as data and as a picture (page: ``docs/autograd/graph.md``).

Every tensor made by an operation on tensors that require grad keeps a ``grad_fn``: the
node that computes its share of the gradient. Each node points to the nodes of its
inputs (``grad_fn.next_functions``), down to the leaves. `trace_graph` walks those links
from the tensors a caller names; `draw_graph` draws the result with matplotlib alone,
left to right in the order the forward pass computed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import torch

from tensorkit._checks import check_named_tensors, describe_value

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ComputationGraph", "GraphNode", "draw_graph", "trace_graph"]

NodeKind = Literal["leaf", "operation", "tensor", "not recorded"]
_LineStyle = Literal["solid", "dashed"]

#: How each kind of node is drawn: box style, face colour, edge colour, line style.
_STYLES: dict[NodeKind, tuple[str, str, str, _LineStyle]] = {
    "leaf": ("circle,pad=0.3", "#c8e6c9", "#2e7d32", "solid"),
    "operation": ("square,pad=0.4", "#ffe0b2", "#e65100", "solid"),
    "tensor": ("circle,pad=0.3", "#bbdefb", "#1565c0", "solid"),
    "not recorded": ("circle,pad=0.3", "#ffffff", "#9e9e9e", "dashed"),
}
_LEGEND: dict[NodeKind, str] = {
    "leaf": "leaf that requires grad",
    "operation": "operation (grad_fn)",
    "tensor": "result of an operation",
    "not recorded": "not recorded by autograd",
}
MAX_DRAWN_NODES = 200
"""`draw_graph` refuses larger graphs: they would not fit on a page legibly."""

#: The shape of a tensor whose name is too long for a circle.
_PILL = "round,pad=0.3,rounding_size=0.55"
#: Internal nodes whose names carry a C++ namespace: show the name only.
_NAMESPACE = "torch::autograd::"
#: How many inputs each kind of node has; an operation has any number.
_INPUT_COUNTS: dict[str, int] = {"leaf": 0, "tensor": 1, "not recorded": 0}


@dataclass(frozen=True)
class GraphNode:
    """One node of a [`ComputationGraph`][tensorkit.autograd.ComputationGraph].

    Attributes:
        kind: ``"leaf"`` (a leaf tensor that requires grad), ``"operation"`` (a
            ``grad_fn`` node), ``"tensor"`` (a named tensor made by an operation), or
            ``"not recorded"`` (a named tensor autograd does not track).
        label: The tensor's name, the leaf's shape if it has no name, or the
            operation's ``grad_fn`` name such as ``"MulBackward0"``.
        inputs: Positions, in the graph's ``nodes``, of the nodes this one is computed
            from, in the order of the operation's arguments. A ``"tensor"`` node has
            exactly one, the operation that made it; leaves and tensors not recorded
            have none.

    Raises:
        TypeError: If ``label`` is not a str or ``inputs`` not a tuple of ints.
        ValueError: If ``kind`` is not one of the four above, an input is negative, or
            the number of inputs does not fit the kind.
    """

    kind: NodeKind
    label: str
    inputs: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        kinds = get_args(NodeKind)
        if not isinstance(self.kind, str) or self.kind not in kinds:
            raise ValueError(
                f"GraphNode() argument 'kind' must be one of {', '.join(map(repr, kinds))}, "
                f"got {describe_value(self.kind)}"
            )
        if not isinstance(self.label, str):
            raise TypeError(
                f"GraphNode() argument 'label' must be a str, got {describe_value(self.label)}"
            )
        if not isinstance(self.inputs, tuple) or not all(
            isinstance(index, int) and not isinstance(index, bool) for index in self.inputs
        ):
            raise TypeError(
                "GraphNode() argument 'inputs' must be a tuple of node positions (ints), "
                f"got {describe_value(self.inputs)}"
            )
        if any(index < 0 for index in self.inputs):
            raise ValueError(
                f"GraphNode() argument 'inputs' must hold positions >= 0, got {self.inputs}"
            )
        expected = _INPUT_COUNTS.get(self.kind)
        if expected is not None and len(self.inputs) != expected:
            what = "one position, the operation that made it" if expected else "no positions"
            raise ValueError(
                f"GraphNode() argument 'inputs' must hold {what}, for kind {self.kind!r}, "
                f"got {self.inputs}"
            )


@dataclass(frozen=True)
class ComputationGraph:
    """What autograd recorded for some tensors: the nodes, inputs before their users.

    Printing it shows one line per tensor and per unnamed operation, in the order the
    forward pass computed them, such as ``y = MulBackward0(a, b)``; unnamed operations
    are numbered ``#1``, ``#2``, ...

    Raises:
        TypeError: If ``nodes`` is not a tuple of
            [`GraphNode`][tensorkit.autograd.GraphNode].
        ValueError: If a node's input is not an earlier node.
    """

    nodes: tuple[GraphNode, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.nodes, tuple):
            raise TypeError(
                "ComputationGraph() argument 'nodes' must be a tuple of GraphNode, got "
                f"{describe_value(self.nodes)}; trace_graph(name=tensor, ...) makes a graph"
            )
        for position, node in enumerate(self.nodes):
            if not isinstance(node, GraphNode):
                raise TypeError(
                    "ComputationGraph() argument 'nodes' must hold GraphNode, got "
                    f"{describe_value(node)} at position {position}"
                )
            later = [index for index in node.inputs if index >= position]
            if later:
                raise ValueError(
                    "ComputationGraph() argument 'nodes' must list every node after its "
                    f"inputs, but node {position} ({node.label!r}) takes input {later[0]}, "
                    "which is not an earlier node"
                )

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Every ``(input, user)`` pair of node positions, in the forward direction."""
        return tuple(
            (source, target) for target, node in enumerate(self.nodes) for source in node.inputs
        )

    def __str__(self) -> str:
        names = self._display_names()
        lines = []
        for index, node in enumerate(self.nodes):
            if node.kind == "leaf":
                lines.append(f"{node.label} = leaf")
            elif node.kind == "not recorded":
                lines.append(f"{node.label} = not recorded (requires_grad=False)")
            elif node.kind == "tensor":
                (operation,) = node.inputs
                lines.append(f"{node.label} = {self._call(operation, names)}")
            elif index in names and names[index].startswith("#"):
                lines.append(f"{names[index]} = {self._call(index, names)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _display_names(self) -> dict[int, str]:
        """What each node is called where another node uses it."""
        names: dict[int, str] = {}
        count = 0
        for index, node in enumerate(self.nodes):
            if node.kind == "tensor":
                names.setdefault(node.inputs[0], node.label)
                names[index] = node.label
            elif node.kind != "operation":
                names[index] = node.label
        for index, node in enumerate(self.nodes):
            if node.kind == "operation" and index not in names:
                count += 1
                names[index] = f"#{count}"
        return names

    def _call(self, operation: int, names: dict[int, str]) -> str:
        node = self.nodes[operation]
        arguments = ", ".join(names[source] for source in node.inputs)
        return f"{node.label}({arguments})"


def trace_graph(**tensors: torch.Tensor) -> ComputationGraph:
    """Walk the graph autograd recorded for the named tensors.

    Every node reachable from the tensors' ``grad_fn`` is included, named tensors
    labelled with their names. A named tensor that does not require grad is in no graph:
    it is listed as ``not recorded``. Nothing is changed, and the graph can be traced
    before or after ``backward()``.

    Args:
        **tensors: The tensors to show, each under its name: leaves, intermediate
            results and outputs alike.

    Returns:
        The nodes, each after the nodes it is computed from.

    Raises:
        ValueError: If no tensor is given.
        TypeError: If a value is not a ``torch.Tensor``.

    Examples:
        >>> import torch
        >>> from tensorkit.autograd import trace_graph
        >>> w = torch.tensor(1.0, requires_grad=True)
        >>> x = torch.tensor(2.0)
        >>> a = w + x
        >>> y = a * (w + 1)
        >>> print(trace_graph(w=w, x=x, a=a, y=y))
        w = leaf
        x = not recorded (requires_grad=False)
        a = AddBackward0(w)
        #1 = AddBackward0(w)
        y = MulBackward0(a, #1)
    """
    check_named_tensors(tensors, "trace_graph")
    return _Tracer(tensors).graph()


def draw_graph(**tensors: torch.Tensor) -> Figure:
    """Draw the graph autograd recorded for the named tensors.

    Leaves are green circles, operations (``grad_fn`` nodes) orange boxes, named results
    blue circles, and tensors autograd does not track dashed circles with no arrows.
    Arrows point the way the forward pass computed; ``backward()`` follows them in
    reverse. The layout depends only on the graph, so the same code draws the same
    picture every time.

    Args:
        **tensors: The tensors to show, each under its name, as for
            [`trace_graph`][tensorkit.autograd.trace_graph].

    Returns:
        A new matplotlib figure holding the picture (``plt.show()`` shows it). Drawing
        needs matplotlib, which tensorkit itself does not install.

    Raises:
        ValueError: If no tensor is given, or the graph has more than
            `MAX_DRAWN_NODES` nodes.
        TypeError: If a value is not a ``torch.Tensor``.

    Examples:
        >>> import torch
        >>> from tensorkit.autograd import draw_graph
        >>> w = torch.tensor(1.0, requires_grad=True)
        >>> y = (w + 2) * (w + 1)
        >>> figure = draw_graph(w=w, y=y)
        >>> sorted(label.get_text() for label in figure.axes[0].texts
        ...        if label.get_text())
        ['AddBackward0', 'AddBackward0', 'MulBackward0', 'w', 'y']
        >>> import matplotlib.pyplot as plt
        >>> plt.close(figure)
    """
    check_named_tensors(tensors, "draw_graph")
    graph = _Tracer(tensors).graph()
    if len(graph.nodes) > MAX_DRAWN_NODES:
        raise ValueError(
            f"draw_graph() draws at most {MAX_DRAWN_NODES} nodes legibly, and the graph of "
            f"{', '.join(tensors)} has {len(graph.nodes)}; print(trace_graph(...)) lists "
            "it as text, or name tensors closer to the leaves"
        )
    return _draw(graph)


class _Tracer:
    """Collects the nodes reachable from named tensors, inputs before their users."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        self.tensors = tensors
        # Names by the object that stands for each tensor in the graph: a leaf by
        # itself, a result by its grad_fn. Several names for one tensor are joined.
        self.leaf_names: dict[int, list[str]] = {}
        self.result_names: dict[Any, list[str]] = {}
        for name, tensor in tensors.items():
            if tensor.grad_fn is not None:
                self.result_names.setdefault(tensor.grad_fn, []).append(name)
            elif tensor.requires_grad:
                self.leaf_names.setdefault(id(tensor), []).append(name)
        self.nodes: list[GraphNode] = []
        # The node that stands for each autograd node once added (a result's tensor
        # node if it is named, else its operation node).
        self.placed: dict[Any, int] = {}
        self.leaves: dict[int, int] = {}
        self.keep: list[Any] = []  # autograd nodes stay alive, so their ids stay unique

    def graph(self) -> ComputationGraph:
        shown: set[int] = set()
        for name, tensor in self.tensors.items():
            if id(tensor) in shown:
                continue
            shown.add(id(tensor))
            if tensor.grad_fn is not None:
                self._place(tensor.grad_fn)
            elif tensor.requires_grad:
                self._leaf(tensor)
            else:
                self.nodes.append(GraphNode("not recorded", name))
        return ComputationGraph(tuple(self.nodes))

    def _leaf(self, tensor: torch.Tensor) -> int:
        key = id(tensor)
        if key not in self.leaves:
            self.keep.append(tensor)
            names = self.leaf_names.get(key)
            label = ", ".join(names) if names else str(tuple(tensor.shape))
            self.nodes.append(GraphNode("leaf", label))
            self.leaves[key] = len(self.nodes) - 1
        return self.leaves[key]

    def _place(self, root: Any) -> int:
        # Iterative depth-first walk: a deep graph (a long loop) must not hit Python's
        # recursion limit. A node is added once all its inputs are.
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            node, inputs_done = stack.pop()
            if node in self.placed:
                continue
            if node.name() == f"{_NAMESPACE}AccumulateGrad":
                self.placed[node] = self._leaf(node.variable)
                self.keep.append(node)
                continue
            parents = [parent for parent, _ in node.next_functions if parent is not None]
            if not inputs_done:
                stack.append((node, True))
                stack.extend(
                    (parent, False) for parent in reversed(parents) if parent not in self.placed
                )
                continue
            self.keep.append(node)
            inputs = tuple(self.placed[parent] for parent in parents)
            label = node.name().removeprefix(_NAMESPACE)
            self.nodes.append(GraphNode("operation", label, inputs))
            self.placed[node] = len(self.nodes) - 1
            names = self.result_names.get(node)
            if names:
                self.nodes.append(GraphNode("tensor", ", ".join(names), (len(self.nodes) - 1,)))
                self.placed[node] = len(self.nodes) - 1
        return self.placed[root]


@dataclass(frozen=True)
class _Layout:
    """Where to draw: columns of node positions, and the path of every arrow.

    Positions from ``len(graph.nodes)`` up are bends: points an arrow that spans several
    columns passes through, one per column it crosses, so that it gets a row of its own
    there and no box sits on it.
    """

    columns: list[list[int]]
    routes: dict[tuple[int, int], list[int]]


def _layout(graph: ComputationGraph) -> _Layout:
    column = [0] * len(graph.nodes)
    for index, node in enumerate(graph.nodes):  # inputs come first, so one pass will do
        if node.inputs:
            column[index] = 1 + max(column[source] for source in node.inputs)
    # Then every node that feeds others moves right, to just left of its first user, so
    # that a bias added late in the computation does not need a long arrow. Users come
    # after their inputs, so walking backwards sees each user's final column first.
    users: dict[int, list[int]] = {}
    for source, target in graph.edges:
        users.setdefault(source, []).append(target)
    for index in reversed(range(len(graph.nodes))):
        if index in users:
            column[index] = min(column[user] for user in users[index]) - 1
    inputs: dict[int, list[int]] = {index: [] for index in range(len(graph.nodes))}
    routes: dict[tuple[int, int], list[int]] = {}
    for source, target in graph.edges:
        route = [source]
        for crossed in range(column[source] + 1, column[target]):
            bend = len(column)
            column.append(crossed)
            inputs[bend] = [route[-1]]
            route.append(bend)
        inputs[target].append(route[-1])
        routes[(source, target)] = [*route, target]
    columns: list[list[int]] = [[] for _ in range(max(column, default=0) + 1)]
    for index, where in enumerate(column):
        columns[where].append(index)
    ordered = _order(columns, inputs)
    # Tensors autograd did not record are connected to nothing: list them last.
    last = {index for index, node in enumerate(graph.nodes) if node.kind == "not recorded"}
    return _Layout([sorted(ids, key=lambda index: index in last) for ids in ordered], routes)


def _order(columns: list[list[int]], inputs: dict[int, list[int]]) -> list[list[int]]:
    """Order each column to keep arrows short and uncrossed: a few barycentre sweeps."""
    users: dict[int, list[int]] = {index: [] for index in inputs}
    for target, sources in inputs.items():
        for source in sources:
            users[source].append(target)
    height: dict[int, float] = {}

    def place(ids: list[int]) -> list[int]:
        for rank, index in enumerate(ids):
            height[index] = rank - (len(ids) - 1) / 2
        return ids

    def sweep(ids: list[int], linked: dict[int, list[int]]) -> list[int]:
        def centre(index: int) -> float:
            others = linked[index]
            if not others:
                return height[index]
            return sum(height[other] for other in others) / len(others)

        # Ties keep the current order, so the result depends on the graph alone.
        return place(sorted(ids, key=lambda index: (centre(index), height[index])))

    columns = [place(list(ids)) for ids in columns]
    for _ in range(4):
        for column in range(1, len(columns)):
            columns[column] = sweep(columns[column], inputs)
        for column in range(len(columns) - 2, -1, -1):
            columns[column] = sweep(columns[column], users)
    return columns


#: Sizes in inches: the axes' data coordinates are inches, so that boxes and gaps keep
#: their size whatever the graph's.
_CHAR_WIDTH = 0.085  # a character of the 10-point label font, on average
_BOX_PADDING = 0.3  # what a box adds to its label's width
_BEND_WIDTH = 0.2  # a column that only arrows pass through
_COLUMN_GAP = 0.45
_ROW_GAP = 0.62
_MARGIN = 0.3
_ARROW_COLOUR = "#424242"


def _draw(graph: ComputationGraph) -> Figure:
    # matplotlib is imported here, not with the module: tensorkit needs it only to draw.
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    layout = _layout(graph)
    real = len(graph.nodes)
    widths = [
        max(
            (
                len(graph.nodes[index].label) * _CHAR_WIDTH + _BOX_PADDING
                for index in ids
                if index < real
            ),
            default=_BEND_WIDTH,
        )
        for ids in layout.columns
    ]
    centres = []
    right = _MARGIN
    for width in widths:
        centres.append(right + width / 2)
        right += width + _COLUMN_GAP
    tallest = max(len(ids) for ids in layout.columns)
    size = (right - _COLUMN_GAP + _MARGIN, tallest * _ROW_GAP + 2 * _MARGIN)
    figure = plt.figure(figsize=size)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_xlim(0, size[0])
    axes.set_ylim(0, size[1])
    axes.axis("off")
    where: dict[int, tuple[float, float]] = {}
    for column, ids in enumerate(layout.columns):
        for rank, index in enumerate(ids):
            height = ((len(ids) - 1) / 2 - rank) * _ROW_GAP
            where[index] = (centres[column], size[1] / 2 + height)
    outputs = set(range(real)) - {source for source, _ in graph.edges}
    boxes = {}
    for index, shown in enumerate(graph.nodes):
        style, face, edge, line = _STYLES[shown.kind]
        if style.startswith("circle") and len(shown.label) > 2:
            style = _PILL  # a circle around a long name would be huge
        recorded = shown.kind != "not recorded"
        boxes[index] = axes.text(
            *where[index],
            shown.label,
            ha="center",
            va="center",
            fontsize=10,
            color="black" if recorded else "#616161",
            fontweight="bold" if index in outputs and recorded else "normal",
            bbox={"boxstyle": style, "facecolor": face, "edgecolor": edge, "linestyle": line},
            zorder=2,
        )
    for (source, target), route in layout.routes.items():
        # Drawn after the boxes (a higher zorder), so that the boxes' outlines are
        # already placed when each arrow is cut to end at them. An arrow through bends
        # is a line to the first bend, straight lines between bends, and the head last.
        for start, end in zip(route, route[1:], strict=False):
            axes.annotate(
                "",
                xy=where[end],
                xytext=where[start],
                zorder=3,
                arrowprops={
                    "arrowstyle": "-|>" if end == target else "-",
                    "color": _ARROW_COLOUR,
                    "shrinkA": 1 if start == source else 0,
                    "shrinkB": 1 if end == target else 0,
                    "patchA": boxes[start].get_bbox_patch() if start == source else None,
                    "patchB": boxes[end].get_bbox_patch() if end == target else None,
                },
            )
    kinds = [kind for kind in _LEGEND if any(node.kind == kind for node in graph.nodes)]
    handles = [
        Patch(
            facecolor=_STYLES[kind][1],
            edgecolor=_STYLES[kind][2],
            linestyle=_STYLES[kind][3],
            label=_LEGEND[kind],
        )
        for kind in kinds
    ]
    axes.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(len(handles), 2),
        frameon=False,
        fontsize=9,
    )
    return figure
