"""The recorder's hooks measure what they claim; diagnose and DoctorCallback are usable from code."""
import io
import json
import math

import numpy
import pytest

import gradkit as gk
from gradkit import functional as F
from gradkit import nn, optim
from gradkit.doctor import DoctorCallback, Recorder, Schedule, diagnose, locate_nonfinite
from gradkit.doctor.setups import Setup, build, naive_cross_entropy


def small_data(n=64, features=6, classes=3, seed=0):
    r = numpy.random.default_rng(seed)
    return r.standard_normal((n, features)).astype(numpy.float32), r.integers(0, classes, n)


def test_recorder_measures_the_true_gradients_and_updates_and_removes_its_hooks():
    x, y = small_data()
    model = nn.models.mlp(6, [8, 8], 3, activation="tanh", init="xavier", rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    rec = Recorder(model, Schedule(every=2))
    xt, yt = gk.tensor(x), gk.tensor(y)
    for step in range(3):
        before = {n: p.data.copy() for n, p in model.named_parameters()}
        rec.begin_step(step)
        hidden = model[0](xt)                       # the first Linear's output, recomputed by hand below
        loss = F.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        rest = nn.Sequential(*list(model)[1:])       # d loss / d (first Linear's output), by hand
        (g_hidden,) = gk.grad(F.cross_entropy(rest(hidden), yt), hidden)
        opt.step()
        probe = rec.end_step(step, float(loss.data))
        if step == 1:
            assert probe is None
            continue
        first = probe.layers["0"]
        expected = numpy.sqrt((g_hidden.data.astype(numpy.float64) ** 2).sum() / len(x))
        assert first["grad_norm"] == pytest.approx(expected, rel=1e-5)
        w0 = before["0.weight"]
        assert first["update_ratio"] == pytest.approx(numpy.linalg.norm(model[0].weight.data - w0) /
                                                      numpy.linalg.norm(w0), rel=1e-5)
        assert first["weight_grad_norm"] == pytest.approx(numpy.linalg.norm(model[0].weight.grad.data), rel=1e-6)
        assert probe.order[:3] == ["0", "1", "2"]
        assert all(not module._forward_hooks for module in model.modules())  # nothing left behind
    assert [p.step for p in rec.probes] == [0, 2] and len(rec.losses) == 3


def test_dead_units_are_counted_over_a_window():
    model = nn.Sequential(nn.Linear(4, 6, rng=0), nn.ReLU())
    model[0].bias.data[:3] = -100.0                 # three units can never fire
    rec = Recorder(model, Schedule(every=1), window=3)
    x = gk.tensor(numpy.random.default_rng(1).standard_normal((5, 4)).astype(numpy.float32))
    for step in range(4):
        rec.begin_step(step)
        model(x)
        rec.end_step(step, 1.0)
    assert rec.probes[-1].layers["1"]["dead_share"] >= 0.5
    assert rec.probes[-1].layers["1"]["window_batches"] == 3


def test_diagnose_returns_a_report_for_code_and_people(tmp_path):
    x, y = small_data(256, 6, 3)
    model = nn.models.mlp(6, [16, 16], 3, rng=0)
    report = diagnose(model, (x, y), optimizer=optim.Adam(model.parameters(), lr=1e-2), steps=60,
                      batch_size=32, val=(x[:64], y[:64]))
    assert isinstance(report.names, list) and report.healthy == (not report.names)
    data = report.to_dict()
    json.dumps(data)                                 # plain data
    assert {"findings", "layers", "losses", "final"} <= set(data)
    assert len(report.losses) == 60 and "val_accuracy" in report.final
    text = str(report)
    assert "layer" in text and "0 (Linear 6->16)" in text
    assert report.save_figure(str(tmp_path / "flow.png")) and (tmp_path / "flow.png").stat().st_size > 1000
    with pytest.raises(KeyError, match="no finding 'not_a_finding'"):
        report["not_a_finding"]
    for name in report.names:
        assert name in report and report[name].name == name


def test_diagnose_names_the_op_that_made_the_nan():
    run = build(Setup(depth=3, init="normal:1.0", loss="naive_cross_entropy", n_train=128, n_val=0, steps=5))
    report = diagnose(run.model, run.train, optimizer=run.optimizer, loss_fn=run.loss_fn, steps=5)
    finding = report["nonfinite"]
    assert report.primary is finding
    assert "Log.forward produced Inf" in report.anomaly and "input shapes" in report.anomaly
    assert any("Log.forward" in line for line in finding.evidence)


def test_locate_nonfinite_finds_a_backward_op_and_leaves_grads_alone():
    w = nn.Linear(3, 1, rng=0)
    x = gk.tensor(numpy.zeros((2, 3), numpy.float32))
    loss = lambda out, y: (out * 0).sqrt().sum()     # sqrt(0) is fine forward, its derivative is inf
    assert "backward" in locate_nonfinite(w, loss, x, None)
    assert w.weight.grad is None
    assert locate_nonfinite(w, lambda out, y: out.sum(), x, None) is None


def test_doctor_callback_warns_live_and_summarises():
    run = build(Setup(depth=6, activation="sigmoid", init="xavier", optimizer="sgd", lr=0.05, n_train=512, n_val=128))
    stream = io.StringIO()
    doctor = DoctorCallback(every=5, stream=stream)
    trainer = gk.train.Trainer(run.model, run.optimizer, callbacks=[doctor])
    trainer.fit(run.train, epochs=3, batch_size=64, val=run.val, verbose=False)
    out = stream.getvalue()
    assert "doctor: step" in out and "Vanishing gradients" in out
    assert "vanishing_gradients" in doctor.report.names
    assert trainer.loss_fn is F.cross_entropy       # the watch on the loss is taken off again
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in run.model.modules())
    assert len(doctor.recorder.validation) == 3


