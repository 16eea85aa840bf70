"""The remedy runner: on vanishing, exploding and dead-ReLU scenarios its best remedy trains."""
import math

import pytest

from gradkit.doctor import scenarios
from gradkit.doctor.remedies import REMEDIES, matching_init, recommended, try_remedies
from gradkit.doctor.setups import Setup


@pytest.mark.parametrize("name", ["deep-sigmoid", "deep-relu-wide-init", "dead-relu"])
def test_the_best_remedy_trains(name):
    setup = scenarios.get(name).setup
    table = try_remedies(setup)
    before, best = table.baseline.final, table.best
    assert best is not None and best.remedy != "baseline"
    after = best.final
    # measured on the validation slice, same seed and budget as the broken baseline
    assert math.isfinite(after["val_loss"])
    assert not after["val_loss"] > 0.5 * before["val_loss"]      # NaN baseline counts as beaten
    assert after["val_accuracy"] >= before["val_accuracy"] + 0.4
    assert best.setup.steps == setup.steps and best.setup.seed == setup.seed
    assert scenarios.get(name).expected not in best.findings
    scores = [t.score for t in table.trials]
    assert scores == sorted(scores)
    text = str(table)
    assert best.remedy in text and "->" in text


def test_remedies_are_transforms_of_a_copy():
    s = Setup(activation="sigmoid", init="normal:1.0", optimizer="sgd", lr=0.1, bias=-1.0)
    assert REMEDIES["relu_he"].apply(s).activation == "relu" and s.activation == "sigmoid"
    assert REMEDIES["matching_init"].apply(s).init == "xavier" and REMEDIES["matching_init"].apply(s).bias == 0.0
    assert matching_init("leaky_relu") == "he"
    assert REMEDIES["lower_lr"].apply(s).lr == pytest.approx(0.01)
    assert REMEDIES["raise_lr"].apply(s).lr == pytest.approx(1.0)
    assert REMEDIES["clip_grad_norm"].apply(s).clip == 1.0
    assert REMEDIES["batch_norm"].apply(s.replace(batch_norm=True)) is None      # does not apply twice
    assert REMEDIES["residual"].apply(s.replace(architecture="highway")) is None
    assert REMEDIES["weight_decay"].apply(Setup()).optimizer == "adamw"
    assert REMEDIES["weight_decay"].apply(s).weight_decay > 0
    assert REMEDIES["stable_loss"].apply(s.replace(loss="naive_cross_entropy")).loss == "cross_entropy"
    assert REMEDIES["more_data"].apply(s).n_train == 4 * s.n_train


def test_unknown_remedy_is_named():
    with pytest.raises(ValueError, match="unknown remedies \\['magic'\\]"):
        try_remedies(Setup(steps=2, n_train=16, n_val=8), remedies=["magic"])


def test_every_remedy_a_rule_recommends_exists():
    from gradkit.doctor.report import Finding
    from gradkit.doctor import rules
    import inspect
    source = inspect.getsource(rules)
    for name in REMEDIES:
        assert REMEDIES[name].description
    quoted = {w.strip('"') for w in source.replace("[", " ").replace("]", " ").replace(",", " ").split()
              if w.startswith('"') and w.endswith('"') and w.strip('"') in REMEDIES}
    assert quoted, "the rules recommend remedies by name"
    f = Finding("x", "X", "warning", [], "", ["lower_lr", "adam"], "")
    g = Finding("y", "Y", "warning", [], "", ["adam", "raise_lr"], "", explained_by="x")
    assert recommended([g, f]) == ["lower_lr", "adam", "raise_lr"]


def test_a_wider_model_is_the_best_remedy_for_under_fitting():
    table = try_remedies(scenarios.get("underfit-narrow").setup)
    assert table.best.remedy in ("wider", "deeper") and "underfitting" not in table.best.findings
    # measured: validation accuracy 0.20 -> 0.46 (width 2 -> 8, same 150 steps)
    assert table.best.final["val_accuracy"] >= table.baseline.final["val_accuracy"] + 0.2


def test_loop_remedies_do_not_apply_to_a_set_up_the_doctor_builds():
    # a set-up trained by diagnose zeroes gradients, trains in train mode, standardises its inputs
    for name in ("zero_grad", "train_mode", "normalize_inputs", "drop_softmax", "check_labels"):
        assert REMEDIES[name].apply(Setup()) is None


@pytest.mark.parametrize("name,remedy", [("raw-pixels", "normalize_inputs"), ("softmax-before-ce", "drop_softmax"),
                                         ("shuffled-labels", "check_labels")])
def test_the_data_bugs_remedy_is_recommended_and_trains(name, remedy):
    from gradkit.doctor.setups import diagnose_setup
    setup = scenarios.get(name).setup
    assert remedy in recommended(diagnose_setup(setup).findings)
    table = try_remedies(setup, remedies=[remedy])
    fixed = table.trials[0] if table.trials[0].remedy == remedy else table.trials[1]
    assert fixed.remedy == remedy and fixed.setup == scenarios.get(scenarios.get(name).twin).setup
    assert fixed.final["val_accuracy"] >= table.baseline.final["val_accuracy"] + 0.2
    assert scenarios.get(name).expected not in fixed.findings
    assert REMEDIES[remedy].apply(fixed.setup) is None       # nothing left to fix


def test_a_set_up_refuses_raw_synthetic_inputs_and_unknown_labels():
    with pytest.raises(ValueError, match="inputs"):
        Setup(data="moons", inputs="raw")
    with pytest.raises(ValueError, match="labels"):
        Setup(labels="sorted")
