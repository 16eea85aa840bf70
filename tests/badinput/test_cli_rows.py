"""Bad input on the command line: one row per case, every verb. Each row gives the command, what
to prepare, the words the one-line error must hold, the exit status, and which files must survive
byte for byte. All run in-process and fail before any training (see test_subprocess for end to end)."""
import json
import os
import sys

import pytest

from badinput_helpers import earlier_run, run_cli

pytest.importorskip("optuna")


# ----------------------------------------------------------------------------- preparations
def _file(tmp):
    path = tmp / "a-file"
    path.write_text("not a folder")
    return {}


def _run(tmp):
    return earlier_run(tmp / "run")


def _run_with(**changes):
    return lambda tmp: earlier_run(tmp / "run", **changes)


def _damage(how):
    def prepare(tmp):
        earlier_run(tmp / "run")
        path = tmp / "run" / "last.safetensors"
        data = path.read_bytes()
        path.write_bytes({"garbage": b"this is not a checkpoint", "truncate": data[: len(data) // 2],
                          "empty": b""}[how])
        return {name: (tmp / "run" / name).read_bytes() for name in os.listdir(tmp / "run")}
    return prepare


def _no_state(tmp):
    from gradkit.serialization import write_file
    files = earlier_run(tmp / "run")
    write_file(tmp / "run" / "last.safetensors", {}, {"gradkit-checkpoint": "2", "gradkit": json.dumps({"__dict__": [["model", {"__dict__": []}]]})})
    return {k: v for k, v in files.items() if k != "last.safetensors"}


def _locked(tmp):
    files = earlier_run(tmp / "run")
    (tmp / "run" / ".gradkit.lock").write_text(f"{os.getpid()} {__import__('socket').gethostname()}\n")
    return files


def _bad_results(tmp):
    folder = tmp / "lab" / "zero-init"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text("{not json")
    return {"lab/zero-init/results.json": b"{not json"}


def _space(text):
    def prepare(tmp):
        (tmp / "space.json").write_text(text)
        return {}
    return prepare


def _partial_data(tmp):
    from gradkit.data import datasets
    folder = tmp / "root" / "fashion-mnist"
    folder.mkdir(parents=True)
    for spec in datasets.get_spec("fashion-mnist").files[:-1]:
        (folder / spec.name).write_bytes(b"")
    return {}


def _nothing(tmp):
    return {}


# ----------------------------------------------------------------------------- the table
T = "{tmp}"
TRAIN = ["train", "--epochs", "1", "--out", f"{T}/run"]
TUNE = ["tune", "--samples", "60", "--epochs", "1", "--trials", "1", "--out", f"{T}/tune"]
ROWS = [
    # id, argv, prepare, words in stderr, exit status
    ("train-data-unknown", TRAIN + ["--data", "nope"], _run, ["--data", "'nope'"], 2),
    ("train-epochs-negative", TRAIN + ["--epochs", "-1"], _run, ["--epochs", "-1"], 2),
    ("train-epochs-zero", TRAIN + ["--epochs", "0"], _run, ["--epochs", ">= 1"], 2),
    ("train-epochs-fraction", TRAIN + ["--epochs", "1.5"], _run, ["--epochs", "'1.5'"], 2),
    ("train-batch-size-zero", TRAIN + ["--batch-size", "0"], _run, ["--batch-size"], 2),
    ("train-lr-negative", TRAIN + ["--lr", "-0.1"], _run, ["--lr", "> 0"], 2),
    ("train-lr-zero", TRAIN + ["--lr", "0"], _run, ["--lr", "> 0"], 2),
    ("train-lr-nan", TRAIN + ["--lr", "nan"], _run, ["--lr"], 2),
    ("train-lr-text", TRAIN + ["--lr", "fast"], _run, ["--lr", "'fast'"], 2),
    ("train-seed-negative", TRAIN + ["--seed", "-1"], _run, ["--seed"], 2),
    ("train-out-is-a-file", ["train", "--out", f"{T}/a-file"], _file, ["--out", "a-file", "is a file"], 2),
    ("train-out-under-a-file", ["train", "--out", f"{T}/a-file/run"], _file, ["--out", "is a file"], 2),
    ("train-model-unknown", TRAIN + ["--model", "resnet"], _run, ["--model", "'resnet'"], 2),
    ("train-optimizer-unknown", TRAIN + ["--optimizer", "adamm"], _run, ["--optimizer", "'adamm'"], 2),
    ("train-on-nonfinite-unknown", TRAIN + ["--on-nonfinite", "ignore"], _run, ["--on-nonfinite"], 2),
    ("train-resume-nothing", TRAIN + ["--resume"], _nothing, ["--resume", "last.safetensors does not exist"], 2),
    ("train-resume-other-model", TRAIN + ["--resume", "--model", "mlp-100x4"], _run,
     ["last.safetensors", "does not fit the model", "shape"], 2),
    ("train-resume-other-batch-size", TRAIN + ["--resume", "--batch-size", "50"], _run,
     ["last.safetensors", "batch size 100", "this run has 50"], 2),
    ("train-resume-other-optimizer", TRAIN + ["--resume", "--optimizer", "sgd"], _run,
     ["last.safetensors", "optimizer Adam", "uses SGD"], 2),
    ("train-resume-garbage", TRAIN + ["--resume"], _damage("garbage"), ["last.safetensors", "not a valid safetensors"], 2),
    ("train-resume-truncated", TRAIN + ["--resume"], _damage("truncate"), ["last.safetensors", "not a valid safetensors"], 2),
    ("train-resume-empty", TRAIN + ["--resume"], _damage("empty"), ["last.safetensors", "0 bytes"], 2),
    ("train-resume-epoch-text", TRAIN + ["--resume"], _run_with(epoch="abc"), ["last.safetensors", "'epoch' is 'abc'"], 2),
    ("train-resume-epoch-negative", TRAIN + ["--resume"], _run_with(epoch=-3), ["'epoch' is -3"], 2),
    ("train-resume-no-state", TRAIN + ["--resume"], _no_state, ["last.safetensors", "no 'epoch' entry", "no 'optimizer' entry"], 2),
    ("train-out-locked", TRAIN, _locked, ["is in use by process", str(os.getpid()), ".gradkit.lock"], 2),
    ("lab-unknown-after-all", ["lab", "run", "all", "nope", "--out", f"{T}/lab"], _nothing, ["'nope'"], 2),
    ("lab-two-unknown", ["lab", "run", "nope1", "zero-init", "nope2", "--out", f"{T}/lab"], _nothing, ["'nope1'", "'nope2'"], 2),
    ("lab-out-is-a-file", ["lab", "run", "zero-init", "--out", f"{T}/a-file"], _file, ["--out", "is a file"], 2),
    ("lab-seed-negative", ["lab", "run", "zero-init", "--seed", "-1"], _nothing, ["--seed"], 2),
    ("lab-threads-negative", ["lab", "run", "zero-init", "--threads", "-2"], _nothing, ["--threads"], 2),
    ("lab-data-unknown", ["lab", "run", "zero-init", "--data", "cifar", "--out", f"{T}/lab"], _nothing, ["'cifar'"], 2),
    ("lab-earlier-results-damaged", ["lab", "run", "optimizer-paths", "--quick", "--out", f"{T}/lab"], _bad_results,
     ["zero-init", "results.json is not valid JSON"], 2),
    ("lab-report-missing", ["lab", "report", f"{T}/nowhere"], _nothing, ["no such folder", "nowhere"], 2),
    ("lab-report-a-file", ["lab", "report", f"{T}/a-file"], _file, ["is not a folder"], 2),
    ("lab-report-damaged", ["lab", "report", f"{T}/lab"], _bad_results, ["results.json is not valid JSON"], 2),
    ("lab-report-empty", ["lab", "report", f"{T}"], _nothing, ["no experiment results"], 2),
    ("doctor-activation-bogus", ["doctor", "--model", "custom:activation=bogus", "--out", f"{T}/doc"], _nothing,
     ["--model", "activation 'bogus'"], 2),
    ("doctor-optimizer-bogus", ["doctor", "--model", "custom:optimizer=bogus", "--out", f"{T}/doc"], _nothing,
     ["optimizer 'bogus'"], 2),
    ("doctor-field-not-int", ["doctor", "--model", "custom:depth=abc", "--out", f"{T}/doc"], _nothing, ["depth", "'abc'"], 2),
    ("doctor-field-unknown", ["doctor", "--model", "custom:colour=red", "--out", f"{T}/doc"], _nothing, ["colour=red"], 2),
    ("doctor-scenario-unknown", ["doctor", "--model", "resnet-9000", "--out", f"{T}/doc"], _nothing, ["'resnet-9000'"], 2),
    ("doctor-out-is-a-file", ["doctor", "--model", "deep-sigmoid", "--out", f"{T}/a-file"], _file, ["--out", "is a file"], 2),
    ("doctor-run-without-script", ["doctor", "run"], _nothing, ["run SCRIPT"], 2),
    ("doctor-script-missing", ["doctor", "run", f"{T}/nope.py"], _nothing, ["no such script"], 2),
    ("doctor-steps-zero", ["doctor", "--model", "deep-sigmoid", "--steps", "0"], _nothing, ["--steps"], 2),
    ("doctor-seed-negative", ["doctor", "--model", "deep-sigmoid", "--seed", "-5"], _nothing, ["--seed"], 2),
    ("tune-lr-text", TUNE + ["--lr", "abc"], _nothing, ["--lr", "'abc'", "not a number"], 2),
    ("tune-lr-zero-low", TUNE + ["--lr", "0:1"], _nothing, ["--lr", "must be a number > 0"], 2),
    ("tune-lr-bad-scale", TUNE + ["--lr", "1e-3:1e-1:cubic"], _nothing, ["--lr", "scale"], 2),
    ("tune-momentum-above-one", TUNE + ["--momentum", "0.5:1.5"], _nothing, ["--momentum", "[0, 1)"], 2),
    ("tune-param-batch-size-zero", TUNE + ["--param", "batch_size=0:64:int"], _nothing, ["--param batch_size", ">= 1"], 2),
    ("tune-param-unknown", TUNE + ["--param", "colour=red,blue"], _nothing, ["unknown hyperparameter", "'colour'"], 2),
    ("tune-param-no-equals", TUNE + ["--param", "width"], _nothing, ["--param expects NAME=RANGE"], 2),
    ("tune-narrow-negative", TUNE + ["--narrow", "-2"], _nothing, ["--narrow"], 2),
    ("tune-space-missing", TUNE + ["--space", f"{T}/missing.json"], _nothing, ["--space", "missing.json"], 2),
    ("tune-space-not-json", TUNE + ["--space", f"{T}/space.json"], _space("{lr: 1"), ["space.json is not valid JSON"], 2),
    ("tune-space-bad-value", TUNE + ["--space", f"{T}/space.json"], _space('{"lr": "a,b"}'), ["space: lr", "'a'"], 2),
    ("tune-trials-zero", TUNE + ["--trials", "0"], _nothing, ["--trials"], 2),
    ("tune-workers-zero", TUNE + ["--workers", "0"], _nothing, ["--workers"], 2),
    ("tune-val-fraction", TUNE + ["--val-fraction", "1.5"], _nothing, ["--val-fraction"], 2),
    ("tune-samples-negative", TUNE + ["--samples", "-1"], _nothing, ["--samples"], 2),
    ("tune-samples-one", TUNE + ["--samples", "1"], _nothing, ["samples must be >= 2"], 2),
    ("tune-data-unknown", TUNE + ["--data", "nope"], _nothing, ["--data", "'nope'"], 2),
    ("tune-optimizer-unknown", TUNE + ["--optimizer", "adamm"], _nothing, ["--optimizer"], 2),
    ("tune-out-is-a-file", ["tune", "--out", f"{T}/a-file"], _file, ["--out", "is a file"], 2),
    ("data-download-root-a-file", ["data", "download", "fashion-mnist", "--root", f"{T}/a-file"], _file,
     ["--root", "is a file"], 2),
    ("data-info-unknown", ["data", "info", "cifar"], _nothing, ["'cifar'"], 2),
    ("data-folder-missing-a-file", ["data", "info", "fashion-mnist", "--root", f"{T}/root", "--check"], _partial_data,
     ["fashion-mnist", "lacks t10k-labels-idx1-ubyte.gz"], 2),
    ("demo-seed-negative", ["demo", "--seed", "-1"], _nothing, ["--seed"], 2),
    ("demo-steps-zero", ["demo", "--steps", "0"], _nothing, ["--steps"], 2),
    ("no-verb", [], _nothing, ["required"], 2),
    ("unknown-verb", ["fly"], _nothing, ["invalid choice", "'fly'"], 2),
]


@pytest.mark.parametrize("argv, prepare, words, status", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input_is_one_line_naming_it(tmp_path, monkeypatch, argv, prepare, words, status):
    monkeypatch.chdir(tmp_path)            # defaults like runs/train land here, never in the repository
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("GRADKIT_MIRRORS", "http://127.0.0.1:9/")      # a download fails at once
    survive = prepare(tmp_path)
    before = sorted(os.listdir(tmp_path))
    code, out, err = run_cli([a.replace(T, str(tmp_path)) for a in argv])
    assert code == status, (out, err)
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    for name, data in survive.items():
        assert (tmp_path / "run" / name if "/" not in name else tmp_path / name).read_bytes() == data, name
    if argv and argv[0] in ("tune", "doctor", "lab", "demo"):
        assert sorted(os.listdir(tmp_path)) == before      # nothing created before the error: no study, no folder


def test_the_gp_sampler_names_its_missing_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)        # as if SciPy were not installed
    code, _, err = run_cli(TUNE[:-1] + [str(tmp_path / "tune"), "--sampler", "gp"])
    assert code == 2 and "'scipy'" in err and "pip install 'gradkit[gp]'" in err
    assert not (tmp_path / "tune").exists()


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    code, _, err = run_cli(["--debug", "lab", "report", str(tmp_path)])
    assert code == 2 and "Traceback" in err and "no experiment results" in err
    monkeypatch.setenv("GRADKIT_DEBUG", "1")
    code, _, err = run_cli(["lab", "report", str(tmp_path)])
    assert code == 2 and "Traceback" in err


def test_a_bug_is_not_dressed_as_bad_input(monkeypatch):
    """An exception that is not gradkit's own keeps its traceback and says it is a bug (status 1)."""
    import gradkit.demo
    monkeypatch.setattr(gradkit.demo, "run", lambda **kw: {}["missing"])
    code, _, err = run_cli(["demo"])
    assert code == 1 and "Traceback" in err and "KeyError" in err and "internal error" in err and "bug" in err
