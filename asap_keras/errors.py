"""Error types that the command line reports as one line and exit code 2."""

from __future__ import annotations

import reprlib
from typing import Any, NoReturn

QUOTE_LIMIT = 80


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


class _ShortRepr(reprlib.Repr):
    """`reprlib` limits on nesting and length, plus ints too long for `repr` (4300 digits)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = self.maxother = 2 * QUOTE_LIMIT  # `quote` cuts the rest at the end

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return repr(x)


_SHORT_REPR = _ShortRepr()


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """`repr(value)` in at most `limit` characters, cut with an ellipsis; one line.

    Example:
    >>> quote("x" * 1000, limit=10)
    "'xxxxxx..."
    """
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def fail_config(path: str, rule: str, value: Any) -> NoReturn:
    """Raises the standard config error: `a.b.key RULE. Received: key=value`.

    The value is quoted in at most `QUOTE_LIMIT` characters, so a huge value still gives
    a one-line message.
    """
    key = path.rsplit(".", 1)[-1]
    raise ConfigError(f"{path} {rule}. Received: {key}={quote(value)}")
