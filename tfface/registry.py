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

import tfface.messages as messages
from tfface.errors import ConfigError
from tfface.settings import Config, Section, section, sections_of, setting, shown, untracked


@section("user_modules", programs=("train", "evaluate"), flat=True)
class ImportsSettings(Section):
    """Your own modules, imported first: methods, protocols and settings sections they register."""

    imports: tuple[str, ...] = setting((), "Python modules (dotted names or .py files) to import first: your own "
                                       "methods and evaluation protocols register themselves there "
                                       "(tfface.registry.register_method / register_protocol) and are picked with "
                                       "--method / --protocol; settings sections they declare become flags.")
    trust_imports: bool = setting(False, "Import the modules a --config recipe or a --checkpoint workdir's "
                                  "config.json names without naming them again with --imports (importing a module "
                                  "runs its code).")


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
        reads: the settings sections the method reads (each section's own :meth:`Section.unread` still
            applies); a setting of another section given to it is refused.
        note: what the method does instead of the sections it does not read (shown when refusing them).
        also_reads: ``also_reads(cfg) -> flags`` of sections outside ``reads`` that it reads with ``cfg``.
        unread: ``unread(cfg) -> {flag: why}``: settings of its sections it does not read with ``cfg``.
    """

    name: str
    train: Callable[..., dict]
    restore_embedder: Callable[[str], tuple[Any, dict]]
    reads: tuple[str, ...] = ()
    note: str = ""
    also_reads: Callable[[Any], Any] | None = None
    unread: Callable[[Any], dict[str, str]] | None = None


METHODS = Registry("method", "method")


def register_method(method: Method) -> Method:
    """Add a training program; the sections it reads must be declared (imported) first."""
    missing = [s for s in method.reads if s not in sections_of("train")]
    if missing:
        raise ConfigError(f"method {method.name!r} reads settings section(s) {', '.join(missing)} that no "
                          "imported module declares.")
    return METHODS.register(method.name, method)


def unread_settings(cfg: Config, method: Method) -> dict[str, str]:
    """The settings given to ``cfg`` (off their defaults) that a run of ``method`` would not read, each with
    why ("not read by `method=ddl`: …; it is read by `method=standard`"). Empty when every given setting is
    read."""
    given = cfg.given()
    if not given:
        return {}
    declared = cfg.declarations()
    with untracked():  # the machinery's reads, not the run's
        also = set(method.also_reads(cfg)) if method.also_reads else set()
        own = method.unread(cfg) if method.unread else {}
        why_unread = {flag: why for name in method.reads for flag, why in getattr(cfg, name).unread(cfg).items()}
    out = {}
    for flag in given:
        section_name = declared[flag].section
        if flag in own:
            out[flag] = f"not read by `method={method.name}`: {own[flag]}"
        elif section_name not in method.reads and flag not in also:
            readers = [m for m in METHODS.names() if section_name in METHODS.get(m).reads and m != method.name]
            out[flag] = (f"not read by `method={method.name}`" + (f": {method.note}" if method.note else "")
                         + (f" (read by `method={'|'.join(readers)}`)" if readers else ""))
        elif flag in why_unread and flag not in also:
            out[flag] = f"not read: {why_unread[flag]}"
    return out


def refuse_unread(cfg: Config, method: Method) -> None:
    """Raise :class:`ConfigError` naming every given setting a run of ``method`` would not read, and why."""
    refuse(cfg, unread_settings(cfg, method))


def refuse(cfg: Config, refused: dict[str, str]) -> None:
    """Raise :class:`ConfigError` for the settings of ``cfg`` in ``refused`` (flag → why it is not read), the
    flags that share a reason named together; nothing when it is empty."""
    if not refused:
        return
    by_reason: dict[str, list[str]] = {}
    for flag, why in refused.items():
        by_reason.setdefault(why, []).append(f"`{flag}={shown(cfg.setting(flag))}`")
    parts = [f"{_listed(flags)} {'is' if len(flags) == 1 else 'are'} {why}" for why, flags in by_reason.items()]
    raise ConfigError(". ".join(parts) + f". Remove {'it' if len(refused) == 1 else 'them'}, or change what "
                      "would read it.")


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def imports_named(raw: Any) -> list[str]:
    """The modules a recipe or a run's config.json names: ``imports`` by flag name, or inside the
    ``user_modules`` section as config.json writes it (none for anything else)."""
    if not isinstance(raw, dict):
        return []
    named = raw.get("imports")
    if named is None and isinstance(raw.get("user_modules"), dict):
        named = raw["user_modules"].get("imports")
    return list(named) if isinstance(named, list) else []


_TRUSTED: set[str] = set()  # modules the user named themselves (the command line, or Python code)
_TRUST_FILES = [False]  # --trust_imports: the modules a recipe or a workdir names may be imported too


def trust_imports(specs=(), files: bool = False) -> None:
    """Record the modules the user named themselves (``specs``), and whether the ones a file names may be
    imported (``files``, ``--trust_imports``)."""
    _TRUSTED.update(specs)
    _TRUST_FILES[0] = _TRUST_FILES[0] or bool(files)


def import_modules(specs, origin: str | None = None) -> None:
    """Import each of ``specs`` (a dotted module name, or the path of a ``.py`` file) so that the parts it
    defines register themselves, saying so; a module that cannot be found gets an error naming it. Modules that
    a file names (``origin``: a recipe, a workdir's config.json) are refused unless the user named them too or
    trusts the files' imports: importing runs a module's code."""
    untrusted = [s for s in specs if origin and s not in _TRUSTED and not _TRUST_FILES[0]]
    if untrusted:
        raise ConfigError(f"{origin} names Python code to import ({', '.join(untrusted)}), which runs it. Name it "
                          f"yourself (`imports={','.join(untrusted)}`) or allow the file's imports "
                          "(`trust_imports`).")
    for spec in specs:
        path = pathlib.Path(spec)
        if spec.endswith(".py"):
            if not path.is_file():
                raise ConfigError(f"`imports={spec}`: file not found.")
            name = f"tfface_user_{path.stem}"
            if name in sys.modules:
                continue
            messages.info(f"importing {path.resolve()}" + (f" (named by {origin})" if origin else ""))
            loader = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            loader.loader.exec_module(module)
        else:
            if spec not in sys.modules:
                messages.info(f"importing module {spec}" + (f" (named by {origin})" if origin else ""))
            try:
                importlib.import_module(spec)
            except ModuleNotFoundError as err:
                raise ConfigError(f"`imports={spec}`: no module {err.name!r} on the Python path; give a dotted "
                                  "module name or the path of a .py file.") from None


@dataclasses.dataclass(frozen=True)
class Protocol:
    """An evaluation that evaluate.py runs by name (``--protocol=<name>``); every protocol, built in or a
    user's, is one of these in :data:`PROTOCOLS`.

    Attributes:
        name: the value of ``--protocol``.
        run: ``run(cfg: EvaluateConfig, score: Score) -> dict``: evaluates (scoring pairs by ``score`` when
            it scores), writes its files under ``cfg.out_dir()`` and returns the summary evaluate.py prints.
        needs: ``"model"``: a SavedModel (``--checkpoint`` is exported first, ``cfg.model`` is set);
            ``"checkpoint"``: a train.py workdir (the protocol reads more than the embedder).
        check: ``check(cfg)``, raising a clear error for missing settings before any export or embedding.
        scores: whether it scores by ``--score`` (cosine or IDA); a non-cosine score for one that does not is
            refused by evaluate.py, not ignored.
        uses_ida: whether it reads the ``--ida_*`` settings whatever ``--score`` is (IDA's own protocols);
            otherwise they apply only with a non-cosine score and are refused without one.
        reads: the evaluate.py settings it reads besides those every protocol reads (:data:`EVERY_PROTOCOL`)
            and those its ``check`` requires (:func:`requires`); another one given to it is refused.
        report: for a protocol over the images of a labelled list (``--eval_list``):
            ``report(emb, labels, source, out_dir, options) -> dict`` on their embeddings
            (:func:`tfface.evaluation.protocols.list_protocol` makes such a protocol).
    """

    name: str
    run: Callable[[Any, Any], dict]
    needs: str = "model"
    check: Callable[[Any], None] | None = None
    scores: bool = False
    uses_ida: bool = False
    report: Callable[..., dict] | None = None
    reads: tuple[str, ...] = ()

    def settings_read(self, cfg: Config) -> set[str]:
        """The evaluate.py settings a run of this protocol with ``cfg`` reads."""
        ida = cfg.section_flags("ida") if self.uses_ida or (self.scores and cfg.score != "cosine") else []
        return {*EVERY_PROTOCOL, *self.reads, *getattr(self.check, "flags", ()), *ida}


# what every protocol reads: which model, where its files go, how images are embedded, the score
EVERY_PROTOCOL = ("protocol", "model", "checkpoint", "out", "overwrite", "imports", "trust_imports", "eval_root",
                  "eval_flip", "eval_batch", "score")


PROTOCOLS = Registry("protocol", "protocol")


def register_protocol(protocol: Protocol) -> Protocol:
    return PROTOCOLS.register(protocol.name, protocol)


def requires(*flags: str) -> Callable[[Any], None]:
    """A :attr:`Protocol.check` refusing a run where any of ``flags`` is unset (naming the first such flag); the
    protocol reads them."""

    def check(cfg) -> None:
        for flag in flags:
            if not cfg.setting(flag):
                raise ConfigError(f"`protocol={cfg.protocol}` needs `{flag}`.")

    check.flags = flags
    return check


def refuse_unread_by_protocol(cfg: Config, protocol: Protocol) -> None:
    """Raise :class:`ConfigError` naming the evaluate.py settings given that ``protocol`` would not read, and
    the protocols that read them."""
    reads, refused, given, declared = protocol.settings_read(cfg), {}, cfg.given(), cfg.declarations()
    with untracked():  # a section's own reasons (e.g. `overwrite` with `out` given)
        why_unread = {f: why for name in {declared[g].section for g in given}
                      for f, why in getattr(cfg, name).unread(cfg).items()}
    for flag in given:
        if flag in reads and flag in why_unread:
            refused[flag] = f"not read: {why_unread[flag]}"
        elif flag not in reads:
            readers = [n for n in PROTOCOLS.names()
                       if flag in PROTOCOLS.get(n).settings_read(cfg) and n != protocol.name]
            refused[flag] = f"not read by `protocol={protocol.name}`" + (
                f" (read by `protocol={'|'.join(readers)}`)" if readers else "")
    refuse(cfg, refused)
