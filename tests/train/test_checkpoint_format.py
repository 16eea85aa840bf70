"""gradkit.save / gradkit.load (safetensors + JSON), PyTorch interop, and gradkit 0.1's .npz checkpoints."""
import json
import os
import struct

import numpy
import pytest

import gradkit as gk
from gradkit import nn, optim
from gradkit.data import ArrayDataset
from gradkit.errors import CheckpointError
from gradkit.serialization import decode, encode
from gradkit.train import Trainer
from gradkit.train import checkpoint as ckpt

DATA = os.path.join(os.path.dirname(__file__), "data")


def _mlp(seed=0):
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 8, rng=seed), nn.ReLU(), nn.Linear(8, 3, rng=seed + 1))


def test_nested_state_round_trips_with_types_and_dtypes(tmp_path):
    state = {"t": gk.tensor([[1.5, -2.0]]), "a": numpy.arange(6, dtype=numpy.int64).reshape(2, 3),
             "half": numpy.ones(3, numpy.float16), "mask": numpy.array([True, False]), "u8": numpy.arange(4, dtype=numpy.uint8),
             "f64": numpy.array(numpy.pi), "nested": [{"lr": 0.1, "betas": (0.9, 0.999)}, None, "name"],
             "by_index": {0: {"step": 3, "m": gk.zeros(2)}}, "big": 2 ** 100, "inf": float("inf")}
    back = gk.load(gk.save(state, tmp_path / "state.pt"))
    assert isinstance(back["t"], gk.Tensor) and back["t"].dtype == numpy.float32
    numpy.testing.assert_array_equal(back["t"].data, state["t"].data)
    for key in ("a", "half", "mask", "u8", "f64"):
        assert isinstance(back[key], numpy.ndarray) and back[key].dtype == state[key].dtype, key
        numpy.testing.assert_array_equal(back[key], state[key])
    assert back["nested"] == [{"lr": 0.1, "betas": (0.9, 0.999)}, None, "name"]
    assert back["by_index"][0]["step"] == 3 and isinstance(back["by_index"][0]["m"], gk.Tensor)
    assert back["big"] == 2 ** 100 and back["inf"] == float("inf")


def test_torch_style_save_then_load_state_dict(tmp_path):
    model, twin = _mlp(0), _mlp(5)
    gk.save(model.state_dict(), tmp_path / "m.pt")
    twin.load_state_dict(gk.load(tmp_path / "m.pt"))
    x = gk.randn(5, 4, rng=0)
    numpy.testing.assert_array_equal(twin(x).data, model(x).data)
    assert open(tmp_path / "m.pt", "rb").read(9)[8:9] == b"{"      # safetensors, not a pickle


def test_the_file_is_standard_safetensors():
    data = encode({"w": numpy.arange(3, dtype=numpy.float32), "b": numpy.zeros((2, 0))}, {"k": "v"})
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    assert n % 8 == 0 and header["__metadata__"] == {"k": "v"}
    assert header["w"] == {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}
    assert header["b"] == {"dtype": "F64", "shape": [2, 0], "data_offsets": [12, 12]}
    assert data[8 + n:] == numpy.arange(3, dtype="<f4").tobytes()
    arrays, meta = decode(data)
    assert meta == {"k": "v"} and arrays["b"].shape == (2, 0)


def test_interop_with_pytorch_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    st.save_file(reference.state_dict(), str(tmp_path / "torch.safetensors"))
    twin = _mlp(3)
    twin.load_state_dict(gk.load(tmp_path / "torch.safetensors"))
    x = numpy.random.default_rng(0).standard_normal((6, 4)).astype(numpy.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    numpy.testing.assert_allclose(twin(gk.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)
    # and back: a gradkit file read by safetensors' own reader into a torch model
    mine = _mlp(7)
    gk.save(mine.state_dict(), tmp_path / "gradkit.pt")
    fresh = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    fresh.load_state_dict(st.load_file(str(tmp_path / "gradkit.pt")))
    with torch.no_grad():
        numpy.testing.assert_allclose(fresh(torch.from_numpy(x)).numpy(), mine(gk.tensor(x)).data, rtol=1e-5, atol=1e-6)


def test_gradkit_0_1_npz_checkpoints_still_load():
    """legacy-v1.npz was written by gradkit 0.1's Trainer.save (2 epochs, Adam) before the format changed."""
    model = _mlp()
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.01), rng=0)
    trainer.load(os.path.join(DATA, "legacy-v1.npz"))
    with numpy.load(os.path.join(DATA, "legacy-v1-weights.npz")) as weights:
        for key, value in model.state_dict().items():
            numpy.testing.assert_array_equal(numpy.asarray(getattr(value, "data", value)), weights[key])
    assert trainer.epoch == 2 and trainer.global_step == 8


def test_a_resumed_checkpoint_continues_bit_for_bit(tmp_path):
    rng = numpy.random.default_rng(0)
    data = ArrayDataset(rng.standard_normal((40, 4)).astype(numpy.float32), rng.integers(0, 3, 40))

    def run(epochs, resume=None):
        model = _mlp()
        trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.01), rng=0)
        trainer.fit(data, epochs=epochs, batch_size=10, verbose=False, resume=resume,
                    callbacks=[gk.train.Checkpoint(str(tmp_path), save_best=False)])
        return {k: numpy.array(getattr(v, "data", v)) for k, v in model.state_dict().items()}

    straight = run(3)
    os.remove(tmp_path / "last.safetensors")
    run(1)
    resumed = run(3, resume=tmp_path / "last.safetensors")
    for key in straight:
        numpy.testing.assert_array_equal(resumed[key], straight[key], err_msg=key)


def test_a_plain_state_dict_is_not_taken_for_a_trainer_checkpoint(tmp_path):
    gk.save(_mlp().state_dict(), tmp_path / "weights.safetensors")
    with pytest.raises(CheckpointError, match="weights.safetensors: a safetensors file but not a gradkit checkpoint"):
        ckpt.load(tmp_path / "weights.safetensors")
