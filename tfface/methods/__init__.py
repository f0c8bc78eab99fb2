"""The training programs, one module per paper (plus the standard one); importing this package registers
the built-in ones in :data:`tfface.registry.METHODS`."""

from tfface.methods import ddl, ftl, standard  # noqa: F401  (they register themselves)
