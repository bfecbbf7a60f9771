"""Error types that the command line reports as one line and exit code 2."""


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
