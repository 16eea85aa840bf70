"""search() in one process: trial counts, seeds, the prefix property, resuming, pruning, Ctrl-C, errors."""
import math

import pytest

optuna = pytest.importorskip("optuna")

from gradkit import tune  # noqa: E402

SPACE = {"lr": tune.LogUniform(1e-6, 1e-2), "weight_decay": tune.LogUniform(1e-8, 1e-4)}
TINY = tune.Setup(samples=60, epochs=2, depth=1, width=8, batch_size=16)


def peak(params, number, report=None):
    """A fast objective with its best at lr = 1e-3, weight decay = 1e-6 (values in (0, 1])."""
    d = (math.log10(params["lr"]) + 3) ** 2 + 0.25 * (math.log10(params["weight_decay"]) + 6) ** 2
    return math.exp(-d)


def params_of(study):
    return [t.params for t in sorted(study.trials, key=lambda t: t.number)]


def test_a_search_runs_the_requested_trials_inside_the_space_on_the_real_objective():
    study = tune.search(SPACE, TINY, trials=5, sampler="random", prune=False)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 5
    for t in study.trials:
        assert 1e-6 <= t.params["lr"] <= 1e-2 and 1e-8 <= t.params["weight_decay"] <= 1e-4
        assert 0.0 <= t.value <= 1.0 and len(t.intermediate_values) == TINY.epochs


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_same_seed_same_trials_other_seed_other_trials(sampler):
    run = lambda seed: params_of(tune.search(SPACE, trials=15, sampler=sampler, seed=seed, objective=peak))
    assert run(0) == run(0)
    assert run(0) != run(1)


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_the_first_b_trials_of_a_longer_study_are_a_b_trial_study(sampler):
    """What compare.py relies on to read budgets 25, 50, 100 off one 100-trial study."""
    short = params_of(tune.search(SPACE, trials=14, sampler=sampler, objective=peak))
    long = params_of(tune.search(SPACE, trials=30, sampler=sampler, objective=peak))
    assert long[:14] == short


def test_tpe_starts_with_the_random_samplers_trials_then_finds_a_better_peak():
    random = tune.search(SPACE, trials=60, sampler="random", objective=peak)
    tpe = tune.search(SPACE, trials=60, sampler="tpe", objective=peak)
    assert params_of(tpe)[:10] == params_of(random)[:10]     # TPE's 10 start-up trials are random ones
    assert params_of(tpe)[10:] != params_of(random)[10:]
    assert tpe.best_value > 0.9                              # a smooth peak: TPE gets near it in 60 trials


def test_gp_sampler_runs():
    pytest.importorskip("scipy")
    pytest.importorskip("torch")
    study = tune.search(SPACE, trials=6, sampler="gp", objective=peak)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 6


def test_rerunning_continues_the_study_up_to_the_new_total(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = params_of(tune.search(SPACE, trials=4, storage=url, study="s", objective=peak))
    study = tune.search(SPACE, trials=7, storage=url, study="s", objective=peak)
    assert len(study.trials) == 7 and params_of(study)[:4] == first
    assert len(params_of(tune.search(SPACE, trials=7, storage=url, study="s", objective=peak))) == 7   # done: no more
    other = {"lr": tune.LogUniform(1e-5, 1e-1), "weight_decay": tune.LogUniform(1e-8, 1e-4)}
    with pytest.raises(ValueError, match="study 's' was created with space"):
        tune.search(other, trials=8, storage=url, study="s", objective=peak)


def test_median_pruner_stops_trials_below_the_median_by_epoch():
    def curve(params, number, report):
        for epoch in range(10):                       # accuracy climbing to peak(params)
            value = peak(params, number) * (epoch + 1) / 10
            if report(epoch, value):
                return value
        return value

    study = tune.search(SPACE, trials=30, sampler="random", objective=curve, prune=True, warmup=2)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned and all(3 <= len(t.intermediate_values) < 10 for t in pruned)
    assert all(len(t.intermediate_values) == 10 for t in study.trials if t.state.name == "COMPLETE")
    unpruned = tune.search(SPACE, trials=30, sampler="random", objective=curve, prune=False)
    assert all(t.state.name == "COMPLETE" for t in unpruned.trials)


def test_ctrl_c_marks_the_trial_interrupted_and_a_rerun_redoes_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    calls = []

    def flaky(params, number, report):
        calls.append(number)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return peak(params, number)

    with pytest.raises(KeyboardInterrupt):
        tune.search(SPACE, trials=5, storage=url, study="s", objective=flaky)
    study = tune.search(SPACE, trials=5, storage=url, study="s", objective=flaky)
    states = [(t.state.name, t.user_attrs.get("interrupted", False)) for t in study.trials]
    assert states == [("COMPLETE", False)] * 2 + [("FAIL", True)] + [("COMPLETE", False)] * 3
    assert calls == [0, 1, 2, 3, 4, 5]


def test_an_objective_error_fails_its_trial_and_surfaces():
    def broken(params, number, report):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tune.search(SPACE, trials=3, objective=broken, storage=None)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown sampler 'bayes'"):
        tune.search(SPACE, trials=3, sampler="bayes", objective=peak)
    with pytest.raises(ValueError, match="trials must be an int >= 1"):
        tune.search(SPACE, trials=0, objective=peak)
    with pytest.raises(ValueError, match="several workers need a storage they share"):
        tune.search(SPACE, trials=3, workers=2)
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        tune.search({"learning_rate": tune.LogUniform(1e-3, 1e-1)}, trials=3)
    with pytest.raises(ValueError, match="is not a SQLAlchemy URL whose driver is installed"):
        tune.search(SPACE, trials=3, storage="nodb://", objective=peak)
