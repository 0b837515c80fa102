"""Exact placement search: heaps into free gaps, least cost first, proven optimal.

The problem: items (heaps) with a size and an alignment (optionally a congruence
``address % align == residue``), free gaps (slots) in address order, each item allowed in
some slots. Find non-overlapping addresses inside allowed slots minimising, in this order,
total padding, total preference rank, and the sum of addresses. With many items and
alignment this is bin packing (NP-hard), so the search is a depth-first branch and bound:

* **Compaction.** Any feasible placement can slide each heap down until it touches the
  previous heap, the start of its gap or its floor; that never increases padding, rank or
  address. So the search builds placements in address order: each step puts one item at
  the first admissible address after the previous item (same slot) or in a later slot.
  Every compacted placement is reachable exactly once; the search is complete.
* **Bound.** A node's bound is its cost plus, for every unplaced item, the cheapest slot
  it could still take alone. Sums of lexicographic minima bound the lexicographic sum, and
  taking a slot only raises the others' minima, so a child is skipped as soon as
  ``cost + bound - own minimum + own cost`` reaches the incumbent; children come from a
  heap ordered by exactly that increase, so the first dive is the greedy placement and the
  search stops at once when it meets the root bound.
* **Symmetry.** Interchangeable items (same size, alignment, slots, floors, no ordering
  pairs) are placed in index order. Two items back to back in a slot, both without
  padding, appear smaller-first when swapping them is also admissible (same end, same
  padding, lower address sum), so permutations of a packed run are explored once.

Worst case stays exponential (it must, unless P = NP); realistic boards (a few heaps) solve
in one dive. ``bench/solve.py`` measures the growth.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence

import attrs

Cost = tuple[int, int, int]  # (padding, preference rank, address)

_ZERO: Cost = (0, 0, 0)


@attrs.frozen(slots=True)
class Slot:
    """A free interval ``[start, end)`` of a region; `rank` 0 is the most preferred."""

    region: str
    start: int
    end: int
    rank: int


@attrs.frozen(slots=True)
class Item:
    """Something to place: `slots` are the indices of the slots it may use (ascending).

    `floors` gives, per region name, the lowest address it may take there (ordering
    constraints against what is already in the region). The address must satisfy
    ``address % align == residue``.
    """

    name: str
    size: int
    align: int
    slots: tuple[int, ...]
    residue: int = 0
    floors: tuple[tuple[str, int], ...] = ()

    def floor(self, region: str) -> int:
        for name, value in self.floors:
            if name == region:
                return value
        return 0


@attrs.frozen(slots=True)
class Assignment:
    """Where the search put one item."""

    item: int
    slot: int
    address: int
    padding: int


@attrs.frozen(slots=True)
class Solution:
    cost: Cost
    assignments: tuple[Assignment, ...]  # in item order
    nodes: int


def first_address(base: int, align: int, residue: int) -> int:
    """The lowest ``address >= base`` with ``address % align == residue``."""
    return base + (residue - base) % align


def _add(a: Cost, b: Cost) -> Cost:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _sub(a: Cost, b: Cost) -> Cost:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


class _Search:
    def __init__(self, items: Sequence[Item], slots: Sequence[Slot],
                 after: Sequence[tuple[int, int]]) -> None:
        self.items = items
        self.slots = slots
        # after pairs (i, j): when both sit in one region, j lies above i.
        self.must_follow: dict[int, set[int]] = {}
        self.must_precede: dict[int, set[int]] = {}
        ordered: set[int] = set()
        for i, j in after:
            self.must_follow.setdefault(i, set()).add(j)
            self.must_precede.setdefault(j, set()).add(i)
            ordered.update((i, j))
        self.ordered = ordered
        self.klass = self._classes()
        self.allowed = [frozenset(item.slots) for item in items]
        # Fresh cost of each item in each allowed slot where it fits alone.
        self.fresh_idx: list[list[int]] = []
        self.fresh_cost: list[list[Cost]] = []
        self.fresh_addr: list[list[int]] = []
        self.suffix_best: list[list[Cost | None]] = []
        self.by_cost: list[list[tuple[Cost, int, int]]] = []
        for item in items:
            idx: list[int] = []
            costs: list[Cost] = []
            addrs: list[int] = []
            for s in item.slots:
                slot = slots[s]
                base = max(slot.start, item.floor(slot.region))
                address = first_address(base, item.align, item.residue)
                if address + item.size <= slot.end:
                    idx.append(s)
                    costs.append((0, slot.rank, address))
                    addrs.append(address)
            best: list[Cost | None] = [None] * (len(idx) + 1)
            for k in range(len(idx) - 1, -1, -1):
                nxt = best[k + 1]
                best[k] = costs[k] if nxt is None or costs[k] < nxt else nxt
            self.fresh_idx.append(idx)
            self.fresh_cost.append(costs)
            self.fresh_addr.append(addrs)
            self.suffix_best.append(best)
            self.by_cost.append(sorted((costs[k], idx[k], addrs[k]) for k in range(len(idx))))
        self.best: Solution | None = None
        self.nodes = 0
        self.root_bound: Cost | None = None
        self.proven = False

    def _classes(self) -> list[int]:
        keys: dict[tuple[object, ...], int] = {}
        out: list[int] = []
        for n, item in enumerate(self.items):
            key: tuple[object, ...]
            if n in self.ordered:
                key = ("ordered", n)
            else:
                key = (item.size, item.align, item.residue, item.slots, item.floors)
            out.append(keys.setdefault(key, len(keys)))
        return out

    def current(self, i: int, g: int, cursor: int) -> tuple[Cost, int] | None:
        """Cost and address of item `i` placed at `cursor` in slot `g`, if admissible."""
        if g < 0 or g not in self.allowed[i]:
            return None
        item = self.items[i]
        slot = self.slots[g]
        base = max(cursor, item.floor(slot.region))
        address = first_address(base, item.align, item.residue)
        if address + item.size > slot.end:
            return None
        return (address - base, slot.rank, address), address

    def fresh_best(self, i: int, g: int) -> Cost | None:
        """The cheapest fresh slot after slot `g` for item `i`."""
        k = bisect.bisect_right(self.fresh_idx[i], g)
        return self.suffix_best[i][k]

    def item_bound(self, i: int, g: int, cursor: int) -> Cost | None:
        here = self.current(i, g, cursor)
        later = self.fresh_best(i, g)
        if here is None:
            return later
        # Padding bounds at zero: an item placed in front may absorb the alignment.
        near: Cost = (0, here[0][1], here[0][2])
        if later is None or near < later:
            return near
        return later

    def run(self) -> Solution | None:
        remaining = tuple(range(len(self.items)))
        self._dfs(-1, 0, remaining, _ZERO, [], None)
        return self.best

    def _dfs(self, g: int, cursor: int, remaining: tuple[int, ...], cost: Cost,
             placed: list[Assignment], last: Assignment | None) -> None:
        self.nodes += 1
        if not remaining:
            if self.best is None or cost < self.best.cost:
                ordered = tuple(sorted(placed, key=lambda a: a.item))
                self.best = Solution(cost, ordered, self.nodes)
                if self.root_bound is not None and cost <= self.root_bound:
                    self.proven = True  # met the root bound: optimal
            return
        bounds: dict[int, Cost] = {}
        total = cost
        for i in remaining:
            b = self.item_bound(i, g, cursor)
            if b is None:
                return
            bounds[i] = b
            total = _add(total, b)
        if self.root_bound is None:
            self.root_bound = total
        if self.best is not None and total >= self.best.cost:
            return
        # Children ordered by how much they raise the bound.
        frontier: list[tuple[Cost, int, int, int, int]] = []
        streams: dict[int, int] = {}
        seen: set[int] = set()
        for i in remaining:
            if self.klass[i] in seen:
                continue
            seen.add(self.klass[i])
            here = self.current(i, g, cursor)
            if here is not None:
                heapq.heappush(frontier, (_sub(here[0], bounds[i]), i, g, here[1], -1))
            streams[i] = 0
            self._push_fresh(frontier, streams, i, g, bounds[i])
        while frontier:
            delta, i, s, address, _ = heapq.heappop(frontier)
            if s != g:
                self._push_fresh(frontier, streams, i, g, bounds[i])
            if self.best is not None and _add(total, delta) >= self.best.cost:
                break  # every later child raises the bound at least as much
            if not self._admissible(i, s, address, placed, last, cursor if s == g else None):
                continue
            item = self.items[i]
            slot = self.slots[s]
            base = max(cursor if s == g else slot.start, item.floor(slot.region))
            step = (address - base, slot.rank, address)
            assignment = Assignment(i, s, address, address - base)
            placed.append(assignment)
            rest = tuple(r for r in remaining if r != i)
            self._dfs(s, address + item.size, rest, _add(cost, step), placed, assignment)
            placed.pop()
            if self.proven:
                return

    def _push_fresh(self, frontier: list[tuple[Cost, int, int, int, int]],
                    streams: dict[int, int], i: int, g: int, bound: Cost) -> None:
        options = self.by_cost[i]
        k = streams[i]
        while k < len(options) and options[k][1] <= g:
            k += 1
        if k < len(options):
            c, s, address = options[k]
            heapq.heappush(frontier, (_sub(c, bound), i, s, address, k))
            k += 1
        streams[i] = k

    def _admissible(self, i: int, s: int, address: int, placed: list[Assignment],
                    last: Assignment | None, cursor: int | None) -> bool:
        region = self.slots[s].region
        if i in self.ordered:
            later = self.must_follow.get(i, set())
            for a in placed:
                if a.item in later and self.slots[a.slot].region == region:
                    return False
        # Packed-run symmetry: b right after a with no padding, both swappable.
        if (last is not None and cursor is not None and last.slot == s
                and last.padding == 0 and address == cursor
                and i not in self.ordered and last.item not in self.ordered):
            a_item = self.items[last.item]
            b_item = self.items[i]
            lowest = self.slots[s].start
            if ((b_item.size, self.klass[i]) < (a_item.size, self.klass[last.item])
                    and a_item.floor(region) <= lowest and b_item.floor(region) <= lowest):
                start = last.address
                if (start % b_item.align == b_item.residue % b_item.align
                        and (start + b_item.size) % a_item.align
                        == a_item.residue % a_item.align):
                    return False
        return True


def solve(items: Sequence[Item], slots: Sequence[Slot],
          after: Sequence[tuple[int, int]] = ()) -> Solution | None:
    """The cheapest placement of every item, or None when none exists.

    `slots` must be in address order within each region and must not overlap. `after`
    holds pairs ``(i, j)``: if items i and j share a region, j is placed above i.
    """
    return _Search(items, slots, after).run()
