"""tensorkit.autograd.graph: trace_graph finds what autograd recorded; draw_graph draws it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from tensorkit.autograd import ComputationGraph, GraphNode, draw_graph, trace_graph  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def shared_leaf() -> dict[str, torch.Tensor]:
    """The day-2 notes' graph: y = (w + x)(w + 1)."""
    w = torch.tensor([1.0], requires_grad=True)
    x = torch.tensor([2.0], requires_grad=True)
    a = w + x
    b = w + 1
    y = a * b
    return {"w": w, "x": x, "a": a, "b": b, "y": y}


def test_shared_leaf_graph_structure() -> None:
    graph = trace_graph(**shared_leaf())
    assert graph.nodes == (
        GraphNode("leaf", "w"),
        GraphNode("leaf", "x"),
        GraphNode("operation", "AddBackward0", (0, 1)),
        GraphNode("tensor", "a", (2,)),
        GraphNode("operation", "AddBackward0", (0,)),
        GraphNode("tensor", "b", (4,)),
        GraphNode("operation", "MulBackward0", (3, 5)),
        GraphNode("tensor", "y", (6,)),
    )
    assert graph.edges == ((0, 2), (1, 2), (2, 3), (0, 4), (4, 5), (3, 6), (5, 6), (6, 7))


def test_printed_form_names_every_operation() -> None:
    tensors = shared_leaf()
    assert str(trace_graph(**tensors)) == (
        "w = leaf\nx = leaf\na = AddBackward0(w, x)\nb = AddBackward0(w)\ny = MulBackward0(a, b)"
    )
    # Without names for a and b, their operations are numbered; x by its shape.
    printed = trace_graph(w=tensors["w"], y=tensors["y"])
    assert str(printed) == (
        "w = leaf\n(1,) = leaf\n#1 = AddBackward0(w, (1,))\n#2 = AddBackward0(w)\n"
        "y = MulBackward0(#1, #2)"
    )
    assert repr(printed) == str(printed)


def test_nodes_come_after_their_inputs() -> None:
    x = torch.tensor([0.5, 1.5], requires_grad=True)
    h = x
    for _ in range(5):
        h = torch.tanh(h) * x + h
    graph = trace_graph(x=x, out=h.sum())
    for index, node in enumerate(graph.nodes):
        assert all(source < index for source in node.inputs)
    # The leaf appears once, however many operations use it.
    assert [node.kind for node in graph.nodes].count("leaf") == 1


def test_a_tensor_without_grad_is_not_recorded() -> None:
    data = torch.tensor([2.0])
    weight = torch.tensor([3.0], requires_grad=True)
    out = weight * data
    graph = trace_graph(data=data, weight=weight, out=out)
    assert graph.nodes[0] == GraphNode("not recorded", "data")
    assert all(0 not in node.inputs for node in graph.nodes)
    assert str(graph).splitlines()[0] == "data = not recorded (requires_grad=False)"


def test_detached_tensor_is_not_recorded() -> None:
    x = torch.ones(2, requires_grad=True)
    y = x**2 + 3
    c = y.detach()
    z = c * x
    graph = trace_graph(x=x, c=c, z=z)
    assert [node.kind for node in graph.nodes] == ["leaf", "not recorded", "operation", "tensor"]
    assert str(graph).splitlines()[-1] == "z = MulBackward0(x)"


def test_two_names_for_one_tensor_share_a_node() -> None:
    w = torch.ones(1, requires_grad=True)
    y = w * 2
    graph = trace_graph(w=w, y=y, same=y)
    assert [node.label for node in graph.nodes] == ["w", "MulBackward0", "y, same"]


def test_unnamed_leaves_are_labelled_by_shape() -> None:
    weight = torch.ones(3, 2, requires_grad=True)
    out = (weight * 2).sum()
    assert trace_graph(out=out).nodes[0] == GraphNode("leaf", "(3, 2)")


