import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.core.flow import FlowNetwork


def test_max_flow__classic_graph__known_value():
    # CLRS figure 26.1: max flow 23
    net = FlowNetwork(6)
    for u, v, c in [
        (0, 1, 16),
        (0, 2, 13),
        (1, 3, 12),
        (2, 1, 4),
        (2, 4, 14),
        (3, 2, 9),
        (3, 5, 20),
        (4, 3, 7),
        (4, 5, 4),
    ]:
        net.add_edge(u, v, c)
    assert net.max_flow(0, 5) == 23


def test_max_flow__capacity_raised_between_runs__adds_only_the_difference():
    net = FlowNetwork(3)
    e1 = net.add_edge(0, 1, 5)
    net.add_edge(1, 2, 100)
    assert net.max_flow(0, 2) == 5
    net.set_capacity(e1, 9)
    assert net.max_flow(0, 2) == 4
    assert net.flow(e1) == 9


def _min_cut(n, edges, s, t):
    best = None
    others = [i for i in range(n) if i not in (s, t)]
    for r in range(len(others) + 1):
        for side in itertools.combinations(others, r):
            S = {s, *side}
            cut = sum(c for u, v, c in edges if u in S and v not in S)
            best = cut if best is None else min(best, cut)
    return best


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, 50)),
                max_size=14,
            ),
        )
    )
)
def test_max_flow__random_graphs__equals_brute_force_min_cut(case):
    n, edges = case
    edges = [(u, v, c) for u, v, c in edges if u != v]
    net = FlowNetwork(n)
    for u, v, c in edges:
        net.add_edge(u, v, c)
    assert net.max_flow(0, n - 1) == _min_cut(n, edges, 0, n - 1)
