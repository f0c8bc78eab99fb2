"""The one strategy-aware training loop every tfface method runs through."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable

import tensorflow as tf

from tfface.errors import NonFiniteLossError, StorageError
from tfface.finite import check_finite
from tfface.settings import Section, at_least, section, setting
from tfface.training.checkpoints import mark_saving, newest_readable, remove_temp_folders, saved
from tfface.training.progress import Progress
from tfface.training.strategy import is_chief, worker_path
from tfface.training.tasks import Task

DatasetFn = Callable[[int, tf.distribute.InputContext], tf.data.Dataset]
Hook = Callable[[int], dict]


@section("loop")
class LoopSettings(Section):
    """How long the loop runs and on how big a batch."""

    steps: int = setting(1500, "Training steps.", limit=at_least(1))
    batch_size: int = setting(128, "Global batch size (split over replicas).", limit=at_least(2))


@dataclasses.dataclass
class TrainerConfig:
    total_steps: int
    global_batch: int
    workdir: str
    log_every: int = 50
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    hook_every: int = 0
    jit_compile: bool = False
    steps_per_loop: int = 1  # training steps per tf.function call (up to the next log / hook / checkpoint)


class Trainer:
    """Runs ``task.train_step`` on every replica inside one ``tf.function`` per step.

    Checkpoints hold every module of the task, the optimiser and the step; the data pipeline is
    rebuilt at the restored step, so a resumed run sees the batches the uninterrupted run would
    have seen (also with another replica count, as long as the global batch is the same).
    """

    def __init__(self, strategy: tf.distribute.Strategy, task: Task, optimizer, cfg: TrainerConfig,
                 hooks: list[Hook] | None = None, printer: Callable[[str], None] = print,
                 optimizer_key: str = "optimizer", extra_checkpoint: dict | None = None,
                 explain_input_error: Callable[[Exception], Exception | None] | None = None,
                 check_model: Callable[[str, str], None] | None = None):
        """``optimizer_key`` and ``extra_checkpoint`` let several trainers of one program (e.g. FTL's
        stages, each with its own optimiser) share one checkpoint layout in the same workdir;
        ``explain_input_error`` turns an input-pipeline failure into a clearer error (or None to keep it);
        ``check_model(what, advice)`` raises when the model is not fit to save (e.g. its embeddings overflow),
        called before each checkpoint."""
        self.strategy, self.task, self.optimizer, self.cfg = strategy, task, optimizer, cfg
        self.check_model = check_model
        self.explain_input_error = explain_input_error
        self.hooks, self.print = hooks or [], printer
        self.chief = is_chief(strategy)
        with strategy.scope():
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            optimizer.build(task.trainable_variables)
        self.checkpoint = tf.train.Checkpoint(step=self.step, **{optimizer_key: optimizer},
                                              **(extra_checkpoint or {}), **task.modules)
        ckpt_dir = worker_path(cfg.workdir, "checkpoints", strategy)
        self.manager = tf.train.CheckpointManager(self.checkpoint, ckpt_dir, max_to_keep=cfg.keep_checkpoints)
        self.writer = tf.summary.create_file_writer(os.path.join(cfg.workdir, "logs")) if self.chief else None
        self._step_fn = None

    def restore(self) -> int:
        """Restore the newest checkpoint of the workdir that reads back in full (warning about damaged newer
        ones), if any; return the step to start from. Folders an interrupted save left are removed first."""
        directory = os.path.join(self.cfg.workdir, "checkpoints")
        if self.chief:
            remove_temp_folders(directory, self.print)
        latest = newest_readable(directory, self.print)
        if latest:
            self.checkpoint.restore(latest).expect_partial()
            self.print(f"resumed from {latest} at step {int(self.step.numpy())}")
        return int(self.step.numpy())

    def _make_step(self):
        strategy, task, opt = self.strategy, self.task, self.optimizer

        def replica_step(batch, step):
            return task.train_step(batch, step, opt)

        if self.cfg.jit_compile:  # XLA compiles the replica's math; the iterator stays outside
            replica_step = tf.function(replica_step, jit_compile=True)

        def one_step(iterator):
            metrics = strategy.run(replica_step, args=(next(iterator), self.step))
            self.step.assign_add(1)
            return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in metrics.items()}

        if self.cfg.steps_per_loop == 1:
            return tf.function(lambda iterator, n: one_step(iterator))

        @tf.function
        def steps_fn(iterator, n):  # n steps in one call: n − 1 without their metrics, then one with them
            for _ in tf.range(n - 1):
                strategy.run(replica_step, args=(next(iterator), self.step))
                self.step.assign_add(1)
            return one_step(iterator)

        return steps_fn

    def _steps_to_next_stop(self, step: int, start: int) -> int:
        """Steps until the next log, hook, checkpoint or the end (a multi-step call stops there), at most
        ``steps_per_loop``."""
        cfg = self.cfg
        every = [k for k in (cfg.log_every, cfg.checkpoint_every, cfg.hook_every) if k]
        stops = [cfg.total_steps, *[(step // k + 1) * k for k in every]] + ([start + 1] if step == start else [])
        return max(1, min(cfg.steps_per_loop, min(stops) - step))

    def fit(self, dataset_fn: DatasetFn) -> dict[str, float]:
        """Train to ``total_steps`` from wherever the checkpoint left off; return the last metrics."""
        start = self.restore()
        cfg = self.cfg
        if start >= cfg.total_steps:
            self.print(f"nothing to do: step {start} >= `steps={cfg.total_steps}`")
            return {}
        dist = self.strategy.distribute_datasets_from_function(lambda ctx: dataset_fn(start, ctx))
        iterator = iter(dist)
        self._step_fn = self._step_fn or self._make_step()
        progress = Progress(cfg.total_steps, cfg.global_batch, start)
        last = {}
        step = start
        while step < cfg.total_steps:
            n = self._steps_to_next_stop(step, start)
            try:
                metrics = self._step_fn(iterator, tf.constant(n, tf.int64))
            except tf.errors.InvalidArgumentError as err:
                if "non-finite training loss" in str(err):
                    raise NonFiniteLossError(
                        f"training loss became NaN or Inf at step {step + 1 if n == 1 else f'{step + 1}–{step + n}'}. "
                        f"Lower `lr`, add `warmup_steps` or `scale_warmup_steps`; {self._last_finite()}."
                    ) from None
                better = self.explain_input_error(err) if self.explain_input_error else None
                if better is not None:
                    raise better from None
                raise
            step += n
            if step % cfg.log_every == 0 or step == cfg.total_steps or step == start + 1:
                last = {k: float(v) for k, v in metrics.items()}
                lr = float(self._lr(step))
                text, ips = progress.line(step, last, lr)
                self.print(text)
                self._summaries(step, {**last, "lr": lr, **({"images_per_sec": ips} if ips else {})})
            if cfg.hook_every and (step % cfg.hook_every == 0 or step == cfg.total_steps):
                for hook in self.hooks:
                    self._summaries(step, hook(step))
            if step % cfg.checkpoint_every == 0 or step == cfg.total_steps:
                self.save()
        return last

    def _lr(self, step):
        lr = self.optimizer.learning_rate
        return lr(step) if callable(lr) else tf.convert_to_tensor(lr)

    def _last_finite(self) -> str:
        """Where to resume from: every checkpoint written holds finite state and, with ``check_model``, a model
        whose embeddings are finite (see :meth:`save`)."""
        latest = self.manager.latest_checkpoint
        what = "whose model and embeddings are finite" if self.check_model else "whose state is finite"
        return (f"the last checkpoint {what} is {latest}" if latest
                else f"no checkpoint {what} was saved before it, so a rerun starts from step 0")

    def state_variables(self) -> list:
        """Every variable a checkpoint holds: the task's modules (weights and statistics) and the optimiser's."""
        found = [v for module in self.task.modules.values() for v in getattr(module, "variables", [])]
        return found + list(self.optimizer.variables)

    def save(self) -> None:
        """Write a checkpoint of the current step, unless some state is NaN or Inf (then stop and say where the
        last finite one is)."""
        step = int(self.step.numpy())
        advice = f"Lower `lr` or add `warmup_steps`; {self._last_finite()}."
        check_finite(self.state_variables(), f"checkpoint at step {step}", advice)
        if self.check_model is not None:
            self.check_model(f"checkpoint at step {step}", advice)
        try:
            mark_saving(self.manager.directory, f"ckpt-{step}")
            path = self.manager.save(checkpoint_number=step)
            saved(self.manager.directory)
        except (OSError, tf.errors.OpError) as err:
            raise StorageError(f"could not write the checkpoint of step {step} to {self.manager.directory}: "
                               f"{str(err).strip().splitlines()[0][:160]}. Free space and rerun: it resumes from "
                               f"{self.manager.latest_checkpoint or 'the start (no checkpoint was saved)'}.") from None
        if not self.chief:
            shutil.rmtree(self.manager.directory, ignore_errors=True)
        elif path:
            self.print(f"saved checkpoint {path}")

    def _summaries(self, step: int, values: dict) -> None:
        if not self.writer:
            return
        with self.writer.as_default(step=step):
            for k, v in values.items():
                write_scalar(k, v)
        self.writer.flush()


def _scalar_metadata() -> bytes:
    md = tf.compat.v1.SummaryMetadata()
    md.plugin_data.plugin_name = "scalars"
    md.data_class = 1  # DATA_CLASS_SCALAR
    return md.SerializeToString()


_SCALAR_METADATA = _scalar_metadata()


def write_scalar(name: str, value: float) -> None:
    """A TensorBoard scalar without importing the tensorboard package (not a TF dependency)."""
    tf.summary.write(name, tf.constant(float(value), tf.float32), metadata=_SCALAR_METADATA)
