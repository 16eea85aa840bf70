"""Argument types for the command line: each checks its value when the arguments are parsed, so a
bad option stops the command before any work starts or any file is touched (argparse then names
the option and exits with status 2)."""
from __future__ import annotations

import argparse
import math
import os


def _number(text: str, kind, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _number(text, int, "an integer >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def natural(text: str) -> int:
    """An integer >= 0 (seeds, counts that may be zero)."""
    value = _number(text, int, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates, times)."""
    value = _number(text, float, "a finite number > 0")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value:g}")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = _number(text, float, "a number between 0 and 1")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1, got {value:g}")
    return value


def out_folder(text: str) -> str:
    """A folder to write into: it may not exist yet, but it may not be a file (nor lie under one)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a folder, got an empty string")
    path = os.path.abspath(text)
    while path and not os.path.exists(path):
        path = os.path.dirname(path) if os.path.dirname(path) != path else ""
    if path and not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder ({path} is a file)")
    return text


def existing_file(text: str) -> str:
    """A file that exists and is readable."""
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such file: {text!r}" if not os.path.exists(text)
                                         else f"{text!r} is not a file")
    return text


def existing_folder(text: str) -> str:
    """A folder that exists."""
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"no such folder: {text!r}" if not os.path.exists(text)
                                         else f"{text!r} is not a folder")
    return text
