"""The settings of the two programs with every built-in section declared: :class:`RunConfig` (train.py) and
:class:`EvaluateConfig` (evaluate.py).

The sections are declared beside the code that reads them (see :mod:`tfface.settings`); importing this module
imports the built-in methods and protocols, so that every section is known. A user's own sections join with
:func:`tfface.registry.import_modules` (``--imports``).
"""

import tfface.methods  # noqa: F401  (the built-in methods, their sections and the components' sections)
import tfface.programs.evaluation  # noqa: F401  (evaluate.py's sections)
from tfface.settings import EvaluateConfig, RunConfig

__all__ = ["EvaluateConfig", "RunConfig"]
