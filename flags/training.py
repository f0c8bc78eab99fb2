"""train.py's flags: one per setting of every training section, and ``--config``."""

from absl import flags as absl_flags
from tfface.flags import FLAGS, define

import tfface.config  # noqa: F401  (declares every built-in section)

define("train")
if "config" not in FLAGS:
    absl_flags.DEFINE_string("config", None, "JSON file of settings by flag name — a recipe from configs/ or a run's "
                             "config.json (which reproduces that run); flags given on the command line override it.")
