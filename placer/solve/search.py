"""Exact placement search: heaps into free gaps, least cost first, proven optimal.

The problem: items (heaps) with a size and an alignment (optionally a congruence
``address % align == residue``), free gaps (slots), each item allowed in some slots. Find
non-overlapping addresses inside allowed slots minimising, in this order, total padding,
total preference rank and the sum of addresses. Padding is the distance from whatever
precedes a heap in its gap (the gap's start, the heap below, or its floor). With many
items and alignment this is bin packing, NP-hard, so the search is a depth-first branch
and bound:

* **Compaction.** Any feasible placement can slide each heap down until it touches what
  precedes it; that never increases total padding, rank or addresses. So the search builds
  placements slot by slot, each step putting one item at the first admissible address
  after the previous item in the same slot, or at the start of a later slot. Slots are
  visited by (rank, address), so an item's fresh bound only grows along the slot order and
  "the next slot where it fits" is its cheapest remaining fresh slot (an item with a floor
  is bounded by the slot's start, since the floor may lift it past later slots). Every compacted
  placement is reachable; the search is complete.
* **Bound.** A node's bound is its cost plus, per unplaced item, the cheapest slot it could
  still take alone, counting padding as zero (a heap placed in front may absorb it). Sums
  of lexicographic minima bound the lexicographic sum, and a step only raises the others'
  minima, so children come from a priority queue ordered by how much they raise the bound
  and stop at the first that reaches the incumbent. A capacity bound (bytes left in the
  slots still ahead) cuts dead ends. "Next slot where item i fits" is a segment-tree query
  (first slot after g with room >= size), O(log G).
* **Symmetry.** Interchangeable items (same size, alignment, slots, floors, no ordering
  pairs) are placed in index order. Two items back to back in a slot, both without
  padding, appear smaller-first when swapping them is also admissible (same end, same
  padding, lower address sum), so permutations of a packed run are explored once.

Whether a placement exists is always decided exactly (the search never stops before it
has one). Proving the found placement optimal can take exponential time when many heaps
compete for the same gaps; `budget` bounds that proof (nodes times heaps; deterministic),
and the result says whether it was `proven`. ``bench/solve.py`` measures both.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence

from placer import records

Cost = tuple[int, int, int]  # (padding, preference rank, address)

#: Work the optimality proof may take once a placement exists: nodes times heaps (40,000
#: nodes for 3 heaps, 1,200 for 100). Real boards (a handful of heaps, a few gaps) finish
#: their proofs far below it.
DEFAULT_BUDGET = 120_000

_ZERO: Cost = (0, 0, 0)


@records.frozen
class Slot:
    """A free interval ``[start, end)`` of a region; `rank` 0 is the most preferred.

    Slots never overlap.
    """

    region: str
    start: int
    end: int
    rank: int


@records.frozen
class Item:
    """Something to place: `slots` are the indices of the slots it may use.

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
        """The lowest address the item may take in `region` (0 when unconstrained)."""
        for name, value in self.floors:
            if name == region:
                return value
        return 0


@records.frozen
class Assignment:
    """Where the search put one item (`slot` indexes the caller's slot list)."""

    item: int
    slot: int
    address: int
    padding: int


@records.frozen
class Solution:
    """The best placement found; `proven` says the search showed nothing beats it."""

    cost: Cost
    assignments: tuple[Assignment, ...]  # in item order
    nodes: int
    proven: bool = True


def first_address(base: int, align: int, residue: int) -> int:
    """The lowest ``address >= base`` with ``address % align == residue``."""
    return base + (residue - base) % align


def _slot_sets(items: Sequence[Item]) -> list[int]:
    """A small id per distinct `slots` tuple (tuples do not cache their hash, and these
    can hold thousands of slots: each distinct object is hashed once)."""
    by_id: dict[int, int] = {}
    by_value: dict[tuple[int, ...], int] = {}
    out: list[int] = []
    for item in items:
        key = id(item.slots)
        if key not in by_id:
            by_id[key] = by_value.setdefault(item.slots, len(by_value))
        out.append(by_id[key])
    return out


def _add(a: Cost, b: Cost) -> Cost:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _sub(a: Cost, b: Cost) -> Cost:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


class _MaxTree:
    """Maximum segment tree: the first index at or after `lo` whose value is >= `need`."""

    def __init__(self, values: Sequence[int]) -> None:
        size = 1
        while size < max(len(values), 1):
            size *= 2
        self.size = size
        tree = [-1] * (2 * size)
        tree[size:size + len(values)] = values
        for node in range(size - 1, 0, -1):
            tree[node] = max(tree[2 * node], tree[2 * node + 1])
        self.tree = tree

    def first_at_least(self, lo: int, need: int) -> int | None:
        return self._find(1, 0, self.size, lo, need)

    def _find(self, node: int, left: int, right: int, lo: int, need: int) -> int | None:
        if right <= lo or self.tree[node] < need:
            return None
        if right - left == 1:
            return left
        middle = (left + right) // 2
        found = self._find(2 * node, left, middle, lo, need)
        if found is not None:
            return found
        return self._find(2 * node + 1, middle, right, lo, need)


