"""The hyperparameter-search experiment: its narrowed range, its pairing of random and TPE, its split."""
import numpy
import pytest

pytest.importorskip("optuna")

from gradkit.lab.experiments import hyperparameter_search as hs  # noqa: E402

SMALL = dict(samples=40, depth=1, width=8, epochs=1, batch_size=16, top_k=3)


def span(rows, k, best=True):
    """The obvious way: sort complete trials by value (ties: earlier first), take k, min and max."""
    done = sorted((r for r in rows if r["state"] == "COMPLETE"), key=lambda r: (-r["value"] if best else r["value"],
                                                                              r["number"]))[:k]
    return {name: (min(r["params"][name] for r in done), max(r["params"][name] for r in done))
            for name in ("lr", "weight_decay")}


@pytest.mark.parametrize("around", ["best", "worst"])
def test_the_second_round_searches_the_span_of_the_chosen_random_trials(around):
    results = hs.run(hs.Config(trials=6, narrow_around=around, **SMALL), numpy.random.default_rng(0))
    expected = span(results["arms"]["random"], 3, best=around == "best")
    got = {name: (dim["low"], dim["high"]) for name, dim in results["narrowed"].items()}
    assert got == expected
    for r in results["arms"]["narrowed"]:
        for name, (low, high) in got.items():
            assert low <= r["params"][name] <= high
    assert results["sizes"] == {"train": 32, "validation": 8}


def test_random_and_tpe_share_their_start_up_trials_then_part():
    results = hs.run(hs.Config(trials=12, **SMALL), numpy.random.default_rng(1))
    random, tpe = ([r["params"] for r in results["arms"][k]] for k in ("random", "tpe"))
    assert random[:10] == tpe[:10] and random[10:] != tpe[10:]
