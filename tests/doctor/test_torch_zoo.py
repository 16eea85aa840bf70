"""The doctor on PyTorch: every broken set-up of ``torch_zoo`` trains badly in plain PyTorch and gets its
finding as a root cause, through ``watch`` (all of them) and ``diagnose`` (those that are not loop bugs);
the healthy twins, an MLP, a CNN and a batch-norm + dropout net among them, get no finding at all."""
import functools

import pytest

torch = pytest.importorskip("torch")

import gradkit as gk  # noqa: E402

from . import torch_zoo as zoo  # noqa: E402

BROKEN = [name for name, build in zoo.SETUPS.items() if name in zoo.TWINS]
HEALTHY = [name for name in zoo.SETUPS if name not in zoo.TWINS]
LOOP_BUGS = {"stale-gradients", "eval-mode-training"}   # a set-up ``diagnose`` trains cannot have them


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def roots(report):
    return [f.name for f in report.findings if f.explained_by is None]


@functools.lru_cache(maxsize=None)
def watched(name):
    """(held-out accuracy, report) of the set-up trained by the plain loop under ``watch``."""
    run = zoo.SETUPS[name](0)
    with gk.doctor.watch(run.model, run.optimizer) as w:
        zoo.train(run)
    return zoo.accuracy(run), w.report()


@pytest.mark.parametrize("name", BROKEN)
def test_each_bug_costs_accuracy_against_its_healthy_twin(name):
    # the watch changes no number (test_watch.py), so these are plain PyTorch's accuracies
    broken, healthy = watched(name)[0], watched(zoo.TWINS[name])[0]
    assert healthy > 0.85 and healthy - broken > 0.3, f"{name}: {broken:.3f} vs twin {healthy:.3f}"


@pytest.mark.parametrize("name", BROKEN)
def test_watch_names_each_bug_as_a_root_cause(name):
    expected = zoo.SETUPS[name](0).expected
    report = watched(name)[1]
    assert expected in roots(report), f"{name}: expected {expected}, got {report.names}"
    finding = report[expected]
    assert finding.evidence and finding.explanation and finding.remedies and finding.rule and finding.fix
    assert f"In your code: {finding.fix}" in str(report)


@pytest.mark.parametrize("name", HEALTHY)
def test_watch_raises_nothing_on_healthy_set_ups(name):
    report = watched(name)[1]
    assert report.names == [], f"{name}: false alarm {report.names}"


def diagnosed(name):
    run = zoo.SETUPS[name](0)
    return gk.doctor.diagnose(run.model, (run.x, run.y), optimizer=run.optimizer, loss_fn=run.loss_fn,
                              steps=run.steps, val=(run.x_test, run.y_test))


@pytest.mark.parametrize("name", [n for n in BROKEN if n not in LOOP_BUGS])
def test_diagnose_names_the_data_and_model_bugs_of_torch_set_ups(name):
    expected = zoo.SETUPS[name](0).expected
    report = diagnosed(name)
    assert expected in roots(report), f"{name}: expected {expected}, got {report.names}"
    assert "In your code" not in str(report)   # diagnose owns its loop: remedies, not script edits


@pytest.mark.parametrize("name", ["healthy-mlp", "healthy-cnn", "healthy-bn-dropout"])
def test_diagnose_raises_nothing_on_healthy_torch_set_ups(name):
    report = diagnosed(name)
    assert report.names == [], f"{name}: false alarm {report.names}"
    assert report.final["val_accuracy"] > 0.8


def test_diagnose_takes_a_torch_dataloader_and_the_default_optimizer_and_loss():
    run = zoo.SETUPS["softmax-before-ce"](0)
    data = torch.utils.data.TensorDataset(run.x, run.y)
    loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    report = gk.doctor.diagnose(run.model, loader, steps=60)
    assert "softmax_before_cross_entropy" in report.names
    # the exact check: the loss is the cross-entropy of the outputs taken as logits
    assert "equals the cross-entropy" in report["softmax_before_cross_entropy"].evidence[1]


# Unseen variants (other seeds and optimisers; the CNN variants, slower, were run once for the report:
# docs/doctor.md). Underfitting with a 3-unit layer is not named in 300 steps: its loss still falls
# (14 % over the last two fifths), so the rule's plateau is not there yet.
CHEAP_VARIANTS = ["stale-gradients:adam,seed=1", "unlearnable-labels:sgd,seed=1", "eval-mode-training:seed=1",
                  "healthy-mlp:seed=1", "healthy-bn-dropout:sgd,seed=1"]


@pytest.mark.parametrize("name", CHEAP_VARIANTS)
def test_watch_on_unseen_variants(name):
    build, expected, seed = zoo.VARIANTS[name]
    run = build(seed)
    with gk.doctor.watch(run.model, run.optimizer) as w:
        zoo.train(run)
    report = w.report()
    if expected is None:
        assert report.names == [], f"{name}: false alarm {report.names}"
    else:
        assert roots(report) == [expected], f"{name}: expected {expected}, got {report.names}"