@records.frozen
class _Fresh:
    """An item class's fresh options: per allowed slot (in search order) the first
    admissible address and the room from there to the slot's end."""

    order: list[int]  # search-order slot positions, ascending
    address: list[int]
    padding: list[int]
    room: _MaxTree
    # The address the bound uses: the real one, or the slot's start when a floor could
    # push it past slots that come later in search order (so the bound stays monotone).
    bound_address: list[int]


class _Search:
    def __init__(self, items: Sequence[Item], slots: Sequence[Slot],
                 after: Sequence[tuple[int, int]], budget: int | None) -> None:
        self.items = items
        self.stopped = False
        # Search order: by preference rank, then address (see the module docstring).
        self.perm = sorted(range(len(slots)), key=lambda s: (slots[s].rank, slots[s].start,
                                                             slots[s].region))
        self.slots = [slots[s] for s in self.perm]
        position = {s: p for p, s in enumerate(self.perm)}
        self.capacity_after = [0] * (len(self.slots) + 1)
        for p in range(len(self.slots) - 1, -1, -1):
            self.capacity_after[p] = (self.capacity_after[p + 1] + self.slots[p].end
                                      - self.slots[p].start)
        self.must_follow: dict[int, set[int]] = {}
        self.ordered: set[int] = set()
        for i, j in after:
            self.must_follow.setdefault(i, set()).add(j)
            self.ordered.update((i, j))
        self.sets = _slot_sets(items)
        self.klass = self._classes()
        allowed: dict[int, frozenset[int]] = {}
        for n, item in enumerate(items):
            if self.sets[n] not in allowed:
                allowed[self.sets[n]] = frozenset(position[s] for s in item.slots)
        self.allowed = [allowed[self.sets[n]] for n in range(len(items))]
        cache: dict[tuple[object, ...], _Fresh] = {}
        self.fresh: list[_Fresh] = []
        for n, item in enumerate(items):
            key = (item.align, item.residue, item.floors, self.sets[n])
            if key not in cache:
                cache[key] = self._fresh_options(item, sorted(self.allowed[n]))
            self.fresh.append(cache[key])
        self.memo: list[tuple[int, int | None]] = [(len(self.slots), None)] * len(items)
        self.best: Solution | None = None
        self.nodes = 0
        # A node costs about one bound per heap, so the node limit shrinks as heaps grow.
        self.limit = None if budget is None else budget // max(len(items), 1)
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
                key = (item.size, item.align, item.residue, self.sets[n], item.floors)
            out.append(keys.setdefault(key, len(keys)))
        return out

    def _fresh_options(self, item: Item, order: list[int]) -> _Fresh:
        floors = dict(item.floors)
        align, residue = item.align, item.residue
        slots = self.slots
        addresses = []
        padding = []
        for p in order:
            slot = slots[p]
            base = max(slot.start, floors.get(slot.region, 0))
            pad = (residue - base) % align
            addresses.append(base + pad)
            padding.append(pad)
        rooms = [slots[p].end - a for p, a in zip(order, addresses, strict=True)]
        bound = [slots[p].start for p in order] if floors else addresses
        return _Fresh(order, addresses, padding, _MaxTree(rooms), bound)

    def next_fresh(self, i: int, g: int) -> int | None:
        """Index into item i's fresh options of the first slot after `g` it fits in."""
        asked, found = self.memo[i]
        fresh = self.fresh[i]
        if asked <= g and (found is None or g < fresh.order[found]):
            return found
        start = bisect.bisect_right(fresh.order, g)
        found = fresh.room.first_at_least(start, self.items[i].size)
        if found is not None and found >= len(fresh.order):
            found = None
        self.memo[i] = (g, found)
        return found

    def fresh_cost(self, i: int, k: int) -> Cost:
        fresh = self.fresh[i]
        return (0, self.slots[fresh.order[k]].rank, fresh.bound_address[k])

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

    def item_bound(self, i: int, g: int, cursor: int) -> Cost | None:
        here = self.current(i, g, cursor)
        k = self.next_fresh(i, g)
        later = self.fresh_cost(i, k) if k is not None else None
        if here is None:
            return later
        near: Cost = (0, here[0][1], here[0][2])
        if later is None or near < later:
            return near
        return later

    def run(self) -> Solution | None:
        self._dfs(-1, 0, tuple(range(len(self.items))), _ZERO, [], None)
        if self.best is None:
            return None
        assignments = tuple(records.evolve(a, slot=self.perm[a.slot])
                            for a in self.best.assignments)
        return Solution(self.best.cost, assignments, self.nodes,
                        proven=not self.stopped)

    def _dfs(self, g: int, cursor: int, remaining: tuple[int, ...], cost: Cost,
             placed: list[Assignment], last: Assignment | None) -> None:
        self.nodes += 1
        if self.best is not None and self.limit is not None and self.nodes > self.limit:
            self.stopped = True  # a placement exists; proving it optimal takes too long
            return
        if not remaining:
            if self.best is None or cost < self.best.cost:
                ordered = tuple(sorted(placed, key=lambda a: a.item))
                self.best = Solution(cost, ordered, self.nodes)
                if self.root_bound is not None and cost <= self.root_bound:
                    self.proven = True  # met the root bound: optimal
            return
        bounds: dict[int, Cost] = {}
        total = cost
        need = 0
        for i in remaining:
            b = self.item_bound(i, g, cursor)
            if b is None:
                return
            bounds[i] = b
            total = _add(total, b)
            need += self.items[i].size
        if self.root_bound is None:
            self.root_bound = total
        if self.best is not None and total >= self.best.cost:
            return
        room = self.capacity_after[g + 1] + (self.slots[g].end - cursor if g >= 0 else 0)
        if need > room:
            return
        # Children ordered by how much they raise the bound.
        # Among equal raises, real padding first: the first dive is then a good greedy.
        frontier: list[tuple[Cost, int, int, int, int, int]] = []
        seen: set[int] = set()
        for i in remaining:
            if self.klass[i] in seen:
                continue
            seen.add(self.klass[i])
            here = self.current(i, g, cursor)
            if here is not None:
                heapq.heappush(frontier, (_sub(here[0], bounds[i]), here[0][0], i, g, here[1],
                                          -1))
            k = self.next_fresh(i, g)
            if k is not None:
                self._push_fresh(frontier, i, k, bounds[i])
        while frontier:
            delta, _, i, s, address, k = heapq.heappop(frontier)
            if k >= 0:
                follow = self.fresh[i].room.first_at_least(k + 1, self.items[i].size)
                if follow is not None and follow < len(self.fresh[i].order):
                    self._push_fresh(frontier, i, follow, bounds[i])
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
            if self.proven or self.stopped:
                return

    def _push_fresh(self, frontier: list[tuple[Cost, int, int, int, int, int]], i: int,
                    k: int, bound: Cost) -> None:
        fresh = self.fresh[i]
        cost = self.fresh_cost(i, k)
        heapq.heappush(frontier, (_sub(cost, bound), fresh.padding[k], i, fresh.order[k],
                                  fresh.address[k], k))

    def _admissible(self, i: int, s: int, address: int, placed: list[Assignment],
                    last: Assignment | None, cursor: int | None) -> bool:
        region = self.slots[s].region
        if i in self.ordered:
            above = self.must_follow.get(i, set())
            for a in placed:
                if self.slots[a.slot].region != region:
                    continue
                if a.item in above and a.address < address:
                    return False
                if i in self.must_follow.get(a.item, set()) and address < a.address:
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
          after: Sequence[tuple[int, int]] = (), budget: int | None = None) -> Solution | None:
    """The cheapest placement of every item, or None when none exists.

    `after` holds pairs ``(i, j)``: if items i and j share a region, j is placed above i.
    Finding whether a placement exists is never cut short; once one is found, `budget`
    (nodes times heaps) limits the proof of optimality, and the solution says whether it
    was `proven`.

    Items that can never meet (no region in common, no ordering pair) are independent:
    each group is searched on its own, which keeps the proofs small (a Harvard build's
    instruction and data heaps, for instance).
    """
    groups = _independent_groups(items, slots, after)
    if len(groups) == 1:
        return _Search(items, slots, after, budget).run()
    cost: Cost = _ZERO
    assignments: list[Assignment] = []
    nodes = 0
    proven = True
    for group in groups:
        local = {item: n for n, item in enumerate(group)}
        pairs = [(local[i], local[j]) for i, j in after if i in local and j in local]
        part = _Search([items[i] for i in group], slots, pairs, budget).run()
        if part is None:
            return None
        cost = _add(cost, part.cost)
        assignments += [records.evolve(a, item=group[a.item]) for a in part.assignments]
        nodes += part.nodes
        proven = proven and part.proven
    return Solution(cost, tuple(sorted(assignments, key=lambda a: a.item)), nodes, proven)


def _independent_groups(items: Sequence[Item], slots: Sequence[Slot],
                        after: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Items joined when they may use a common region or are ordered against each other."""
    parent = list(range(len(items)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    sets = _slot_sets(items)
    first: dict[int, int] = {}  # slot set -> its first item, which stands for the set
    owner: dict[str, int] = {}  # region -> an item that may use it
    for n, item in enumerate(items):
        if sets[n] in first:
            parent[root(n)] = root(first[sets[n]])
            continue
        first[sets[n]] = n
        for region in {slots[s].region for s in item.slots}:
            if region in owner:
                parent[root(n)] = root(owner[region])
            else:
                owner[region] = n
    for i, j in after:
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for n in range(len(items)):
        groups.setdefault(root(n), []).append(n)
    return sorted(groups.values())
