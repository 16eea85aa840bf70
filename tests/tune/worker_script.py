"""A tune worker for the multi-process tests: ``python worker_script.py JOB.json LOG GO``.

It waits for the file GO (so the test starts every worker at once), then runs ``gradkit.tune.work``
with the real objective wrapped to append ``start N PID`` / ``end N PID VALUE`` lines to LOG: an
account of every execution kept outside the database, to compare with what the database says.
"""
import json
import os
import sys
import time

from gradkit.tune import Job, Objective, Setup, work


def main(job_path: str, log_path: str, go_path: str) -> None:
    with open(job_path) as f:
        job = Job(**json.load(f))
    objective = Objective(Setup(**job.setup))

    def log(line: str) -> None:
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, (line + "\n").encode())   # one write of a short line: whole under O_APPEND
        os.close(fd)

    def logged(params, number, report):
        log(f"start {number} {os.getpid()}")
        value = objective(params, number, report)
        log(f"end {number} {os.getpid()} {value!r}")
        return value

    log(f"ready - {os.getpid()}")
    deadline = time.monotonic() + 60
    while not os.path.exists(go_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    work(job, objective=logged)


if __name__ == "__main__":
    main(*sys.argv[1:4])
