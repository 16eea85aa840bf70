"""The scenario zoo: the doctor names the right finding on every broken set-up and raises nothing on
the healthy ones, including variants (depth, width, activation, optimiser, data) the zoo does not list."""
import pytest

from gradkit.doctor import scenarios
from gradkit.doctor.setups import diagnose_setup


def roots(report):
    return [f.name for f in report.findings if f.explained_by is None]


BROKEN = [name for name in scenarios.names() if scenarios.get(name).expected]
HEALTHY = [name for name in scenarios.names() if not scenarios.get(name).expected]

# Variants of each finding outside the zoo's own list: other depths, widths, activations, optimisers, data.
VARIANTS = [
    ("deep-sigmoid:depth=15,optimizer=adam,lr=0.001,width=32", "vanishing_gradients"),
    ("deep-sigmoid:data=circles", "vanishing_gradients"),
    ("deep-tanh-small-init:optimizer=sgd,lr=0.05,depth=12", "vanishing_gradients"),
    ("relu-std-0.01:optimizer=adam,lr=0.001,depth=8", "vanishing_gradients"),
    ("deep-relu-wide-init:depth=12,width=32,optimizer=adam,lr=0.001", "exploding_gradients"),
    ("deep-relu-wide-init:init=normal:0.4,width=100,depth=6", "exploding_gradients"),
    ("dead-relu:data=moons,bias=-2,optimizer=adam,lr=0.001", "dead_relu"),
    ("dead-relu:depth=3,width=128,optimizer=momentum,lr=0.01", "dead_relu"),
    ("saturated-tanh:depth=6,width=32", "saturation"),
    ("saturated-tanh:activation=sigmoid,init=normal:2.0", "saturation"),
    ("sigmoid-std-0.02:depth=8,optimizer=sgd,lr=0.1", "collapsed_activations"),
    ("zero-init:activation=sigmoid", "symmetric_weights"),
    ("zero-init:data=moons,optimizer=sgd,lr=0.1", "symmetric_weights"),
    ("constant-init-tanh:init=constant:0.5,depth=5", "symmetric_weights"),
    ("lr-too-high:optimizer=adam,lr=0.05", "lr_too_high"),
    ("lr-too-high:data=moons,lr=5", "lr_too_high"),
    ("lr-too-low:optimizer=adam,lr=1e-6", "lr_too_low"),
    ("lr-too-low:depth=6,width=32,lr=1e-5", "lr_too_low"),
    ("overfit:n_train=128,width=256", "overfitting"),
    ("nan-loss:depth=5,width=100", "nonfinite"),
    ("raw-pixels:optimizer=adam,lr=0.001", "unnormalized_inputs"),
    ("softmax-before-ce:optimizer=adam,lr=0.001,depth=2", "softmax_before_cross_entropy"),
    ("shuffled-labels:optimizer=momentum,lr=0.01,seed=1", "unlearnable_labels"),
]
HEALTHY_VARIANTS = [
    "healthy-relu:depth=10,width=32", "healthy-relu:optimizer=sgd,lr=0.5", "healthy-tanh:optimizer=momentum,lr=0.01",
    "healthy-relu:activation=leaky_relu", "healthy-relu:activation=elu,data=circles",
    "healthy-relu:batch_norm=true,depth=6", "healthy-relu:architecture=residual,depth=12",
    "healthy-tanh:architecture=highway,depth=10", "healthy-moons:optimizer=rmsprop,lr=0.001",
    "healthy-moons:lr=0.01", "healthy-relu:dropout=0.3,depth=4,width=128", "healthy-sigmoid:depth=3,lr=0.003",
]


@pytest.mark.parametrize("name", BROKEN)
def test_broken_scenarios_get_their_finding_as_a_root_cause(name):
    scenario = scenarios.get(name)
    report = diagnose_setup(scenario.setup)
    assert scenario.expected in roots(report), f"{name}: expected {scenario.expected}, got {report.names}"
    finding = report[scenario.expected]
    assert finding.evidence and finding.explanation and finding.remedies and finding.rule


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_twins_raise_nothing(name):
    report = diagnose_setup(scenarios.get(name).setup)
    assert report.names == [], f"{name}: false alarm {report.names}"


def test_every_broken_scenario_has_a_healthy_twin():
    for name in BROKEN:
        assert scenarios.get(name).twin in HEALTHY, name


@pytest.mark.parametrize("spec,expected", VARIANTS)
def test_variants_are_diagnosed(spec, expected):
    report = diagnose_setup(scenarios.get(spec).setup)
    assert expected in roots(report), f"{spec}: expected {expected}, got {report.names}"


@pytest.mark.parametrize("spec", HEALTHY_VARIANTS)
def test_healthy_variants_raise_nothing(spec):
    report = diagnose_setup(scenarios.get(spec).setup)
    assert report.names == [], f"{spec}: false alarm {report.names}"


def test_consequences_point_to_their_cause():
    report = diagnose_setup(scenarios.get("zero-init").setup)
    assert report.primary.name == "symmetric_weights" and roots(report) == ["symmetric_weights"]
    assert len(report.findings) > 1
    for f in report.findings[1:]:          # every consequence leads back, link by link, to the root cause
        cause, seen = f, set()
        while cause.explained_by is not None and cause.name not in seen:
            seen.add(cause.name)
            cause = report[cause.explained_by]
        assert cause.name == "symmetric_weights", f.name


def test_scenario_specs_and_errors():
    s = scenarios.get("deep-sigmoid:depth=15,batch_norm=true,clip=0.5")
    assert (s.setup.depth, s.setup.batch_norm, s.setup.clip, s.setup.activation) == (15, True, 0.5, "sigmoid")
    assert scenarios.get("custom:depth=2").setup.depth == 2
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        scenarios.get("nope")
    with pytest.raises(ValueError, match="key one of"):
        scenarios.get("deep-sigmoid:colour=red")
    with pytest.raises(ValueError, match="depth: 'x' is not a valid int"):
        scenarios.get("deep-sigmoid:depth=x")
    with pytest.raises(ValueError, match="batch_norm: 'maybe'"):
        scenarios.get("deep-sigmoid:batch_norm=maybe")
