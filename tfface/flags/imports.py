"""--imports, shared by train.py and evaluate.py: the user's modules that register methods and protocols."""

from absl import flags

from tfface.config import RunConfig

_D = RunConfig()  # every default lives in tfface.config

flags.DEFINE_list("imports", list(_D.setting("imports")), "Python modules (dotted names or .py files) to import first: "
                  "your own methods and evaluation protocols register themselves there "
                  "(tfface.registry.register_method / register_protocol) and are picked with --method / --protocol.")
