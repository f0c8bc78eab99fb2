"""All of train.py's flags (importing this module defines them)."""

import tfface.flags.data  # noqa: F401
import tfface.flags.distribute  # noqa: F401
import tfface.flags.eval  # noqa: F401
import tfface.flags.head  # noqa: F401
import tfface.flags.imports  # noqa: F401
import tfface.flags.loss  # noqa: F401
import tfface.flags.method  # noqa: F401
import tfface.flags.model  # noqa: F401
import tfface.flags.train  # noqa: F401
