"""Bad input through the API: one row per call, each with the error type and the words it must say."""
import os
import struct

import numpy
import pytest

import gradkit as gk
from gradkit import nn, optim
from gradkit.data import ArrayDataset, idx
from gradkit.data.atomic import FolderLock
from gradkit.errors import (ArgumentError, CheckpointError, DataError, FileError, FolderLockedError, GradkitError,
                            MissingDependencyError, MissingFileError, NonFiniteError, require)
from gradkit.serialization import decode, encode
from gradkit.train import Trainer
from gradkit.train import checkpoint as ckpt


def _trainer(**kw):
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
    return Trainer(model, optim.SGD(model.parameters(), lr=0.1), rng=0, **kw)


def _data(n=40, x=None):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype(numpy.float32) if x is None else x
    return ArrayDataset(x, rng.integers(0, 3, n))


def _safetensors(header: dict, payload=b"", raw_header=None):
    import json
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + payload


def _idx(dims, code=0x08, payload=b""):
    return struct.pack(f">HBB{len(dims)}I", 0, code, len(dims), *dims) + payload


def _trainer_state(**changes):
    state = _trainer().state_dict()
    state.update(changes)
    for key in [k for k, v in changes.items() if v is DELETE]:
        del state[key]
    return state


DELETE = object()

