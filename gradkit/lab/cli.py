"""``gradkit lab list | run NAME... | run all | report DIR``."""
from __future__ import annotations

import sys

from ..argtypes import existing_folder, natural, out_folder, positive_int


def register(verbs) -> None:
    lab = verbs.add_parser("lab", help="reproduce the classic experiments with figures and checked verdicts")
    sub = lab.add_subparsers(dest="lab_verb", required=True)
    listing = sub.add_parser("list", help="every experiment, one line each")
    listing.set_defaults(handler=_list)
    run = sub.add_parser("run", help="run experiments: names, or 'all'")
    run.add_argument("names", nargs="+", metavar="NAME", help="experiment names (see `gradkit lab list`) or 'all'")
    run.add_argument("--quick", action="store_true", help="the ~10x cheaper variant (verdicts still meaningful)")
    run.add_argument("--out", type=out_folder, default="lab-runs", help="folder for figures, results.json and report.html")
    run.add_argument("--seed", type=natural, default=0)
    run.add_argument("--data", default=None, help="data set for experiments that train on one: "
                                                 "mnist-10k (default), fashion-mnist or mnist")
    run.add_argument("--threads", type=natural, default=1,
                     help="BLAS threads (default 1: the lab's networks are small, and spinning BLAS threads "
                          "slow down several-fold on a busy machine; 0 leaves the library's default)")
    # several seeds (issue 20): each claim decided over the seeds, the runs spread over worker processes
    run.add_argument("--seeds", default=None, metavar="N|S,S,...",
                     help="run each experiment once per seed: N seeds from --seed on, or a list such as 0,3,7; "
                          "a claim PASSES when it held in at least 80%% of them")
    run.add_argument("--workers", type=positive_int, default=1, metavar="K",
                     help="worker processes for --seeds (results do not depend on K; default 1)")
    run.set_defaults(handler=_run)
    report = sub.add_parser("report", help="(re)build report.html from a folder of runs")
    report.add_argument("folder", type=existing_folder)
    report.set_defaults(handler=_report)


def _list(args) -> int:
    from . import registry
    for name in registry.names():
        exp = registry.get(name)
        print(f"{exp.order:3d}  {name:24s} {exp.title}")
    return 0


def _run(args) -> int:
    from . import registry
    from .runner import run_many
    from ..errors import ArgumentError
    names = list(dict.fromkeys(n for name in args.names for n in (registry.names() if name == "all" else [name])))
    unknown = [name for name in names if name not in registry.names()]
    if unknown:  # every unknown name, before anything runs
        raise ArgumentError(f"no lab experiment called {', '.join(map(repr, unknown))}; "
                            f"known: all, {', '.join(registry.names())}")
    if args.data is not None:
        from ..data import datasets
        datasets.get_spec(args.data)
    _check_earlier_results(args.out, names)
    from ..threads import num_threads
    if args.seeds is not None:
        from .seeds import parse_seeds, run_seeds
        try:
            seeds = parse_seeds(args.seeds, args.seed)
        except ValueError as err:
            print(f"gradkit lab: {err}", file=sys.stderr)
            return 2
        if len(seeds) > 1:
            with num_threads(args.threads or None):
                outcomes = run_seeds(names, args.out, seeds, size="quick" if args.quick else "full", data=args.data,
                                     workers=args.workers, threads=args.threads or None, bars=sys.stderr.isatty())
            return _summary(outcomes)
        args.seed = seeds[0]
    with num_threads(args.threads or None):
        outcomes = run_many(names, args.out, size="quick" if args.quick else "full", seed=args.seed,
                            data=args.data, bars=sys.stderr.isatty())
    return _summary(outcomes)


def _summary(outcomes) -> int:
    failed = [o.name for o in outcomes if not o.passed]
    total = sum(o.seconds for o in outcomes)
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} experiments pass every check in {total:.0f} s"
          + (f"; FAIL: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _check_earlier_results(out: str, names) -> None:
    """The report at the end reads every results.json in OUT: a damaged one of an experiment this
    command does not rerun fails now, not after the runs."""
    import json
    import os

    from ..errors import FileError
    for entry in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        path = os.path.join(out, entry, "results.json")
        if entry not in names and os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as f:
                    json.load(f)
            except (ValueError, UnicodeDecodeError) as err:
                raise FileError(f"{path} is not valid JSON ({err}); rerun that experiment or remove "
                                "its folder") from None


def _report(args) -> int:
    from .report import write_report
    print(write_report(args.folder))
    return 0
