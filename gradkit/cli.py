"""The ``gradkit`` command: one verb per floor (demo, data, train, lab, doctor, tune).

Every verb reports bad input the same way: gradkit's own errors (gradkit.errors) and bad options
print one line on stderr naming the argument or file and what is wrong, and exit with status 2.
``--debug`` (anywhere on the line) or ``GRADKIT_DEBUG=1`` shows the traceback as well. Any other
exception is a bug in gradkit: its traceback is printed (it is what a bug report needs), followed
by a line saying so, and the exit status is 1.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback

from .argtypes import natural, positive_int


def _demo(args) -> int:
    from .demo import run
    run(steps=args.steps, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradkit", description="Learn, run, measure and debug neural-network training.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (or GRADKIT_DEBUG=1)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    demo = verbs.add_parser("demo", help="train a small network with the engine and print its loss")
    demo.add_argument("--steps", type=positive_int, default=2000)
    demo.add_argument("--seed", type=natural, default=0)
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


def debugging(argv: list) -> bool:
    """Whether ``--debug`` is on the line or GRADKIT_DEBUG is set (to anything but 0/empty)."""
    return "--debug" in argv or os.environ.get("GRADKIT_DEBUG", "") not in ("", "0")


def guarded(run, argv: list, prog: str = "gradkit") -> int:
    """Call ``run()``; turn gradkit's errors into one line on stderr and status 2, Ctrl-C into 130,
    and a bug into its traceback plus a line saying so (status 1). Every entry point goes through here."""
    from .errors import GradkitError
    try:
        return run()
    except GradkitError as err:
        if debugging(argv):
            traceback.print_exc()
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - a bug: keep everything a report needs
        traceback.print_exc()
        print(f"{prog}: internal error ({type(err).__name__}): this is a bug in gradkit, not in your input; "
              "please report it with the traceback above", file=sys.stderr)
        return 1


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = [a for a in argv if a != "--debug"]   # accepted after the verb too
    args = build_parser().parse_args(rest)
    prog = "gradkit " + " ".join(filter(None, (args.verb, getattr(args, f"{args.verb}_verb", None))))
    return guarded(lambda: args.handler(args), argv, prog)


if __name__ == "__main__":
    sys.exit(main())