# id, call, error type, words
ROWS = [
    ("fit-epochs-fraction", lambda: _trainer().fit(_data(), epochs=1.5, verbose=False), ArgumentError, ["epochs", "1.5"]),
    ("fit-epochs-bool", lambda: _trainer().fit(_data(), epochs=True, verbose=False), ArgumentError, ["epochs"]),
    ("fit-epochs-negative", lambda: _trainer().fit(_data(), epochs=-1, verbose=False), ArgumentError, ["epochs", "-1"]),
    ("fit-batch-size-zero", lambda: _trainer().fit(_data(), batch_size=0, verbose=False), ArgumentError, ["batch_size"]),
    ("fit-batch-size-float", lambda: _trainer().fit(_data(), batch_size=8.0, verbose=False), ArgumentError, ["batch_size"]),
    ("fit-empty-data", lambda: _trainer().fit(_data(0), verbose=False), DataError, ["no batch", "0 samples"]),
    ("fit-nan-inputs", lambda: _trainer().fit(_data(x=numpy.where(numpy.arange(160).reshape(40, 4) == 37, numpy.nan,
                                                                  numpy.ones((40, 4), numpy.float32))),
                                              batch_size=40, shuffle=False, verbose=False),
     NonFiniteError, ["epoch 1, batch 1", "step 1", "the input batch", "1 non-finite", "sample 9"]),
    ("trainer-on-nonfinite-unknown", lambda: _trainer(on_nonfinite="ignore"), ArgumentError, ["on_nonfinite", "'ignore'"]),
    ("checkpoint-no-epoch", lambda: ckpt.validate_run_state(_trainer_state(epoch=DELETE), "c"), CheckpointError,
     ["c: not a usable", "no 'epoch' entry"]),
    ("checkpoint-epoch-text", lambda: ckpt.validate_run_state(_trainer_state(epoch="abc"), "c"), CheckpointError,
     ["'epoch' is 'abc'"]),
    ("checkpoint-epoch-float", lambda: ckpt.validate_run_state(_trainer_state(epoch=1.5), "c"), CheckpointError,
     ["'epoch' is 1.5"]),
    ("checkpoint-model-not-dict", lambda: ckpt.validate_run_state(_trainer_state(model=[1]), "c"), CheckpointError,
     ["'model' is a list"]),
    ("checkpoint-not-a-dict", lambda: ckpt.validate_run_state([1, 2], "c"), CheckpointError, ["not a Trainer checkpoint"]),
    ("checkpoint-rng-incomplete", lambda: ckpt.validate_run_state(_trainer_state(rng={}), "c"), CheckpointError, ["'rng'"]),
    ("save-a-set", lambda: gk.save({"s": {1, 2}}, "/tmp/never-written.pt"), CheckpointError, ["set", "/s", "never pickle"]),
    ("save-tuple-key", lambda: gk.save({(1, 2): 3}, "/tmp/never-written.pt"), CheckpointError, ["(1, 2)", "keys must be"]),
    ("save-object-array", lambda: gk.save({"a": numpy.array([{}], dtype=object)}, "/tmp/never-written.pt"),
     CheckpointError, ["'a'", "dtype object"]),
    ("save-into-missing-folder", lambda: gk.save({}, "/nonexistent-folder/m.pt"), CheckpointError,
     ["/nonexistent-folder", "does not exist"]),
    ("load-missing", lambda: gk.load("/nonexistent-folder/m.pt"), CheckpointError, ["m.pt", "no such file"]),
    ("safetensors-short", lambda: decode(b"\x01\x00", "f"), CheckpointError, ["f:", "2 bytes"]),
    ("safetensors-huge-header", lambda: decode(struct.pack("<Q", 2 ** 63) + b"{}", "f"), CheckpointError, ["header length"]),
    ("safetensors-header-past-end", lambda: decode(struct.pack("<Q", 100) + b"{}", "f"), CheckpointError, ["exceeds the file"]),
    ("safetensors-not-json", lambda: decode(_safetensors({}, raw_header=b"{oops"), "f"), CheckpointError, ["not JSON"]),
    ("safetensors-not-utf8", lambda: decode(_safetensors({}, raw_header=b"\xff\xfe"), "f"), CheckpointError, ["not JSON"]),
    ("safetensors-json-list", lambda: decode(_safetensors([1]), "f"), CheckpointError, ["JSON list"]),
    ("safetensors-duplicate-key", lambda: decode(_safetensors({}, raw_header=b'{"a": 1, "a": 2}'), "f"), CheckpointError,
     ["duplicate keys"]),
    ("safetensors-bad-metadata", lambda: decode(_safetensors({"__metadata__": {"k": 1}}), "f"), CheckpointError,
     ["__metadata__"]),
    ("safetensors-unknown-dtype", lambda: decode(_safetensors({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}},
                                                              bytes(16)), "f"), CheckpointError, ["'F128'"]),
    ("safetensors-bf16", lambda: decode(_safetensors({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}},
                                                     bytes(2)), "f"), CheckpointError, ["BF16", "F32"]),
    ("safetensors-negative-shape", lambda: decode(_safetensors({"w": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 0]}}),
                                                  "f"), CheckpointError, ["shape [-1]"]),
    ("safetensors-offsets-outside", lambda: decode(_safetensors({"w": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}},
                                                                bytes(4)), "f"), CheckpointError, ["outside the 4 bytes"]),
    ("safetensors-shape-vs-bytes", lambda: decode(_safetensors({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
                                                               bytes(8)), "f"), CheckpointError, ["needs 12 bytes", "span 8"]),
    ("safetensors-overlap", lambda: decode(_safetensors({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                                                         "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}},
                                                        bytes(6)), "f"), CheckpointError, ["inside the previous tensor"]),
    ("safetensors-hole", lambda: decode(_safetensors({"a": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}},
                                                     bytes(4)), "f"), CheckpointError, ["unused"]),
    ("safetensors-trailing", lambda: decode(_safetensors({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}},
                                                         bytes(5)), "f"), CheckpointError, ["3 trailing bytes"]),
    ("safetensors-extra-field", lambda: decode(_safetensors({"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0],
                                                                   "x": 1}}), "f"), CheckpointError, ["exactly dtype"]),
    ("idx-huge-dims", lambda: idx.parse_idx(_idx([2 ** 32 - 1] * 4, payload=bytes(16)), "big.idx"), DataError,
     ["big.idx", "truncated", "4294967295x4294967295"]),
    ("idx-huge-dims-float64", lambda: idx.parse_idx(_idx([2 ** 31] * 3, code=0x0E), "f64.idx"), DataError,
     ["f64.idx", "truncated"]),
    ("idx-zero-and-huge", lambda: idx.parse_idx(_idx([0] + [2 ** 32 - 1] * 3), "zero.idx"), DataError, ["zero.idx"]),
    ("idx-bad-magic", lambda: idx.parse_idx(b"\x01\x02\x08\x01" + bytes(8), "m.idx"), DataError, ["m.idx", "magic"]),
    ("idx-missing-file", lambda: idx.read_idx("/nonexistent/train.idx"), DataError, ["/nonexistent/train.idx", "cannot read"]),
    ("dataset-unknown", lambda: gk.data.datasets.get_spec("cifar"), ArgumentError, ["'cifar'", "known"]),
    ("require-missing", lambda: require("no_such_module_gradkit", "gp", "the gp sampler"), MissingDependencyError,
     ["'no_such_module_gradkit'", "pip install 'gradkit[gp]'"]),
    ("tune-space-missing-file", lambda: gk.tune.load_space("/nonexistent/space.json"), MissingFileError,
     ["/nonexistent/space.json", "no such file"]),
    ("lab-report-missing-folder", lambda: __import__("gradkit.lab.report", fromlist=["x"]).load_runs("/nonexistent/lab"),
     MissingFileError, ["/nonexistent/lab"]),
]


