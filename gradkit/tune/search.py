"""Run a search: samplers, the worker loop, and N local worker processes on one storage.

    >>> from gradkit import tune
    >>> study = tune.search({"lr": tune.LogUniform(1e-6, 1e-2), "weight_decay": tune.LogUniform(1e-8, 1e-4)},
    ...                     tune.Setup(), trials=100, sampler="tpe", out="runs/tune")
    >>> study.best_trial.params

Every worker, on any machine, loops: under the study's lock (:mod:`gradkit.tune.lock`) count the
study's trials and, while fewer than requested, create the next one; then train it outside the
lock, beating a heartbeat, and report its validation accuracy. So N requested trials run exactly
once each, however many workers share the study, and a rerun of the same command resumes it.
"""
from __future__ import annotations

import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from .lock import StudyLock
from .objective import Objective, Setup, check_parameters
from .space import parse_space, space_to_json, suggest
from .storage import GRACE_S, HEARTBEAT_S, default_study_name, open_storage, quiet_optuna, storage_url, sweep_stale

SAMPLERS = ("random", "tpe", "gp")


def make_sampler(name: str, seed: int):
    """``random`` (the book's method), ``tpe`` (Bayesian, tree-structured Parzen estimator) or ``gp``
    (Bayesian, Gaussian process; Optuna needs torch and scipy for it)."""
    import optuna
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "gp":
        from ..errors import require   # Optuna's GPSampler imports them lazily; fail here, clearly
        for module in ("scipy", "torch"):
            require(module, "gp", "tune's gp sampler (or use --sampler tpe)")
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"tune: unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")


def make_pruner(prune: bool, warmup: int):
    """Optuna's MedianPruner: stop a trial whose accuracy at an epoch is below the median of earlier
    trials at that epoch (after 5 trials and ``warmup`` epochs); NopPruner when ``prune`` is False."""
    import optuna
    if not prune:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)


