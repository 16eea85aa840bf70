"""autodiff-modes' symbolic part: SymPy's derivatives against the hand-written ones, the 30-digit reference,
the swell measurements, and the broken configuration failing each symbolic claim for its own reason."""
from __future__ import annotations

import numpy
import pytest

pytest.importorskip("sympy")

from gradkit.lab.experiments import _symbolic, autodiff_modes  # noqa: E402
from gradkit.lab.runner import measure  # noqa: E402


@pytest.mark.parametrize("name", list(autodiff_modes.FUNCTIONS))
def test_symbolic_gradient_matches_the_hand_written_one(name):
    _, by_hand, term = autodiff_modes.FUNCTIONS[name]
    x = numpy.random.default_rng(0).uniform(-2, 2, 30)
    symbol, _, df = _symbolic.derivative(term)
    assert numpy.allclose(_symbolic.evaluate(df, symbol, x), by_hand(x), rtol=1e-14, atol=1e-15)
    exact = _symbolic.exact(df, symbol, x)
    assert exact.dtype == numpy.longdouble
    assert numpy.max(numpy.abs(exact - by_hand(x.astype(numpy.longdouble)))) < 1e-17
    assert _symbolic.evaluate(df, symbol, x.astype(numpy.float32)).dtype == numpy.float32


def test_a_constant_derivative_is_broadcast():
    symbol, _, df = _symbolic.derivative(lambda sp, u: 3 * u)
    assert numpy.array_equal(_symbolic.evaluate(df, symbol, numpy.zeros(4)), [3.0, 3.0, 3.0, 3.0])


def test_nest_composes_and_sizes_count_the_tree_and_the_shared_graph():
    import sympy
    x = sympy.Symbol("x")
    assert _symbolic.nest(lambda sp, u: sp.sin(u), 3)(sympy, x) == sympy.sin(sympy.sin(sympy.sin(x)))
    sizes = [_symbolic.sizes(_symbolic.derivative(_symbolic.nest(_symbolic.NESTS["sin(u) exp(u/2)"][1], d))[2],
                             simplify=False) for d in (1, 2, 3, 4)]
    tree, shared = [s["tree"] for s in sizes], [s["shared"] for s in sizes]
    assert all(s <= t for s, t in zip(shared, tree))
    assert all(b >= 2 * a for a, b in zip(tree, tree[1:]))         # the tree at least doubles per level
    assert numpy.ptp(numpy.diff(shared)) <= 2                     # shared: about the same ops per level


def test_full_set_up_swells_and_autodiff_grows_linearly():
    results = measure("autodiff-modes", "quick")[2]
    swell = results["swell"]
    assert swell["depths"] == [1, 2, 3, 4, 5] and len(swell["simplified"]) == 2
    assert len(set(numpy.diff(swell["autodiff"]))) == 1           # the same ops per level
    assert swell["tree"][-1] > 10 * swell["autodiff"][-1]


def test_broken_configuration_fails_every_symbolic_claim():
    verdicts = {v.claim: v for v in measure("autodiff-modes", "broken")[3]}
    for claim in ("symbolic derivatives evaluate exactly to rounding",
                  "symbolic derivatives swell with depth, autodiff's graph does not",
                  "SymPy's derivative is not the simplest form"):
        assert not verdicts[claim].passed, claim