@pytest.mark.parametrize("call, error, words", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_api_input_raises_a_gradkit_error_naming_it(call, error, words):
    with numpy.errstate(all="ignore"), pytest.raises(error) as info:
        call()
    assert isinstance(info.value, GradkitError)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {str(info.value)!r}"


def test_gradkit_errors_are_still_the_builtin_kinds_callers_catch():
    assert issubclass(ArgumentError, ValueError) and issubclass(DataError, ValueError)
    assert issubclass(CheckpointError, ValueError) and issubclass(MissingFileError, FileNotFoundError)
    assert issubclass(MissingDependencyError, ImportError) and issubclass(FolderLockedError, OSError)
    assert issubclass(DataError, FileError) and gk.data.DataError is DataError and gk.train.CheckpointError is CheckpointError


# ----------------------------------------------------------------------------- no silent NaN
def test_a_diverging_fit_stops_before_the_bad_step_naming_the_op():
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((200, 4)).astype(numpy.float32)
    model = nn.Sequential(nn.Linear(4, 1, rng=0))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=5.0), loss_fn=gk.functional.mse_loss, metrics=())
    with numpy.errstate(all="ignore"), pytest.raises(NonFiniteError) as info:
        trainer.fit(ArrayDataset(x, x @ numpy.ones((4, 1), numpy.float32)), epochs=100, batch_size=20, verbose=False)
    message = str(info.value)
    assert f"step {trainer.global_step + 1})" in message and "produced" in message and ".forward" in message
    assert all(numpy.isfinite(p.data).all() for p in model.parameters())      # the bad step was not taken


def test_on_nonfinite_warn_trains_on_with_one_warning():
    trainer = _trainer(on_nonfinite="warn")
    x = numpy.full((40, 4), numpy.nan, numpy.float32)
    with numpy.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="the input batch") as caught:
        trainer.fit(_data(x=x), epochs=2, batch_size=10, verbose=False)
    assert trainer.global_step == 8 and sum("the input batch" in str(w.message) for w in caught) == 1


def test_nan_data_keeps_the_last_finite_checkpoint(tmp_path):
    good = _data()
    trainer = _trainer()
    trainer.fit(good, epochs=1, batch_size=10, verbose=False, callbacks=[gk.train.Checkpoint(str(tmp_path), monitor="loss")])
    before = {name: (tmp_path / name).read_bytes() for name in ("last.safetensors", "best.safetensors")}
    x = good.arrays[0].copy()
    x[25, 2] = numpy.inf
    bad = ArrayDataset(x, good.arrays[1])
    resumed = _trainer()
    with numpy.errstate(all="ignore"), pytest.raises(NonFiniteError, match="epoch 2"):
        resumed.fit(bad, epochs=3, batch_size=10, verbose=False, resume=tmp_path / "last.safetensors",
                    callbacks=[gk.train.Checkpoint(str(tmp_path), monitor="loss")])
    for name, data in before.items():
        assert (tmp_path / name).read_bytes() == data, name


def test_checkpoint_never_writes_nonfinite_weights_and_best_ignores_nan(tmp_path):
    trainer = _trainer()
    callback = gk.train.Checkpoint(str(tmp_path), monitor="val_loss")
    callback.trainer = trainer
    callback.on_epoch_end(0, {"val_loss": 1.0, "loss": 1.0})
    before = (tmp_path / "best.safetensors").read_bytes()
    callback.on_epoch_end(1, {"val_loss": float("nan"), "loss": 1.0})     # NaN is not "better"
    assert callback.best == 1.0 and (tmp_path / "best.safetensors").read_bytes() == before
    trainer.model[0].weight.data[0, 0] = numpy.nan
    with pytest.warns(RuntimeWarning, match="non-finite weights"):
        callback.on_epoch_end(2, {"val_loss": 0.5, "loss": 0.5})          # better, but the weights are NaN
    assert callback.best == 1.0 and (tmp_path / "best.safetensors").read_bytes() == before
    assert ckpt.all_finite(ckpt.load(tmp_path / "last.safetensors")["model"])


# ----------------------------------------------------------------------------- EarlyStopping as Keras
@pytest.mark.parametrize("patience", [0, 1, 3])
def test_early_stopping_stops_after_patience_epochs_without_improvement(patience):
    """Keras: 'Number of epochs with no improvement after which training will be stopped.'"""
    trainer = _trainer()
    stopper = gk.train.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=False)
    stopper.trainer = trainer
    losses = [1.0, 0.5] + [0.9] * 10
    for epoch, value in enumerate(losses):
        stopper.on_epoch_end(epoch, {"val_loss": value})
        if trainer.stop_training:
            break
    # the best epoch is 1; with patience p the p-th epoch after it without improvement is the last (p=0: the first)
    assert stopper.stopped_epoch == 1 + max(patience, 1)


# ----------------------------------------------------------------------------- one writer per folder
def test_a_folder_lock_refuses_a_second_writer_and_takes_over_a_stale_one(tmp_path):
    import subprocess
    import sys
    with FolderLock(tmp_path, "first"):
        with pytest.raises(FolderLockedError, match=f"in use by process {os.getpid()}"):
            FolderLock(tmp_path, "second").acquire()
    assert not (tmp_path / ".gradkit.lock").exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".gradkit.lock").write_text(f"{dead.stdout.strip()} {__import__('socket').gethostname()}\n")
    with FolderLock(tmp_path, "after a crash"):
        assert (tmp_path / ".gradkit.lock").read_text().split()[0] == str(os.getpid())
