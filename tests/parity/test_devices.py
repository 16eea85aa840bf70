"""Devices, honestly: the CPU works as in torch; any other device is a clear RuntimeError."""
from __future__ import annotations

import pytest
import torch

import gradkit as gk


def test_cpu_device_objects_behave_like_torchs():
    for m in (torch, gk):
        d = m.device("cpu")
        assert d.type == "cpu" and d.index is None and str(d) == "cpu"
        assert m.ones(2).device == d == m.device("cpu")
        assert m.device("cpu:0").index == 0
        x = m.ones(2, device="cpu")
        assert x.to("cpu") is x and x.cpu() is x and x.to(d) is x
        assert x.to(d, m.float64).dtype == m.float64
        assert m.zeros(2, device=d).device.type == "cpu"


def test_availability_questions_answer_false():
    assert gk.cuda.is_available() is False
    assert gk.accelerator.is_available() is False
    assert gk.backends.mps.is_available() is False
    device = gk.device("cuda" if gk.cuda.is_available() else "cpu")   # the usual torch idiom
    assert gk.ones(1).to(device).device == device


@pytest.mark.parametrize("ask", [
    lambda: gk.device("cuda"),
    lambda: gk.device("cuda:0"),
    lambda: gk.device("mps"),
    lambda: gk.ones(2).cuda(),
    lambda: gk.ones(2).to("cuda"),
    lambda: gk.ones(2).to(0),
    lambda: gk.zeros(2, device="cuda"),
    lambda: gk.tensor([1.0], device="cuda:1"),
    lambda: gk.randn(2, device="mps"),
])
def test_other_devices_are_a_clear_error(ask):
    with pytest.raises(RuntimeError, match="CPU only"):
        ask()


def test_unknown_device_strings_are_refused_as_torch():
    for m in (torch, gk):
        with pytest.raises(RuntimeError):
            m.device("gpu")
