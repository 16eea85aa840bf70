"""Through a real process: no traceback end to end; and the runs that must not lose an earlier run's files."""
import json
import os
import subprocess
import sys

import numpy
import pytest

from badinput_helpers import earlier_run, run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _process(args, env=None, cwd=None):
    environment = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=120)


@pytest.mark.parametrize("args, words", [
    (["-m", "gradkit.cli", "train", "--epochs", "0"], "argument --epochs"),
    (["-m", "gradkit.cli", "doctor", "--model", "custom:activation=bogus"], "unknown activation 'bogus'"),
    (["-m", "gradkit.demo", "--seed", "-1"], "argument --seed"),
])
def test_no_traceback_from_a_real_process(tmp_path, args, words):
    done = _process(args, cwd=tmp_path)
    assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr
    assert os.listdir(tmp_path) == []


def test_gradkit_debug_shows_the_traceback_of_a_real_process(tmp_path):
    done = _process(["-m", "gradkit.cli", "lab", "report", str(tmp_path)], env={"GRADKIT_DEBUG": "1"})
    assert done.returncode == 2 and "Traceback" in done.stderr and "no experiment results" in done.stderr.splitlines()[-1]


def test_a_failing_fresh_run_keeps_the_earlier_runs_files(tmp_path):
    """The issue's case: a fresh run with lr 1e9 into a folder holding a good run. It stops at the first
    NaN (exit 2, naming epoch, step and op) and every file of the earlier run is still there, unchanged.
    (Adam bounds its step by lr: at 1e9 its loss is huge but finite, so SGD makes the NaN here.)"""
    files = earlier_run(tmp_path / "run")
    code, _, err = run_cli(["train", "--lr", "1e9", "--optimizer", "sgd", "--epochs", "1", "--out", tmp_path / "run"])
    assert code == 2 and "loss became nan at epoch 1" in err and ".forward produced NaN" in err
    assert "Traceback" not in err
    for name, data in files.items():
        assert (tmp_path / "run" / name).read_bytes() == data, name
    assert not (tmp_path / "run" / ".gradkit.lock").exists()     # the lock goes with the run


def test_resume_with_a_new_lr_says_so_and_trains_at_it(tmp_path):
    from gradkit.train import checkpoint as ckpt
    earlier_run(tmp_path / "run", epoch=0)
    code, out, err = run_cli(["train", "--resume", "--lr", "0.0005", "--epochs", "1", "--batch-size", "100",
                              "--out", tmp_path / "run"])
    assert code == 0, err
    assert "resuming with lr=0.0005" in out and "lr=0.0005 for 1 epochs" in out
    state = ckpt.load(tmp_path / "run" / "last.safetensors")
    assert state["optimizer"]["param_groups"][0]["lr"] == 0.0005 and state["epoch"] == 1
    history = [json.loads(line) for line in open(tmp_path / "run" / "history.jsonl")]
    assert [r["epoch"] for r in history] == [1] and history[0]["lr"] == 0.0005
