"""evaluate.py's flags: one per setting of every evaluation section."""

from tfface.flags import define

import tfface.config  # noqa: F401  (declares every built-in section)

define("evaluate")