def test_a_named_leaf_that_nothing_uses_is_shown_alone() -> None:
    w = torch.ones(1, requires_grad=True)
    graph = trace_graph(w=w)
    assert graph.nodes == (GraphNode("leaf", "w"),) and graph.edges == ()


def test_internal_node_names_lose_their_namespace() -> None:
    x = torch.tensor([[2.0, 3.0]], requires_grad=True)
    y = torch.zeros(1, 2)
    y[0, 0] = x[0, 0] ** 2
    labels = [node.label for node in trace_graph(x=x, y=y).nodes]
    assert "CopySlices" in labels
    assert not any("::" in label for label in labels)


def test_a_deep_graph_does_not_hit_the_recursion_limit() -> None:
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    graph = trace_graph(x=x, y=y)
    assert len(graph.nodes) == 3002


def test_tracing_changes_nothing_and_works_after_backward() -> None:
    tensors = shared_leaf()
    before = str(trace_graph(**tensors))
    tensors["y"].backward()  # type: ignore[no-untyped-call]
    grads = (tensors["w"].grad, tensors["x"].grad)
    assert str(trace_graph(**tensors)) == before
    assert (tensors["w"].grad, tensors["x"].grad) == grads
    assert torch.equal(tensors["w"].grad, torch.tensor([5.0]))  # type: ignore[arg-type]


def drawn_labels(figure: matplotlib.figure.Figure) -> list[str]:
    return sorted(text.get_text() for text in figure.axes[0].texts if text.get_text())


def segments(figure: matplotlib.figure.Figure) -> list[Annotation]:
    return [text for text in figure.axes[0].texts if isinstance(text, Annotation)]


def heads(figure: matplotlib.figure.Figure) -> list[Annotation]:
    return [
        segment
        for segment in segments(figure)
        if segment.arrowprops is not None and segment.arrowprops["arrowstyle"] == "-|>"
    ]


def copy_slices() -> dict[str, torch.Tensor]:
    """The row-by-row Jacobian example: arrows that span several columns."""
    x = torch.tensor([[2.0, 3.0]], requires_grad=True)
    y = torch.zeros(1, 2)
    y[0, 0] = x[0, 0] ** 2 + 3 * x[0, 1]
    y[0, 1] = x[0, 1] ** 2 + 2 * x[0, 0]
    return {"x": x, "y": y}


@pytest.mark.parametrize("example", [shared_leaf, copy_slices])
def test_drawing_shows_every_node_and_one_arrow_per_edge(example: Any) -> None:
    tensors = example()
    graph = trace_graph(**tensors)
    figure = draw_graph(**tensors)
    assert drawn_labels(figure) == sorted(node.label for node in graph.nodes)
    assert len(heads(figure)) == len(graph.edges)


def test_long_arrows_bend_around_the_boxes() -> None:
    figure = draw_graph(**copy_slices())
    # x feeds operations three columns apart: those arrows run through bends.
    assert len(segments(figure)) > len(heads(figure))


@pytest.mark.parametrize("example", [shared_leaf, copy_slices])
def test_arrows_point_forward_left_to_right(example: Any) -> None:
    for segment in segments(draw_graph(**example())):
        (start_x, _), (end_x, _) = segment.xyann, segment.xy
        assert start_x < end_x


def test_legend_lists_only_the_kinds_drawn() -> None:
    w = torch.ones(1, requires_grad=True)
    figure = draw_graph(w=w, y=w * 2)
    legend = figure.axes[0].get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == [
        "leaf that requires grad",
        "operation (grad_fn)",
        "result of an operation",
    ]
    legend = draw_graph(data=torch.ones(1), w=w, y=w * 2).axes[0].get_legend()
    assert legend is not None
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels[-1] == "not recorded by autograd"


