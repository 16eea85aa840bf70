"""The objective: a validation split carved from the training part only, seeded trials, early stop."""
import numpy
import pytest

import gradkit as gk
from gradkit.tune import Objective, Setup, split
from gradkit.tune.objective import trial_rngs

TINY = Setup(samples=60, epochs=2, depth=1, width=8, batch_size=16)


def _rows(images) -> set:
    return {row.tobytes() for row in images.reshape(len(images), -1)}


def test_split_is_the_books_500_with_20_percent_held_out_from_the_training_part_only():
    fit, val = split(Setup())
    assert (len(fit), len(val)) == (400, 100)
    train, test = gk.data.load("mnist-10k")
    fit_rows, val_rows = _rows(fit.images), _rows(val.images)
    assert not fit_rows & val_rows                                   # disjoint
    assert (fit_rows | val_rows) <= _rows(train.images)               # drawn from the training part
    assert not (fit_rows | val_rows) & (_rows(test.images) - _rows(train.images))   # never the test part
    again, _ = split(Setup())
    assert numpy.array_equal(again.images, fit.images)                # the seed fixes it
    other, _ = split(Setup(seed=1))
    assert not numpy.array_equal(other.images, fit.images)


def test_same_trial_number_same_value_and_other_numbers_other_initialisations():
    objective = Objective(TINY)
    params = {"lr": 0.05, "weight_decay": 1e-5}
    assert objective(params, 3) == objective(params, 3)
    a, _ = objective.build(params, trial_rngs(0, 3)[0])
    b, _ = objective.build(params, trial_rngs(0, 4)[0])
    c, _ = objective.build(params, trial_rngs(0, 3)[0])
    first = lambda model: next(iter(model.parameters())).data
    assert not numpy.array_equal(first(a), first(b))
    assert numpy.array_equal(first(a), first(c))


def test_report_sees_each_epoch_and_can_stop_the_trial():
    seen = []
    objective = Objective(Setup(samples=60, epochs=4, depth=1, width=8, batch_size=16))
    value = objective({"lr": 0.05}, 0, report=lambda epoch, acc: seen.append((epoch, acc)) or epoch == 1)
    assert [e for e, _ in seen] == [0, 1]                             # stopped after the second epoch
    assert objective.stopped and value == seen[-1][1]
    assert all(0.0 <= acc <= 1.0 for _, acc in seen)


def test_weight_decay_reaches_weights_only_as_in_the_book():
    model, optimizer = Objective(TINY).build({"lr": 0.1, "weight_decay": 1e-3}, numpy.random.default_rng(0))
    decayed, free = optimizer.param_groups
    assert decayed["weight_decay"] == 1e-3 and all(p.ndim == 2 for p in decayed["params"])
    assert free["weight_decay"] == 0.0 and all(p.ndim == 1 for p in free["params"])
    assert len(decayed["params"]) + len(free["params"]) == len(list(model.parameters()))


def test_space_names_and_setups_are_checked():
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) 'learning_rate'; an objective knows lr"):
        Objective(TINY)({"learning_rate": 0.1}, 0)
    with pytest.raises(ValueError, match="val_fraction must be in"):
        Setup(val_fraction=1.0)
    with pytest.raises(ValueError, match="samples=9000 but mnist-10k has 8000 training images"):
        Objective(Setup(samples=9000))
    with pytest.raises(ValueError, match="need epochs >= 1"):
        Setup(epochs=0)
