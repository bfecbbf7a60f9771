"""Error types that the command line reports as one line and exit code 2."""

from __future__ import annotations

from typing import Any, NoReturn


def describe(err: BaseException) -> str:
    """`TypeName: first line of its message`, for a one-line error wrapping a library's."""
    text = str(err)
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}"


class AsapError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""


class ConfigError(AsapError, ValueError):
    """An unknown, mistyped or out-of-range configuration value."""


class DataError(AsapError):
    """A dataset that cannot be found or read."""


class RunDirError(AsapError):
    """A run directory that is missing or does not hold what is needed."""


class CheckpointError(AsapError):
    """A checkpoint that is missing, corrupt or does not fit the model."""


class GenotypeError(AsapError, ValueError):
    """A genotype that is malformed or does not fit the search space."""


def fail_config(path: str, rule: str, value: Any) -> NoReturn:
    """Raises the standard config error: `a.b.key RULE. Received: key=value`."""
    key = path.rsplit(".", 1)[-1]
    raise ConfigError(f"{path} {rule}. Received: {key}={value!r}")
