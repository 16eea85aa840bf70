"""The Trainer's loop and callbacks on small real data."""
import json

import numpy
import pytest

import gradkit as gk
from gradkit import nn, optim
from gradkit.data import ArrayDataset
from gradkit.train import Callback, EarlyStopping, History, LRSchedulerCallback, TerminateOnNaN, Trainer


@pytest.fixture(scope="module")
def digits():
    train, test = gk.data.load("mnist-10k")
    return train.subset(numpy.arange(1000)), test.subset(numpy.arange(500))


def _mlp(seed=0, hidden=(64,)):
    return nn.Sequential(nn.Flatten(), nn.models.mlp(784, list(hidden), 10, rng=seed))


def test_fit_learns_and_reports_per_epoch(digits):
    train, test = digits
    model = _mlp()
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=1e-3))
    before = trainer.evaluate(test)
    history = trainer.fit(train, epochs=3, batch_size=50, val=test, verbose=False)
    assert [r["epoch"] for r in history.epochs] == [1, 2, 3]
    assert history["loss"][2] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.8 > before["accuracy"]
    assert trainer.evaluate(test)["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    assert trainer.predict(test).shape == (500, 10)
    assert trainer.global_step == 3 * 20 and model.training


def test_lifecycle_order_and_logs(digits):
    train, _ = digits
    events = []

    class Spy(Callback):
        def on_train_begin(self, logs): events.append("train_begin")
        def on_epoch_begin(self, epoch, logs): events.append(f"epoch_begin {epoch}")
        def on_batch_end(self, batch, logs): events.append(f"batch {batch} {sorted(logs)}")
        def on_epoch_end(self, epoch, logs): events.append(f"epoch_end {epoch}")
        def on_train_end(self, logs): events.append("train_end")

    model = _mlp()
    Trainer(model, optim.SGD(model.parameters(), lr=0.1)).fit(train.subset(numpy.arange(100)), epochs=2,
                                                              batch_size=50, callbacks=[Spy()], verbose=False)
    assert events == ["train_begin", "epoch_begin 0", "batch 0 ['accuracy', 'loss']", "batch 1 ['accuracy', 'loss']",
                      "epoch_end 0", "epoch_begin 1", "batch 0 ['accuracy', 'loss']", "batch 1 ['accuracy', 'loss']",
                      "epoch_end 1", "train_end"]


def test_history_writes_jsonl_and_csv(digits, tmp_path):
    train, test = digits
    model = _mlp()
    history = History(jsonl=str(tmp_path / "h.jsonl"), csv_path=str(tmp_path / "h.csv"))
    Trainer(model, optim.SGD(model.parameters(), lr=0.1)).fit(train, epochs=2, batch_size=100, val=test,
                                                              callbacks=[history], verbose=False)
    rows = [json.loads(line) for line in open(tmp_path / "h.jsonl")]
    assert [r["epoch"] for r in rows] == [1, 2] and rows == history.epochs
    lines = open(tmp_path / "h.csv").read().splitlines()
    assert lines[0].split(",")[:3] == ["epoch", "loss", "accuracy"] and len(lines) == 3


def test_early_stopping_stops_and_restores_the_best_weights(digits):
    train, test = digits
    model = _mlp()
    seen = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append({k: v.copy() for k, v in model.state_dict().items()})

    # lr far too high: validation loss gets worse after the first epochs, so patience runs out
    stop = EarlyStopping(monitor="val_loss", patience=1)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=3.0))
    history = trainer.fit(train, epochs=30, batch_size=50, val=test, callbacks=[Record(), stop], verbose=False)
    assert stop.stopped_epoch is not None and len(history.epochs) < 30
    best = int(numpy.nanargmin(numpy.array(history["val_loss"], dtype=float)))
    assert stop.best_epoch == best
    for k, v in model.state_dict().items():
        numpy.testing.assert_array_equal(v, seen[best][k], err_msg=k)


def test_terminate_on_nan_names_the_step(capsys):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((200, 4)).astype(numpy.float32)
    data = ArrayDataset(x, (x @ numpy.ones((4, 1), numpy.float32)))
    model = nn.Sequential(nn.Linear(4, 1, rng=0))
    stopper = TerminateOnNaN()
    # lr 5 on unit-variance inputs: each step multiplies the error by about -4, so it overflows
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=5.0), loss_fn=gk.functional.mse_loss, metrics=(),
                      on_nonfinite="warn")   # the default stops first: see tests/badinput
    with numpy.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="loss became inf"):
        trainer.fit(data, epochs=100, batch_size=20, callbacks=[stopper], verbose=False)
    assert 10 < trainer.global_step < 100 * 10
    assert f"at step {trainer.global_step} " in stopper.message and "loss became" in stopper.message
    assert "TerminateOnNaN" in capsys.readouterr().err


def test_gradient_clipping_bounds_the_norm():
    rng = numpy.random.default_rng(0)
    data = ArrayDataset(rng.standard_normal((64, 4)).astype(numpy.float32) * 100, rng.integers(0, 3, 64))
    model = nn.Sequential(nn.Linear(4, 3, rng=0))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.01), clip_grad_norm=1.0)
    logs = trainer.train_step(*next(iter(gk.data.DataLoader(data, batch_size=64))))
    total = numpy.sqrt(sum(float((p.grad.data ** 2).sum()) for p in model.parameters()))
    assert logs["grad_norm"] > 1.0 and total == pytest.approx(1.0, rel=1e-5)


def test_lr_scheduler_callback_steps_per_epoch(digits):
    train, _ = digits
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = Trainer(model, opt).fit(train.subset(numpy.arange(100)), epochs=3, batch_size=50, verbose=False,
                                      callbacks=[LRSchedulerCallback(optim.StepLR(opt, step_size=1, gamma=0.5))])
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_bad_arguments_are_named():
    model = _mlp()
    with pytest.raises(ValueError, match="clip_grad_norm must be > 0"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1), clip_grad_norm=0)
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1)).fit([], batch_size=0)


def test_default_shuffling_follows_manual_seed():
    orders = []
    for seed in (3, 3, 4):
        gk.manual_seed(seed)
        model = nn.Sequential(nn.Linear(1, 1, rng=0))
        trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), rng=None)
        data = ArrayDataset(numpy.arange(20, dtype=numpy.float32).reshape(20, 1))
        loader = gk.data.DataLoader(data, batch_size=20, shuffle=True, rng=trainer.rng)
        orders.append(next(iter(loader))[0].data.ravel().tolist())
    assert orders[0] == orders[1] != orders[2]
