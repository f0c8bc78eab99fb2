"""A [rows, C] matrix split by columns over the replicas of a tf.distribute strategy, checkpointed whole.

Each replica holds its own ``width`` = ⌈C / N⌉ columns (replica r: columns [r·width, (r+1)·width), the last
one padded) in a sync-on-read variable: reads and writes in a replica context touch only that replica's
copy, so no update is ever all-reduced. A checkpoint holds the whole [rows, C] matrix under the name a plain
variable would have, gathered from every replica (on every worker: saving runs the gather's collectives), so
it restores with any other replica count — it is split again on restore — and into a plain variable of the
same path (e.g. the [D, C] kernel of :class:`tfface.heads.classifier.MarginHead`), and back.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfface.errors import ConfigError

_VALUE = "VARIABLE_VALUE"  # the name a tf.Variable's value has in a checkpoint


BLOCK = 1 << 16  # columns written at a time on initialisation and restore: bounds the temporary copies


class ShardedVariable(tf.__internal__.tracking.Trackable):
    """``rows`` × ``columns`` float32, split by columns over ``strategy``'s replicas. ``init(replica, start,
    shape)`` gives the initial [rows, n] block of a replica's columns [start, start + n) (zeros if None; it is
    asked for blocks of at most BLOCK columns). Create it inside ``strategy.scope()``."""

    def __init__(self, strategy: tf.distribute.Strategy, rows: int, columns: int, name: str,
                 init=None):
        self.strategy, self.rows, self.columns = strategy, int(rows), int(columns)
        self.replicas = strategy.num_replicas_in_sync
        self.width = math.ceil(self.columns / self.replicas)
        self.value = tf.Variable(tf.zeros([self.rows, self.width]), name=name, trainable=False,
                                 synchronization=tf.VariableSynchronization.ON_READ,
                                 aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        ids = strategy.experimental_distribute_values_from_function(lambda ctx: ctx.replica_id_in_sync_group)
        # (global replica index, its copy) for each replica of this worker
        self._parts = list(zip([int(i) for i in strategy.experimental_local_results(ids)],
                               self.value.values if hasattr(self.value, "values") else [self.value]))
        if init is not None:
            for replica, part in self._parts:
                for start in range(0, self.width, BLOCK):
                    n = min(BLOCK, self.width - start)
                    part[:, start:start + n].assign(init(replica, start, (self.rows, n)))

    @property
    def local_variables(self) -> list[tf.Variable]:
        """This worker's per-replica copies (plain variables), e.g. to check them for NaN."""
        return [part for _, part in self._parts]

    def full(self) -> tf.Tensor:
        """The whole [rows, columns] matrix (collective: every worker must call it)."""
        parts = dict(self._parts)
        local = self.strategy.experimental_distribute_values_from_function(
            lambda ctx: parts[int(ctx.replica_id_in_sync_group)].read_value())
        whole = self.strategy.gather(local, axis=1)
        return whole[:, :self.columns]

    def assign_full(self, matrix) -> None:
        """Set every local replica's columns from the whole [rows, columns] matrix."""
        matrix = tf.convert_to_tensor(matrix, tf.float32)
        if tuple(matrix.shape) != (self.rows, self.columns):
            raise ConfigError(f"{self.value.name.split(':')[0]}: the checkpoint holds a {tuple(matrix.shape)} matrix, "
                              f"this run needs ({self.rows}, {self.columns}).")
        for replica, part in self._parts:
            first = replica * self.width
            for start in range(0, self.width, BLOCK):
                n = max(0, min(BLOCK, self.width - start, self.columns - first - start))
                if n:
                    part[:, start:start + n].assign(matrix[:, first + start:first + start + n])
            if first + self.width > self.columns:  # the padding columns past the last class
                pad = max(0, self.columns - first)
                part[:, pad:].assign(tf.zeros([self.rows, self.width - pad]))

    def _serialize_to_tensors(self):
        return {_VALUE: self.full()}

    def _restore_from_tensors(self, restored_tensors):
        self.assign_full(restored_tensors[_VALUE])
        return tf.no_op()