def svg(figure: matplotlib.figure.Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "test", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def test_the_same_graph_draws_the_same_picture() -> None:
    first = svg(draw_graph(**shared_leaf()))
    second = svg(draw_graph(**shared_leaf()))
    assert first == second


def test_each_call_draws_a_new_figure() -> None:
    tensors = shared_leaf()
    assert draw_graph(**tensors) is not draw_graph(**tensors)
    assert len(plt.get_fignums()) == 2


@pytest.mark.parametrize("function", [trace_graph, draw_graph])
def test_no_tensor_is_a_value_error(function: object) -> None:
    name = function.__name__  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=rf"{name}\(\) needs at least one tensor"):
        function()  # type: ignore[operator]


@pytest.mark.parametrize("function", [trace_graph, draw_graph])
@pytest.mark.parametrize("value", [3, [1.0], None, "y"])
def test_non_tensor_is_a_type_error_naming_the_argument(function: object, value: object) -> None:
    with pytest.raises(TypeError) as caught:
        function(w=torch.ones(1), y=value)  # type: ignore[operator]
    message = str(caught.value)
    assert "argument 'y' must be a torch.Tensor" in message
    assert f"got {type(value).__name__} ({value!r})" in message


def test_graph_is_a_plain_value() -> None:
    graph = trace_graph(**shared_leaf())
    assert isinstance(graph, ComputationGraph)
    assert graph == trace_graph(**shared_leaf())
    with pytest.raises(AttributeError):
        graph.nodes = ()  # type: ignore[misc]


def test_a_graph_too_large_to_draw_is_a_value_error() -> None:
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(300):
        y = y * 1.0001
    expected = r"at most 200 nodes legibly, and the graph of x, y has 302"
    with pytest.raises(ValueError, match=expected):
        draw_graph(x=x, y=y)
    assert not plt.get_fignums()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: ComputationGraph(None),
            TypeError,
            r"'nodes' must be a tuple of GraphNode, got NoneType",
        ),
        (
            lambda: ComputationGraph([GraphNode("leaf", "w")]),
            TypeError,
            r"must be a tuple of GraphNode, got list",
        ),
        (
            lambda: ComputationGraph((GraphNode("leaf", "w"), "y")),
            TypeError,
            r"must hold GraphNode, got str \('y'\) at position 1",
        ),
        (
            lambda: ComputationGraph(
                (GraphNode("operation", "MulBackward0", (1,)), GraphNode("leaf", "w"))
            ),
            ValueError,
            r"node 0 \('MulBackward0'\) takes input 1, which is not an earlier node",
        ),
        (
            lambda: GraphNode(kind="bogus", label="w"),
            ValueError,
            r"'kind' must be one of 'leaf', 'operation', 'tensor', 'not recorded', "
            r"got str \('bogus'\)",
        ),
        (lambda: GraphNode("leaf", 3), TypeError, r"'label' must be a str, got int"),
        (
            lambda: GraphNode("operation", "AddBackward0", [0]),
            TypeError,
            r"'inputs' must be a tuple of node positions",
        ),
        (
            lambda: GraphNode("operation", "AddBackward0", (-1,)),
            ValueError,
            r"positions >= 0, got \(-1,\)",
        ),
        (
            lambda: GraphNode("tensor", "y"),
            ValueError,
            r"must hold one position, the operation that made it, for kind 'tensor', got \(\)",
        ),
        (
            lambda: GraphNode("leaf", "w", (0,)),
            ValueError,
            r"must hold no positions, for kind 'leaf'",
        ),
    ],
)
def test_the_public_classes_check_what_they_are_given(
    call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_a_graph_built_by_hand_prints_like_a_traced_one() -> None:
    nodes = (
        GraphNode("leaf", "w"),
        GraphNode("operation", "MulBackward0", (0,)),
        GraphNode("tensor", "y", (1,)),
    )
    w = torch.tensor(1.0, requires_grad=True)
    assert ComputationGraph(nodes) == trace_graph(w=w, y=w * 2)
