"""Worker processes for ``DataLoader(num_workers=N)``: each batch is built in a child process.

Batch k goes to worker k mod N with its indices and the epoch's seed; the worker builds it exactly as
the loader would in-process (the same gather, transform and per-batch generator, seeded by
(seed, k)), and the parent hands batches out in order. So ``num_workers`` changes where batches are
made, never which. Workers start with the "fork" method where the platform has it (the dataset is
inherited, not copied through a pipe), else "spawn" (the dataset and functions must then pickle).
Batches come back through a multiprocessing queue, i.e. pickled between gradkit's own processes;
nothing from outside is ever unpickled.
"""
from __future__ import annotations

import multiprocessing
import queue
import traceback

import numpy


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _work(make_batch, worker_id, seed, worker_init_fn, tasks, results):
    """A worker's loop: (run, k, indices, seed) in, (run, k, batch or error) out, until None arrives.

    ``run`` numbers the loader's passes, so batches of an abandoned pass are recognised and dropped."""
    from .. import backend
    backend.manual_seed(int(numpy.random.SeedSequence([seed, worker_id]).generate_state(1)[0]))
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as error:  # reported with the first batch this worker is given
        failure = (error, traceback.format_exc())
    else:
        failure = None
    while True:
        task = tasks.get()
        if task is None:
            return
        run, k, indices, batch_seed = task
        if failure is not None:
            results.put((run, k, None, failure))
            continue
        try:
            rng = None if batch_seed is None else numpy.random.default_rng([batch_seed, k])
            results.put((run, k, make_batch(indices, rng), None))
        except Exception as error:
            results.put((run, k, None, (error, traceback.format_exc())))


class WorkerPool:
    """``num_workers`` processes that build batches with ``make_batch(indices, rng)``."""

    def __init__(self, make_batch, num_workers: int, seed: int, worker_init_fn=None, timeout: float = 0):
        ctx = _context()
        self.timeout = timeout if timeout and timeout > 0 else None
        self.run_id = 0
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(num_workers)]
        self.processes = [ctx.Process(target=_work, args=(make_batch, i, seed, worker_init_fn, self.tasks[i],
                                                          self.results), daemon=True)
                          for i in range(num_workers)]
        for process in self.processes:
            process.start()

    def run(self, batches, seed, prefetch: int):
        """Yield the batches for ``batches`` (a list of (k, indices)) in order, ``prefetch`` in flight per worker."""
        n = len(self.processes)
        self.run_id += 1
        pending, ready, sent = list(batches), {}, 0
        limit = max(1, prefetch) * n
        for position, (k, _) in enumerate(pending):
            while sent < len(pending) and sent - position < limit:
                task_k, indices = pending[sent]
                self.tasks[task_k % n].put((self.run_id, task_k, indices, seed))
                sent += 1
            while k not in ready:
                try:
                    run, got_k, batch, failure = self.results.get(timeout=self.timeout)
                except queue.Empty:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} s waiting for batch {k} "
                                       "from its workers") from None
                if run != self.run_id:
                    continue
                if failure is not None:
                    error, text = failure
                    raise type(error)(f"{error} (in DataLoader worker {got_k % n}, batch {got_k}; its traceback:\n"
                                      f"{text})") if _rebuildable(error) else RuntimeError(
                        f"DataLoader worker {got_k % n} failed on batch {got_k}:\n{text}")
                ready[got_k] = batch
            yield ready.pop(k)

    def close(self) -> None:
        for tasks in self.tasks:
            tasks.put(None)
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        self.processes = []


def _rebuildable(error) -> bool:
    try:
        type(error)("probe")
        return True
    except Exception:
        return False
