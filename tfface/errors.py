"""Errors that tell the user which file or flag is wrong and how to fix it."""


class TfFaceError(ValueError):
    """Base class of the errors raised for bad user input."""


class DataError(TfFaceError):
    """A data source, file or sampler setting cannot be used as given."""


class ConfigError(TfFaceError):
    """A combination of flags cannot work."""


class StorageError(TfFaceError):
    """A file could not be written (e.g. the disk is full)."""


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or Inf loss."""


class NonFiniteStateError(NonFiniteLossError):
    """Weights or statistics became NaN or Inf (checked before a checkpoint or an export is written)."""
