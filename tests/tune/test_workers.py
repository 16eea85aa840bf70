"""Several worker processes on one study, on SQLite and on a real PostgreSQL server (see conftest.py).

The workers are real processes running ``gradkit.tune.work`` (worker_script.py); they log every
trial they start and end to a file of their own, which is checked against the database.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from gradkit import tune  # noqa: E402
from gradkit.tune.search import open_study  # noqa: E402
from gradkit.tune.space import space_to_json  # noqa: E402

SCRIPT = Path(__file__).with_name("worker_script.py")
SPACE = {"lr": tune.LogUniform(1e-3, 1e-1), "weight_decay": tune.LogUniform(1e-8, 1e-4)}


def make_job(url, trials, setup, **kw) -> tune.Job:
    options = dict(url=url, study="shared", trials=trials, space=space_to_json(SPACE), setup=tune.Setup(**setup).to_json(),
                   sampler="random", prune=False, heartbeat=1, grace=3)
    return tune.Job(**{**options, **kw})


def start_workers(job, folder: Path, n: int):
    """n worker processes, released together once all have started; returns them and their log."""
    open_study(job)   # tables and study exist before the workers race to use them
    (folder / "job.json").write_text(json.dumps(job.__dict__))
    log, go = folder / "trials.log", folder / "go"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(SCRIPT), str(folder / "job.json"), str(log), str(go)], env=env)
             for _ in range(n)]
    deadline = time.monotonic() + 60
    while len(events(log, "ready")) < n:
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs), "a worker died while starting"
        time.sleep(0.05)
    go.touch()
    return procs, log


def events(log: Path, kind: str) -> list:
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(r[1], int(r[2])) + tuple(r[3:]) for r in rows if r[0] == kind]


def load(job):
    return optuna.load_study(study_name=job.study, storage=tune.open_storage(job.url, job.heartbeat, job.grace))


def test_two_workers_run_every_requested_trial_exactly_once(storage, tmp_path):
    job = make_job(storage, 12, dict(samples=120, epochs=3, depth=1, width=16, batch_size=16))
    procs, log = start_workers(job, tmp_path, 2)
    assert [p.wait(timeout=180) for p in procs] == [0, 0]
    starts, ends = events(log, "start"), events(log, "end")
    assert sorted(int(n) for n, _ in starts) == list(range(12))      # each trial started once, none twice
    assert sorted(int(n) for n, _, _ in ends) == list(range(12))     # ... and finished
    assert len({pid for _, pid, _ in ends}) == 2                     # both workers shared the work
    trials = load(job).trials
    assert [t.number for t in trials] == list(range(12))             # exactly the requested number
    assert all(t.state.name == "COMPLETE" for t in trials)
    logged = {int(n): float(v) for n, _, v in ends}
    assert {t.number: t.value for t in trials} == pytest.approx(logged)
    assert len({(t.params["lr"], t.params["weight_decay"]) for t in trials}) == 12   # workers sample apart


def test_a_worker_killed_mid_trial_leaves_the_study_usable(storage, tmp_path):
    # the kill must land while the trial runs: it aims at epochs 1-80 of 100, a window wide enough
    # for a 20 ms poll on a loaded machine (epochs 1-10 of 20 were missed once in a full suite run)
    job = make_job(storage, 4, dict(samples=300, epochs=100, depth=2, width=64, batch_size=20))
    procs, log = start_workers(job, tmp_path, 2)
    victim, survivor = procs
    study = load(job)
    deadline, killed = time.monotonic() + 120, None
    while killed is None:
        assert time.monotonic() < deadline, "the victim never got into a trial"
        mine = [int(n) for n, pid in events(log, "start") if pid == victim.pid]
        if mine:
            t = next(t for t in study.get_trials(deepcopy=False) if t.number == mine[-1])
            if 1 <= len(t.intermediate_values) <= 80:     # trained an epoch or more, far from done
                os.kill(victim.pid, signal.SIGKILL)
                killed = mine[-1]
        time.sleep(0.02)
    victim.wait(timeout=30)
    assert survivor.wait(timeout=240) == 0
    assert all(int(n) != killed for n, _, _ in events(log, "end"))  # it really died inside the trial

    deadline = time.monotonic() + 30
    while study.trials[killed].state.name == "RUNNING":   # its heartbeat stops; after the grace period: FAIL
        assert time.monotonic() < deadline, "the killed trial was never marked failed"
        tune.sweep_stale(study)
        time.sleep(0.5)
    states = {t.number: t.state.name for t in study.trials}
    assert states == {n: ("FAIL" if n == killed else "COMPLETE") for n in range(4)}
    starts = sorted(int(n) for n, _ in events(log, "start"))
    assert starts == list(range(4))                                  # the others ran once each, none lost

    # the study goes on: two more trials, in this process, on the same storage
    ran = tune.work(tune.Job(**{**job.__dict__, "trials": 6}), objective=lambda params, number, report: 0.5)
    assert ran == 2
    assert [t.state.name for t in load(job).trials][4:] == ["COMPLETE", "COMPLETE"]
    if storage.startswith("sqlite"):
        with sqlite3.connect(storage[len("sqlite:///"):]) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_search_with_two_local_worker_processes(tmp_path):
    setup = tune.Setup(samples=60, epochs=2, depth=1, width=8, batch_size=16)
    study = tune.search(SPACE, setup, trials=6, sampler="tpe", workers=2, out=str(tmp_path), heartbeat=1, grace=3)
    trials = study.trials
    assert [t.number for t in trials] == list(range(6))
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) >= 1
    assert (tmp_path / "study.db").exists()
