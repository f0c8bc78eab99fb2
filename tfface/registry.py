"""Name → part registries: the programs look methods and evaluation protocols up by name.

A registry is a plain container at the bottom of the layers: the parts register themselves when their
module is imported (``tfface.methods`` imports the built-in ones), and a user's own module joins them
through ``--imports=my_methods.py`` (see :func:`import_modules`) without a change under ``tfface/``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import pathlib
import sys
from collections.abc import Callable
from typing import Any

from tfface.errors import ConfigError


class Registry:
    """Parts of one kind by name; ``flag`` is the flag that picks one (named in errors)."""

    def __init__(self, kind: str, flag: str):
        self.kind, self.flag, self._parts = kind, flag, {}

    def register(self, name: str, part: Any) -> Any:
        """Add ``part`` under ``name``; registering a second part under a taken name is an error."""
        if name in self._parts and self._parts[name] is not part:
            raise ConfigError(f"{self.kind} {name!r} is registered twice; pick another name.")
        self._parts[name] = part
        return part

    def get(self, name: str) -> Any:
        if name not in self._parts:
            raise ConfigError(f"`{self.flag}={name}`: no such {self.kind}; choose {', '.join(self.names())}, or "
                              f"register your own and load it with `imports=<module or file.py>`.")
        return self._parts[name]

    def names(self) -> list[str]:
        return sorted(self._parts)

    def __contains__(self, name: str) -> bool:
        return name in self._parts


@dataclasses.dataclass(frozen=True)
class Method:
    """A training program.

    Attributes:
        name: the value of ``--method``.
        train: ``train(cfg, printer) -> report``: trains, exports a SavedModel and evaluates.
        restore_embedder: ``restore_embedder(workdir) -> (keras model image → embedding, info)`` from a
            workdir's latest checkpoint (what ``evaluate.py --checkpoint`` exports).
    """

    name: str
    train: Callable[..., dict]
    restore_embedder: Callable[[str], tuple[Any, dict]]


METHODS = Registry("method", "method")


def register_method(method: Method) -> Method:
    return METHODS.register(method.name, method)


def import_modules(specs) -> None:
    """Import each of ``specs`` (a dotted module name, or the path of a ``.py`` file) so that the parts it
    defines register themselves; a module that cannot be found gets an error naming it."""
    for spec in specs:
        path = pathlib.Path(spec)
        if spec.endswith(".py"):
            if not path.is_file():
                raise ConfigError(f"`imports={spec}`: file not found.")
            name = f"tfface_user_{path.stem}"
            if name in sys.modules:
                continue
            loader = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            loader.loader.exec_module(module)
        else:
            try:
                importlib.import_module(spec)
            except ModuleNotFoundError as err:
                raise ConfigError(f"`imports={spec}`: no module {err.name!r} on the Python path; give a dotted "
                                  "module name or the path of a .py file.") from None


@dataclasses.dataclass(frozen=True)
class ListProtocol:
    """An evaluation of the embedded images of a labelled list (``evaluate.py --protocol=<name>
    --eval_list=…``).

    Attributes:
        name: the value of ``--protocol``.
        report: ``report(emb, labels, source, out_dir, options) -> dict``; writes its plots to ``out_dir``.
        check: ``check(source, options)``, run before any image is embedded, raising a clear error for
            settings the list cannot serve (None: nothing to check).
        scores: whether it scores pairs by ``options["density"]`` (embeddings → IDA log densities) and
            ``options["tau"]`` when a score other than the cosine is asked for; if not, asking is an error.
    """

    name: str
    report: Callable[..., dict]
    check: Callable[..., None] | None = None
    scores: bool = False


LIST_PROTOCOLS = Registry("list protocol", "protocol")


def register_list_protocol(protocol: ListProtocol) -> ListProtocol:
    return LIST_PROTOCOLS.register(protocol.name, protocol)


@dataclasses.dataclass(frozen=True)
class Protocol:
    """An evaluation that evaluate.py runs by name (``--protocol=<name>``). The labelled-list protocols of
    :data:`LIST_PROTOCOLS` are run through the same door.

    Attributes:
        name: the value of ``--protocol``.
        run: ``run(cfg: EvaluateConfig) -> dict``: evaluates, writes its files under ``cfg.out_dir()`` and
            returns the summary evaluate.py prints.
        needs: ``"model"``: a SavedModel (``--checkpoint`` is exported first, ``cfg.model`` is set);
            ``"checkpoint"``: a train.py workdir (the protocol reads more than the embedder).
        check: ``check(cfg)``, raising a clear error for missing settings before any export or embedding.
        scores: whether it scores by ``--score`` (cosine or IDA); a non-cosine score for one that does not is
            refused by evaluate.py, not ignored.
        uses_ida: whether it reads the ``--ida_*`` settings whatever ``--score`` is (IDA's own protocols);
            otherwise they apply only with a non-cosine score and are refused without one.
    """

    name: str
    run: Callable[[Any], dict]
    needs: str = "model"
    check: Callable[[Any], None] | None = None
    scores: bool = False
    uses_ida: bool = False


PROTOCOLS = Registry("protocol", "protocol")


def register_protocol(protocol: Protocol) -> Protocol:
    return PROTOCOLS.register(protocol.name, protocol)


def requires(*flags: str) -> Callable[[Any], None]:
    """A :attr:`Protocol.check` refusing a run where any of ``flags`` is unset (naming the first such flag)."""

    def check(cfg) -> None:
        for flag in flags:
            if not cfg.setting(flag):
                raise ConfigError(f"`protocol={cfg.protocol}` needs `{flag}`.")

    return check
