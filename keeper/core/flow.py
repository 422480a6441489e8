"""An integer max-flow network (Dinic's algorithm), the matching engine of the planner.

The planner models a rebalance as flow: value leaves the source through sellers, crosses a venue
(the only place a sell can fund a buy: cross-venue transfers are out of scope), and reaches the
sink through buyers. A maximum flow is the most drift that venue-local trades can remove.

Capacities are non-negative Python ints (the planner uses micro-USD), so the arithmetic is exact
and fast. Nodes are ints 0..n-1; edges are added in a deterministic order, which makes the result
a deterministic function of the inputs. Capacities can be raised or lowered between runs
(`set_capacity`), keeping the flow already found: the planner uses that to run in phases.

This module must not do I/O.
"""

from __future__ import annotations

from collections import deque


class FlowNetwork:
    """A directed graph with integer capacities and a current flow."""

    __slots__ = ("n", "_to", "_cap", "_adj", "_level", "_it")

    def __init__(self, n: int) -> None:
        self.n = n
        self._to: list[int] = []
        self._cap: list[int] = []  # residual capacity per edge; edge e ^ 1 is its reverse
        self._adj: list[list[int]] = [[] for _ in range(n)]
        self._level: list[int] = []
        self._it: list[int] = []

    def add_edge(self, u: int, v: int, capacity: int) -> int:
        """Add u -> v with `capacity` (>= 0); returns the edge id."""
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        e = len(self._to)
        self._to += [v, u]
        self._cap += [capacity, 0]
        self._adj[u].append(e)
        self._adj[v].append(e + 1)
        return e

    def flow(self, e: int) -> int:
        """Flow currently on edge `e` (the residual capacity of its reverse)."""
        return self._cap[e ^ 1]

    def set_capacity(self, e: int, capacity: int) -> None:
        """Change the capacity of edge `e`; it must stay >= the flow already on it."""
        used = self._cap[e ^ 1]
        if capacity < used:
            raise ValueError(f"capacity {capacity} is below the flow {used} already on the edge")
        self._cap[e] = capacity - used

    def max_flow(self, s: int, t: int) -> int:
        """Augment until no s-t path is left; returns the flow added by this call."""
        total = 0
        while self._bfs(s, t):
            self._it = [0] * self.n
            while True:
                pushed = self._dfs(s, t, 1 << 256)
                if not pushed:
                    break
                total += pushed
        return total

    def _bfs(self, s: int, t: int) -> bool:
        level = [-1] * self.n
        level[s] = 0
        queue = deque([s])
        to, cap, adj = self._to, self._cap, self._adj
        while queue:
            u = queue.popleft()
            for e in adj[u]:
                v = to[e]
                if cap[e] > 0 and level[v] < 0:
                    level[v] = level[u] + 1
                    queue.append(v)
        self._level = level
        return level[t] >= 0

    def _dfs(self, u: int, t: int, limit: int) -> int:
        if u == t:
            return limit
        to, cap, adj, level, it = self._to, self._cap, self._adj, self._level, self._it
        edges = adj[u]
        while it[u] < len(edges):
            e = edges[it[u]]
            v = to[e]
            if cap[e] > 0 and level[v] == level[u] + 1:
                pushed = self._dfs(v, t, min(limit, cap[e]))
                if pushed:
                    cap[e] -= pushed
                    cap[e ^ 1] += pushed
                    return pushed
            it[u] += 1
        return 0