def test_doctor_callback_names_the_op_when_the_loss_turns_nan():
    run = build(Setup(depth=3, init="normal:1.0", n_train=128, n_val=0))
    doctor = DoctorCallback(every=1, stream=io.StringIO(), summary=False)
    trainer = gk.train.Trainer(run.model, run.optimizer, loss_fn=naive_cross_entropy, on_nonfinite="warn",
                               callbacks=[doctor, gk.train.TerminateOnNaN(stream=io.StringIO())])
    with pytest.warns(RuntimeWarning, match="Log.forward produced Inf"):   # the Trainer's own guard names it too
        trainer.fit(run.train, epochs=1, batch_size=64, verbose=False)
    assert "Log.forward produced Inf" in doctor.anomaly
    assert "nonfinite" in doctor.report.names


def test_bad_input_is_named():
    model = nn.models.mlp(6, [4], 3, rng=0)
    with pytest.raises(TypeError, match="diagnose: data must be"):
        diagnose(model, 42)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        diagnose(model, small_data(), steps=0)
    with pytest.raises(ValueError, match="Setup: depth must be >= 1"):
        Setup(depth=0)
    with pytest.raises(ValueError, match="unknown initialiser 'bogus'"):
        Setup(init="bogus")
    with pytest.raises(ValueError, match="normal:STD"):
        Setup(init="he:2")
    with pytest.raises(ValueError, match="data must be one of"):
        Setup(data="cifar")


def test_setups_are_reproducible():
    a, b = build(Setup(data="moons", n_train=64, n_val=16, seed=3)), build(Setup(data="moons", n_train=64, n_val=16, seed=3))
    assert numpy.array_equal(a.train.arrays[0], b.train.arrays[0])
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert numpy.array_equal(p.data, q.data)
    c = build(Setup(data="moons", n_train=64, n_val=16, seed=4))
    assert not numpy.array_equal(a.train.arrays[0], c.train.arrays[0])
    x = build(Setup(n_train=32, n_val=8)).train.arrays[0]
    assert x.shape == (32, 196) and x.dtype == numpy.float32 and math.isfinite(float(x.std()))