@dataclass(frozen=True)
class Job:
    """What a worker process needs, as plain data (it crosses a process boundary)."""
    url: str | None
    study: str
    trials: int
    space: dict
    setup: dict
    sampler: str = "tpe"
    seed: int = 0
    prune: bool = True
    warmup: int = 5
    heartbeat: int = HEARTBEAT_S
    grace: int = GRACE_S

    def __post_init__(self):
        if not isinstance(self.trials, int) or self.trials < 1:
            raise ValueError(f"tune: trials must be an int >= 1, got {self.trials!r}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"tune: unknown sampler {self.sampler!r}; choose one of {', '.join(SAMPLERS)}")


class _Lock:
    """The study's lock; a process-local one for an in-memory study."""

    def __init__(self, job: Job):
        self._study = StudyLock(job.url, job.study) if job.url is not None else None
        self._local = threading.Lock()

    def hold(self):
        return self._study.hold() if self._study is not None else self._local

    def close(self):
        if self._study is not None:
            self._study.close()


class _Heartbeat:
    """Records the trial's heartbeat every ``interval`` seconds while the block runs."""

    def __init__(self, storage, trial_id: int, interval: float):
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self._stop.wait(self.interval):
            self.storage.record_heartbeat(self.trial_id)

    def __enter__(self):
        if hasattr(self.storage, "record_heartbeat"):
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def counted(trial) -> bool:
    """Whether a trial counts towards the requested number (a Ctrl-C'd one does not: it is redone)."""
    return not trial.user_attrs.get("interrupted", False)


def open_study(job: Job, storage=None):
    """Create the study or join it, checking that it searches the same space with the same set-up."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = storage if storage is not None else open_storage(job.url, job.heartbeat, job.grace)
    study = optuna.create_study(storage=storage, study_name=job.study, direction="maximize", load_if_exists=True,
                                sampler=make_sampler(job.sampler, job.seed),
                                pruner=make_pruner(job.prune, job.warmup))
    for key, mine in (("space", job.space), ("setup", job.setup)):
        stored = study.user_attrs.get(f"gradkit_{key}")
        if stored is None:
            study.set_user_attr(f"gradkit_{key}", mine)
        elif stored != mine:
            raise ValueError(f"tune: study {job.study!r} was created with {key} {stored}; this run asks for {mine}. "
                             "Use the same one, or another --study name")
    return study, storage


def work(job: Job, objective=None, on_trial=None, study=None, storage=None) -> int:
    """One worker: run trials of ``job.study`` until it holds ``job.trials``; returns how many it ran.

    ``objective(params, trial_number, report) -> value`` defaults to ``Objective(Setup(**job.setup))``;
    ``on_trial(frozen_trial)`` is called after each trial this worker finishes. ``study`` and
    ``storage``: an open study to work in (an in-memory one must be, being in no database)."""
    import numpy
    if study is None:
        study, storage = open_study(job)
    space = parse_space(job.space)
    objective = objective if objective is not None else Objective(Setup(**job.setup))
    lock = _Lock(job)
    study_id = storage.get_study_id_from_name(job.study)
    ran = 0
    try:
        with lock.hold():   # a worker index unique in the study seeds this worker's sampler
            index = study.user_attrs.get("gradkit_workers", 0)
            study.set_user_attr("gradkit_workers", index + 1)
        seed = int(numpy.random.SeedSequence([job.seed, index]).generate_state(1)[0]) if index else job.seed
        study.sampler = make_sampler(job.sampler, seed)
        while True:
            sweep_stale(study)
            with lock.hold():
                if sum(map(counted, storage.get_all_trials(study_id, deepcopy=False))) >= job.trials:
                    break
                with quiet_optuna():
                    trial = study.ask()
                # first beat inside the lock: a trial with no heartbeat at all could never be found stale
                if hasattr(storage, "record_heartbeat"):
                    storage.record_heartbeat(trial._trial_id)
            trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
            with _Heartbeat(storage, trial._trial_id, job.heartbeat):
                frozen = _run_trial(study, trial, space, objective)
            ran += 1
            if on_trial is not None and frozen is not None:
                on_trial(frozen)
        sweep_stale(study)
    finally:
        lock.close()
    return ran


def _run_trial(study, trial, space, objective):
    import optuna
    state = optuna.trial.TrialState
    pruned = []

    def report(epoch, value):
        trial.report(value, epoch)
        if trial.should_prune():
            pruned.append(epoch)
            return True
        return False

    try:
        params = suggest(space, trial)
        value = objective(params, trial.number, report)
    except KeyboardInterrupt:
        trial.set_user_attr("interrupted", True)
        study.tell(trial, state=state.FAIL)
        raise
    except BaseException:
        study.tell(trial, state=state.FAIL)
        raise
    try:
        return study.tell(trial, state=state.PRUNED) if pruned else study.tell(trial, value)
    except optuna.exceptions.UpdateFinishedTrialError:
        # another worker took this trial for dead (its heartbeat was late) and failed it
        print(f"tune: trial {trial.number} finished after it was marked FAIL as stale; raise --grace", file=sys.stderr)
        return None


def _work_in_process(job_dict: dict) -> None:
    work(Job(**job_dict))


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def child_blas_threads(n: int):
    """Processes started in this block get ``cpu_count // n`` BLAS threads each, unless the environment
    already says how many: n processes each running one BLAS thread per core slow one another many
    times over (measured: a 20-epoch trial took 28 s instead of 1.3 s beside another busy process)."""
    saved = {k: os.environ.get(k) for k in BLAS_THREADS}
    threads = str(max(1, (os.cpu_count() or 1) // n))
    try:
        for k in BLAS_THREADS:   # children read the environment when they start
            os.environ.setdefault(k, threads)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)


def start_workers(job: Job, n: int) -> list:
    """Start ``n`` worker processes (spawned: no connection or thread is inherited) on ``job``."""
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_work_in_process, args=(asdict(job),), name=f"gradkit-tune-{i}")
                 for i in range(n)]
    with child_blas_threads(n):
        for p in processes:
            p.start()
    return processes


def finished(study) -> int:
    """How many trials of ``study`` have ended (complete, pruned or failed)."""
    return sum(t.state.is_finished() for t in study.get_trials(deepcopy=False) if counted(t))


def search(space: dict, setup: Setup = Setup(), *, trials: int, sampler: str = "tpe", storage: str | None = None,
           study: str | None = None, workers: int = 1, seed: int = 0, prune: bool = True, warmup: int | None = None,
           out: str | None = None, progress: bool = False, objective=None, heartbeat: int = HEARTBEAT_S,
           grace: int = GRACE_S):
    """Search ``space`` for the hyperparameters of ``setup`` with the best validation accuracy.

    Args:
        space: name -> LogUniform / Uniform / Int / Categorical (or their JSON forms).
        setup: the model, data and training of every trial (:class:`Setup`).
        trials: the study's total trial count (a rerun with a larger number continues it).
        sampler: ``random``, ``tpe`` or ``gp``.
        storage: a SQLAlchemy URL or a file path; None: ``OUT/study.db``, or memory without ``out``.
        study: the study's name (default ``MODEL-DATA``); the same name on the same storage joins it.
        workers: local worker processes sharing the storage (needs a storage, not memory).
        prune: stop a trial early when the median pruner says so; ``warmup``: epochs it never prunes
            (default: a fifth of the epochs).
        objective: a callable ``(params, trial_number, report) -> value`` instead of ``Objective(setup)``
            (one in-process worker only).
        heartbeat, grace: seconds between heartbeats; silence after which a trial is taken for dead.

    Returns:
        The Optuna study.
    """
    space = parse_space(space)
    if objective is None:
        check_parameters(space)
    if workers < 1:
        raise ValueError(f"tune: workers must be >= 1, got {workers}")
    url = storage_url(storage, out)
    if workers > 1 and url is None:
        raise ValueError("tune: several workers need a storage they share (a file or a database URL), not memory")
    if workers > 1 and objective is not None:
        raise ValueError("tune: a custom objective runs in one in-process worker; leave workers at 1")
    warmup = max(1, setup.epochs // 5) if warmup is None else warmup
    job = Job(url=url, study=study or default_study_name(setup), trials=trials, space=space_to_json(space),
              setup=setup.to_json(), sampler=sampler, seed=seed, prune=prune, warmup=warmup, heartbeat=heartbeat,
              grace=grace)
    the_study, shared_storage = open_study(job)
    bar = _progress(job, finished(the_study)) if progress else None
    try:
        if workers == 1:
            work(job, objective, on_trial=lambda t: _tick(bar, the_study), study=the_study, storage=shared_storage)
        else:
            _supervise(job, start_workers(job, workers), the_study, bar)
    finally:
        if bar is not None:
            bar.close()
    return the_study


def _progress(job: Job, done: int):
    from tqdm import tqdm
    return tqdm(total=job.trials, initial=min(done, job.trials), desc=f"{job.study} ({job.sampler})", unit="trial",
                file=sys.stderr, dynamic_ncols=True)


def _tick(bar, study) -> None:
    if bar is None:
        return
    bar.n = min(finished(study), bar.total)
    try:
        bar.set_postfix(best=f"{study.best_value:.4f}")
    except ValueError:    # no complete trial yet
        pass
    bar.refresh()


def _supervise(job: Job, processes: list, study, bar) -> None:
    """Wait for the workers, ticking the bar; a worker that died leaves its trial to the stale sweep."""
    try:
        while any(p.is_alive() for p in processes):
            time.sleep(0.5)
            _tick(bar, study)
    except KeyboardInterrupt:
        for p in processes:   # they got the same Ctrl-C: each marks its trial interrupted and stops
            p.join()
        raise
    dead = [(p.name, p.exitcode) for p in processes if p.exitcode != 0]
    if dead:
        print(f"tune: worker(s) ended abnormally: {', '.join(f'{n} (exit code {c})' for n, c in dead)}",
              file=sys.stderr)
        if any(t.state.name == "RUNNING" for t in study.get_trials(deepcopy=False)):
            print(f"tune: waiting {job.grace} s (--grace) for their trials' heartbeats to go stale", file=sys.stderr)
            time.sleep(job.grace)   # then mark them FAIL
            sweep_stale(study)
    _tick(bar, study)
