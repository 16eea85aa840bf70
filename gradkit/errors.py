"""gradkit's own errors: what the user gave was wrong, not gradkit.

Every command catches :class:`GradkitError` in one place (``gradkit.cli.main``) and prints its
message on one line, exit status 2, without a traceback (``--debug`` or ``GRADKIT_DEBUG=1`` shows
it). Any other exception is a bug in gradkit and keeps its traceback. The subclasses also derive
from the builtin a caller would catch (``ValueError``, ``ImportError``), so existing ``except``
clauses keep working.
"""
from __future__ import annotations


class GradkitError(Exception):
    """Base of the errors caused by bad input: an argument, a file, data or a missing package."""


class ArgumentError(GradkitError, ValueError):
    """A bad argument or option; the message names it and what was expected."""


class FileError(GradkitError, ValueError):
    """A file or folder that is missing, of the wrong kind, unreadable or corrupt; the message names it."""


class MissingFileError(FileError, FileNotFoundError):
    """A file or folder that should exist does not."""


class DataError(FileError):
    """A data file or data set is missing, corrupt, truncated, empty or fails its checksum."""


class CheckpointError(FileError):
    """A checkpoint that cannot be read or does not fit what it is loaded into."""


class FolderLockedError(GradkitError, OSError):
    """Another process is writing into the same output folder."""


class NonFiniteError(GradkitError, FloatingPointError):
    """Training produced NaN or Inf (inputs, loss or weights); the message says where and when."""


class MissingDependencyError(GradkitError, ImportError):
    """An optional package is needed; the message names it and the command that installs it."""


def require(module: str, extra: str, why: str):
    """Import the optional ``module`` or raise MissingDependencyError naming ``pip install 'gradkit[extra]'``."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"{why} needs the package {module!r}, which is not installed; "
                                     f"install it with: pip install 'gradkit[{extra}]'") from None


__all__ = ["GradkitError", "ArgumentError", "FileError", "MissingFileError", "DataError", "CheckpointError", "FolderLockedError",
           "NonFiniteError", "MissingDependencyError", "require"]
