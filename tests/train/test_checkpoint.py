"""Checkpoints: safe format, atomic writes, mismatches named."""
import errno
import os

import numpy
import pytest

import gradkit as gk
from gradkit import nn, optim
from gradkit.train import CheckpointError, Trainer
from gradkit.data import atomic
from gradkit.train import checkpoint as ckpt


def _trainer(hidden=8, seed=0):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, hidden, rng=seed), nn.ReLU(), nn.Linear(hidden, 3, rng=seed + 1))
    return Trainer(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9))


def test_nested_state_round_trips_exactly(tmp_path):
    state = {"w": numpy.arange(6, dtype=numpy.float32).reshape(2, 3), "groups": [{"lr": 0.1, "betas": (0.9, 0.999)}],
             "by_index": {0: {"step": 3, "m": numpy.zeros(2)}}, "big": 2 ** 100, "none": None, "name": "x"}
    back = ckpt.load(ckpt.save(tmp_path / "c.safetensors", state))
    assert back["groups"] == [{"lr": 0.1, "betas": (0.9, 0.999)}] and back["big"] == 2 ** 100
    assert back["by_index"][0]["step"] == 3 and back["none"] is None and back["name"] == "x"
    assert back["w"].dtype == numpy.float32 and numpy.array_equal(back["w"], state["w"])


def test_objects_that_would_need_pickle_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="cannot save a set at /s"):
        ckpt.save(tmp_path / "c.safetensors", {"s": {1, 2}})
    assert list(tmp_path.iterdir()) == []


def test_a_pickled_npz_is_rejected(tmp_path):
    path = tmp_path / "evil.npz"
    numpy.savez(path, __meta__=numpy.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="evil.npz: not a readable gradkit checkpoint"):
        ckpt.load(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_file_is_named(tmp_path, damage):
    path = ckpt.save(tmp_path / "c.safetensors", {"w": numpy.ones(1000)})
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2] if damage == "truncate" else b"not a zip file at all")
    with pytest.raises(CheckpointError, match="c.safetensors"):
        ckpt.load(path)


def test_a_full_disk_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    trainer = _trainer()
    path = tmp_path / "last.safetensors"
    trainer.save(path)
    before = open(path, "rb").read()

    def full_disk(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "fsync_file", full_disk)      # the data does not reach the disk
    trainer.train_step(gk.randn(5, 4, rng=1), numpy.zeros(5, dtype=numpy.int64))
    with pytest.raises(OSError, match="No space left"):
        trainer.save(path)
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["last.safetensors"]       # no temporary file left behind
    monkeypatch.undo()
    _trainer().load(path)


def test_a_checkpoint_of_another_model_names_every_mismatch(tmp_path):
    path = _trainer(hidden=8).save(tmp_path / "c.safetensors")
    other = _trainer(hidden=5)
    with pytest.raises(CheckpointError) as info:
        other.load(path)
    message = str(info.value)
    for name in ("1.weight", "1.bias", "3.weight"):
        assert name in message
    assert "(8, 4)" in message and "(5, 4)" in message


def test_a_missing_or_unexpected_tensor_is_named(tmp_path):
    path = _trainer().save(tmp_path / "c.safetensors")
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 3))
    with pytest.raises(CheckpointError, match=r"missing: 5\.weight, 5\.bias"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1)).load(path)


def test_dtype_mismatch_is_named(tmp_path):
    path = _trainer().save(tmp_path / "c.safetensors")
    trainer = _trainer()
    trainer.model[1].weight.data = trainer.model[1].weight.data.astype(numpy.float64)
    with pytest.raises(CheckpointError, match=r"1\.weight: dtype float32 in the checkpoint, float64"):
        trainer.load(path)


def test_load_restores_weights_and_optimiser_state(tmp_path):
    trainer = _trainer()
    x, y = gk.randn(16, 4, rng=0), gk.Tensor(numpy.arange(16) % 3)
    for _ in range(3):
        trainer.train_step(x, y)
    trainer.save(tmp_path / "c.safetensors")
    fresh = _trainer(seed=7)
    fresh.load(tmp_path / "c.safetensors")
    a, b = trainer.train_step(x, y), fresh.train_step(x, y)    # momentum buffers restored: same next step
    assert a["loss"] == b["loss"]
    for (k, p), (_, q) in zip(trainer.model.named_parameters(), fresh.model.named_parameters()):
        numpy.testing.assert_array_equal(p.data, q.data, err_msg=k)
