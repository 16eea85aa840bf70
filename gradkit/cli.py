"""The ``gradkit`` command: one verb per floor (demo now; lab, train, doctor, tune, data, bench as they land)."""
from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from .demo import run
    run(steps=args.steps, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradkit", description="Learn, run, measure and debug neural-network training.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    demo = verbs.add_parser("demo", help="train a small network with the engine and print its loss")
    demo.add_argument("--steps", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo)
    for register in _extensions():
        register(verbs)
    return parser


def _extensions():
    """``register(subparsers)`` functions of the floors that add verbs of their own."""
    import importlib
    import importlib.util

    registers = []
    for floor in ("data", "train", "lab", "doctor", "tune"):
        module = f"gradkit.{floor}.cli"
        if importlib.util.find_spec(f"gradkit.{floor}") is None or importlib.util.find_spec(module) is None:
            continue                      # a floor that has not landed yet adds no verb
        registers.append(importlib.import_module(module).register)
    return registers


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
