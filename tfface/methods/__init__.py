"""The training programs, one module per paper (plus the standard one); importing this package registers
the built-in ones in :data:`tfface.registry.METHODS` and their list protocols (sft, easy_hard)."""

from tfface.methods import ddl, ddl_eval, ftl, sft_analysis, standard  # noqa: F401  (they register themselves)
