"""The few directed-graph algorithms the solver and the evaluator run on every call.

networkx costs about 0.1 s to import, more than a whole ``placer place`` should take, for
graphs of a dozen nodes. These are the textbook algorithms, with networkx's choices where
a result is visible to a user: `find_cycle` returns the cycle networkx's ``find_cycle``
finds first (depth-first from the nodes in insertion order, successors in insertion
order), and `topological_order` is ``lexicographical_topological_sort`` (ties broken by
insertion order). networkx stays where a graph is the job: INCLUDE chains and extension
dependencies.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

Node = TypeVar("Node", bound=Hashable)


class DiGraph(Generic[Node]):
    """Nodes and edges in insertion order; the attributes the callers need, no more."""

    __slots__ = ("successors",)

    def __init__(self) -> None:
        #: node -> its successors (a dict used as an ordered set).
        self.successors: dict[Node, dict[Node, None]] = {}

    def add_node(self, node: Node) -> None:
        """Add `node` if it is not in the graph yet."""
        self.successors.setdefault(node, {})

    def add_edge(self, tail: Node, head: Node) -> None:
        """Add the edge ``tail -> head`` (and its nodes)."""
        self.successors.setdefault(tail, {})[head] = None
        self.successors.setdefault(head, {})

    def __contains__(self, node: object) -> bool:
        return node in self.successors

    def __iter__(self) -> Any:
        return iter(self.successors)

    def has_edge(self, tail: Node, head: Node) -> bool:
        """Whether the edge ``tail -> head`` exists."""
        return head in self.successors.get(tail, {})

    def subgraph(self, nodes: Iterable[Node]) -> DiGraph[Node]:
        """The graph induced by `nodes`, in this graph's insertion order."""
        keep = set(nodes)
        sub: DiGraph[Node] = DiGraph()
        for node, heads in self.successors.items():
            if node in keep:
                sub.successors[node] = {h: None for h in heads if h in keep}
        return sub


_DONE = object()


def find_cycle(graph: DiGraph[Node]) -> list[tuple[Node, Node]] | None:
    """The edges of the first cycle a depth-first search meets, from the node where it
    closes; None when the graph is acyclic."""
    finished: set[Node] = set()
    for start in graph.successors:
        if start in finished:
            continue
        path: list[Node] = [start]
        on_path = {start}
        stack = [iter(graph.successors[start])]
        while stack:
            head = next(stack[-1], _DONE)
            if head is _DONE:
                done = path.pop()
                on_path.discard(done)
                finished.add(done)
                stack.pop()
                continue
            node: Node = head  # type: ignore[assignment]
            if node in on_path:
                cycle = path[path.index(node):]
                return list(zip(cycle, [*cycle[1:], node], strict=True))
            if node in finished:
                continue
            path.append(node)
            on_path.add(node)
            stack.append(iter(graph.successors[node]))
    return None


def topological_order(graph: DiGraph[Node], key: Callable[[Node], Any]) -> list[Node]:
    """The nodes of an acyclic `graph`, each after its predecessors, the smallest `key`
    first among those ready (then insertion order)."""
    position = {node: index for index, node in enumerate(graph.successors)}
    waiting = dict.fromkeys(graph.successors, 0)
    for heads in graph.successors.values():
        for head in heads:
            waiting[head] += 1
    ready = [(key(n), position[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        _, _, node = heapq.heappop(ready)
        order.append(node)
        for head in graph.successors[node]:
            waiting[head] -= 1
            if waiting[head] == 0:
                heapq.heappush(ready, (key(head), position[head], head))
    return order


def strongly_connected(graph: DiGraph[Node]) -> list[set[Node]]:
    """The strongly connected components (Tarjan's algorithm, without recursion)."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    stack: list[Node] = []
    on_stack: set[Node] = set()
    components: list[set[Node]] = []
    for root in graph.successors:
        if root in index:
            continue
        work = [(root, iter(graph.successors[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, heads = work[-1]
            head = next(heads, _DONE)
            if head is not _DONE:
                child: Node = head  # type: ignore[assignment]
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.successors[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[Node] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def reaching(graph: DiGraph[Node], targets: Iterable[Node]) -> set[Node]:
    """`targets` and every node with a path to one of them."""
    predecessors: dict[Node, list[Node]] = {}
    for tail, heads in graph.successors.items():
        for head in heads:
            predecessors.setdefault(head, []).append(tail)
    found = set(targets)
    todo = list(found)
    while todo:
        for tail in predecessors.get(todo.pop(), ()):
            if tail not in found:
                found.add(tail)
                todo.append(tail)
    return found
