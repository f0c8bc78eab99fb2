"""tfface's messages — progress, warnings, summaries — go through Python's logging (logger ``tfface``, the
logging absl.logging is built on); a library user sees them with ``logging.basicConfig(level=logging.INFO)``.

Library messages name settings as arguments, in backticks (```batch_size=512``` , ```pk_k```); the programs
show them on stdout with each setting that is one of their flags written as the flag (``--batch_size=512``).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Container

LOGGER = logging.getLogger("tfface")
_SETTING = re.compile(r"`([a-z][a-z0-9_]*)(=[^`]*)?`")


def info(message: str) -> None:
    """Log ``message`` at INFO on the ``tfface`` logger."""
    LOGGER.info("%s", message)


def as_flags(message: str, flag_names: Container[str]) -> str:
    """``message`` as a program's user reads it: each `setting` / `setting=value` in backticks that names one
    of ``flag_names`` becomes ``--setting`` / ``--setting=value``; other backticked text stays as it is."""
    return _SETTING.sub(lambda m: f"--{m[1]}{m[2] or ''}" if m[1] in flag_names else m[0], message)


class _FlagNames(logging.Filter):
    def __init__(self, flag_names: Container[str]):
        super().__init__()
        self.flag_names = flag_names

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = as_flags(record.getMessage(), self.flag_names), ()
        return True


def show_on_stdout(flag_names: Container[str]) -> None:
    """What a program does: tfface's messages on stdout, plain, with settings written as its flags."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_FlagNames(flag_names))
    for old in [h for h in LOGGER.handlers if getattr(h, "tfface_program", False)]:
        LOGGER.removeHandler(old)
    handler.tfface_program = True
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


def program_error(err: BaseException, flag_names: Container[str]) -> SystemExit:
    """The exit of a program on a library error: ``error: <message with its flags>``, status 1."""
    return SystemExit(f"error: {as_flags(str(err), flag_names)}")


def format_eta(seconds: float) -> str:
    """Seconds as ``m:ss`` or ``h:mm:ss``."""
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
