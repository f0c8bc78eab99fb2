"""All of evaluate.py's flags (importing this module defines them)."""

import tfface.flags.eval  # noqa: F401
import tfface.flags.evaluate  # noqa: F401
import tfface.flags.imports  # noqa: F401
