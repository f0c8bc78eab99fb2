"""Training tasks: what one replica computes in a step. The trainer owns the loop; a task owns
the modules, the loss and (if it needs to) the update.

A task's ``loss`` returns the replica's share of the global-batch mean (sum over its examples
divided by the *global* batch), so gradients summed over replicas equal the single-device ones.
Methods (FTL stages, SFT, DDL…) subclass :class:`Task` or override :meth:`Task.train_step`.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from tfface.heads.classifier import MarginHead
from tfface.training.terms import HeadTerm, LossTerm, StepState


class Task:
    """Base task: ``modules`` are checkpointed; ``train_step`` runs on one replica."""

    def __init__(self, modules: dict[str, keras.Model | keras.layers.Layer], global_batch: int):
        self.modules = modules
        self.global_batch = global_batch

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        return [v for m in self.modules.values() for v in m.trainable_variables]

    def loss(self, batch, step) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        raise NotImplementedError

    def forward(self, batch, step):
        """(loss, metrics, state for :meth:`after_step`). Keep per-replica tensors here, never on
        ``self``: replicas trace the same task object concurrently."""
        loss, metrics = self.loss(batch, step)
        return loss, metrics, None

    def after_step(self, state) -> None:
        """Non-gradient updates after the optimiser step (e.g. class centres)."""
        return None

    def replica_updated_terms(self) -> list[LossTerm]:
        """The loss terms that update some variables themselves on each replica (see
        :meth:`LossTerm.replica_variables`)."""
        return []

    def descend(self, loss_fn: Callable[[], tuple], optimizer) -> tuple:
        """One optimiser update of the trainable variables on ``loss_fn()`` = (loss, *rest), after the
        replica-local updates of :meth:`replica_updated_terms`; returns its value. A non-finite loss stops
        training; the loss is scaled under mixed precision."""
        variables = self.trainable_variables
        own = [(term, term.replica_variables()) for term in self.replica_updated_terms()]
        own_variables = [v for _, vs in own for v in vs]
        with tf.GradientTape() as tape:
            tape.watch(own_variables)
            loss, *rest = loss_fn()
            loss = tf.debugging.check_numerics(loss, "non-finite training loss")
            scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, variables + own_variables)
        start = len(variables)
        for term, vs in own:
            term.apply_replica_gradients(grads[start:start + len(vs)], optimizer)
            start += len(vs)
        optimizer.apply_gradients(zip(grads[:len(variables)], variables))
        return (loss, *rest)

    def train_step(self, batch, step, optimizer) -> dict[str, tf.Tensor]:
        loss, metrics, state = self.descend(lambda: self.forward(batch, step), optimizer)
        self.after_step(state)
        return {"loss": loss, **metrics}


class EmbeddingTask(Task):
    """backbone → embeddings → Σ weight · value over a list of loss terms (:mod:`tfface.training.terms`):
    e.g. the margin head's cross-entropy, weighted metric losses over the global batch, the centre loss,
    DiscFace's discrepancy, SFT's loss on generated features — or a term of your own.

    Every term is this replica's share of a global-batch mean, so the shares add up over replicas. The
    terms' state (``LossTerm.modules``) is checkpointed beside the backbone.
    """

    def __init__(self, backbone: keras.Model, global_batch: int, terms: list[LossTerm]):
        if not terms:
            raise ValueError("EmbeddingTask needs at least one loss term")
        modules = {"backbone": backbone}
        for term in terms:
            for key, module in term.modules.items():
                if modules.setdefault(key, module) is not module:
                    raise ValueError(f"two loss terms checkpoint different state under {key!r}")
        super().__init__(modules, global_batch)
        self.backbone, self.terms = backbone, list(terms)

    def loss(self, batch, step):
        return self.forward(batch, step)[:2]

    def forward(self, batch, step):
        images, labels = batch
        state = StepState(self.backbone(images, training=True), labels, step, self.global_batch)
        loss, metrics = tf.constant(0.0), {}
        for term in self.terms:
            value, logged = term.value(state)
            loss += term.weight * value
            metrics.update(logged)
        return loss, metrics, state

    def after_step(self, state: StepState) -> None:
        for term in self.terms:
            term.after_step(state)

    def replica_updated_terms(self) -> list[LossTerm]:
        return [term for term in self.terms if term.replica_variables()]


class ClassificationTask(EmbeddingTask):
    """backbone → margin head → softmax cross-entropy (+ the head's optional m-L2 term)."""

    def __init__(self, backbone: keras.Model, head: MarginHead, global_batch: int,
                 scale_warmup_steps: int = 0, scale_start: float = 8.0):
        super().__init__(backbone, global_batch, [HeadTerm(head, scale_warmup_steps, scale_start)])
