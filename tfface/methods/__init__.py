"""The training programs, one module per paper (plus the standard one), and the paper methods' evaluation
protocols; importing this package registers the built-in ones in :data:`tfface.registry.METHODS`,
:data:`~tfface.registry.PROTOCOLS`."""

from tfface.methods import (  # noqa: F401  (they register themselves)
    ddl,
    ddl_eval,
    discface_eval,
    ftl,
    ftl_eval,
    ida,
    sft_analysis,
    standard,
)
