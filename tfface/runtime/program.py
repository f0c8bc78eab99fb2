"""The run template every training program fills: start → build → fit → export → evaluate.

A method subclasses :class:`Program` and fills :meth:`Program.build` (its model, task and optimiser, inside the
strategy's scope) and, when one trainer over one dataset is not its schedule, :meth:`Program.fit`; the
template does the rest the same way for every method: the strategy, workdir and data (:func:`start_run`), the
timing line, the export and the verification (:func:`finish_run`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import keras

from tfface.runtime.run import PRINT, Run, finish_run, finished_report, make_trainer, start_run
from tfface.settings import RunConfig
from tfface.training.tasks import Task

# the settings sections the template reads for every program (the user's modules, the run, devices, the
# training data and its augmentation, steps and batch, the final verification): a method's ``reads`` adds its own
TEMPLATE_SECTIONS = ("user_modules", "run", "distribute", "data", "augment", "loop", "eval")


@dataclasses.dataclass
class Built:
    """What a program's :meth:`Program.build` gives the template.

    Attributes:
        embedder: image → embedding, the model exported and evaluated.
        info: what the export records about it (method, backbone, …).
        task: the training task of the default :meth:`Program.fit`.
        optimizer: its optimiser.
        dataset_fn: its per-replica dataset function (default: the run's training data).
        parts: anything else the program's own :meth:`Program.fit` needs.
    """

    embedder: keras.Model
    info: dict
    task: Task | None = None
    optimizer: Any = None
    dataset_fn: Callable | None = None
    parts: dict = dataclasses.field(default_factory=dict)


class Program:
    """A training program; :meth:`train` is the template, the other methods are what a method fills."""

    def head_obstacle(self, cfg: RunConfig) -> str | None:
        """Why this program cannot shard its margin head over the replicas (None: it can); by default it
        trains a full head."""
        return f"`method={cfg.method}` trains a full head"

    def check(self, cfg: RunConfig, printer=PRINT) -> None:
        """Settings checks of the program's own, before anything is written."""

    def build(self, run: Run, printer=PRINT) -> Built:
        """The model, task and optimiser (create them inside ``run.strategy.scope()``)."""
        raise NotImplementedError

    def fit(self, run: Run, built: Built, printer=PRINT) -> None:
        """Train: by default one trainer over the built task and dataset."""
        embedder = built.embedder
        trainer = make_trainer(run, built.task, built.optimizer, lambda x: embedder(x, training=False), printer)
        trainer.fit(built.dataset_fn or run.data.dataset_fn)

    def train(self, cfg: RunConfig, printer=PRINT) -> dict:
        """Start the run, build, fit, export the embedder and evaluate it; return the evaluation report."""
        self.check(cfg, printer)
        run = start_run(cfg, printer, head_obstacle=self.head_obstacle(cfg))
        try:
            if run.resume.finished:
                return finished_report(run.cfg.workdir)
            built = self.build(run, printer)
            run.record()  # the run is valid: its settings are written once, before the first step
            t0 = time.time()
            self.fit(run, built, printer)
            printer(f"training took {time.time() - t0:.0f} s")
            return finish_run(run, built.embedder, built.info, printer)
        finally:
            run.end()
