"""Settings declared once, beside the code that reads them.

A component or a method declares its section as a frozen dataclass decorated with :func:`section`, each field
made by :func:`setting` (default, help, choices, range, whether a resume must match it). Everything else is
generated from these declarations: the absl flags of the programs (``tfface.flags``), the recipe and
config.json reader (:meth:`Config.from_dict`), the range checks (:meth:`Config.validate`) and the resume
comparison (:func:`structural_settings`). A section may also say which of its settings this run does not read
(:meth:`Section.unread`, e.g. DiscFace's bases with λ 0) and check settings that only fail together
(:meth:`Section.check`).

:class:`Config` holds one instance of every section registered for its program; ``cfg.ddl.bins`` reads a
setting, ``cfg.setting("ddl_bins")`` and ``cfg.replace(ddl_bins=51)`` speak flag names. Sections register
when their module is imported; :mod:`tfface.config` imports the built-in ones, ``--imports`` a user's.

While :func:`tracking_reads` is active, every setting the code reads is recorded: the test that every
setting is read or refused is built on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import pathlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from tfface.errors import ConfigError

# ---- ranges ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Limit:
    """lo ≤ x ≤ hi, with either end open (excluded) when asked; NaN and ±Inf never hold."""

    lo: float = -math.inf
    hi: float = math.inf
    open_lo: bool = False
    open_hi: bool = False

    def holds(self, x: float) -> bool:
        if not math.isfinite(x):
            return False
        above = x > self.lo if self.open_lo else x >= self.lo
        below = x < self.hi if self.open_hi else x <= self.hi
        return above and below

    def __str__(self) -> str:
        if math.isinf(self.hi):
            return f"{'>' if self.open_lo else '≥'} {self.lo:g}"
        return f"in {'(' if self.open_lo else '['}{self.lo:g}, {self.hi:g}{')' if self.open_hi else ']'}"


def at_least(lo: float) -> Limit:
    return Limit(lo)


POSITIVE = Limit(0, open_lo=True)
NON_NEGATIVE = Limit(0)
FRACTION = Limit(0, 1)
ANY = Limit()


# ---- one setting -------------------------------------------------------------------------------------------

_KINDS = ("bool", "int", "float", "str", "ints", "strs")


def setting(default: Any, help: str, *, flag: str | None = None, choices: Iterable[str] | None = None,
            limit: Limit | None = None, structural: bool | Callable[[Any], Any] = False) -> Any:
    """A field of a settings section: its default, its help line (the flag's), the choices a string takes,
    the range a number (or each number of a list) must lie in, whether a resumed run must keep it
    (``structural``: the checkpoint's variables or the model's input depend on it; a function of the value
    when only part of it does, e.g. a head's kind of classifier, and a change that keeps that part is
    allowed), and its flag name when that is not the section's prefix + the field's name."""
    meta = {"help": help, "flag": flag, "choices": None if choices is None else tuple(choices), "limit": limit,
            "structural": structural}
    if isinstance(default, tuple):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Declared:
    """One setting as declared: its section, field and flag, type kind, default and the rest of
    :func:`setting`'s arguments."""

    section: str
    field: str
    flag: str
    kind: str  # bool, int, float, str, ints (a list of whole numbers) or strs (a list of strings)
    optional: bool  # None is a value (a path not given)
    default: Any
    help: str
    choices: tuple[str, ...] | None
    limit: Limit | None
    structural: bool | Callable[[Any], Any]
    module: str

    def keeps_structure(self, old: Any, new: Any) -> bool:
        """Whether a resumed run may change this setting from ``old`` to ``new``."""
        if callable(self.structural):
            return self.structural(old) == self.structural(new)
        return not self.structural or old == new

    def coerce(self, value: Any, source: str | None = None) -> Any:
        """``value`` (from JSON, a flag or a caller) as this setting's type, or an error naming it."""
        where = f"`config={source}`: " if source else ""
        wrong = ConfigError(f"{where}`{self.flag}={_shown(value)}` must be {_KIND_WORDS[self.kind]}.")
        if value is None and self.optional:
            return None
        if self.kind in ("ints", "strs"):
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]
            if not isinstance(value, list | tuple):
                raise wrong
            try:
                return tuple(int(v) if self.kind == "ints" else str(v) for v in value)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}`{self.flag}={_shown(value)}` must be whole numbers separated by "
                                  "commas.") from None
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise wrong
            return value
        if self.kind == "int":
            if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float)
                                                                          and value.is_integer())):
                raise wrong
            return int(value)
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong
            return float(value)
        if not isinstance(value, str):
            raise wrong
        return value

    def check(self, value: Any) -> None:
        """Raise for a choice outside :attr:`choices` or a number outside :attr:`limit`."""
        if self.choices is not None and value not in self.choices and not (value is None and self.optional):
            raise ConfigError(f"`{self.flag}={value}`: choose {', '.join(self.choices)}.")
        if self.limit is None:
            return
        numbers = value if isinstance(value, tuple) else (value,)
        for x in numbers:
            if isinstance(x, int | float) and not isinstance(x, bool) and not self.limit.holds(float(x)):
                raise ConfigError(f"`{self.flag}={_shown(value)}` must be {self.limit}.")


_KIND_WORDS = {"bool": "true or false", "int": "a whole number", "float": "a number", "str": "a string",
               "ints": "a list of whole numbers", "strs": "a list of strings"}


def _kind_of(annotation: Any) -> tuple[str, bool]:
    text = (annotation.__name__ if isinstance(annotation, type) else str(annotation)).replace(" ", "")
    optional = "None" in text
    base = text.replace("|None", "").replace("None|", "")
    kinds = {"bool": "bool", "int": "int", "float": "float", "str": "str", "tuple[int,...]": "ints",
             "tuple[str,...]": "strs"}
    if base not in kinds:
        raise TypeError(f"a setting's type must be one of {', '.join(kinds)} (optionally | None), not {annotation}")
    return kinds[base], optional


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_shown(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---- sections ----------------------------------------------------------------------------------------------


class Section:
    """Base of a settings section (a frozen dataclass made by :func:`section`)."""

    NAME: ClassVar[str] = ""
    PREFIX: ClassVar[str] = ""
    PROGRAMS: ClassVar[tuple[str, ...]] = ("train",)
    FLAT: ClassVar[bool] = False  # its settings are also read as ``cfg.<field>``
    DECLARED: ClassVar[dict[str, Declared]] = {}  # field name → declaration

    def __getattribute__(self, name: str) -> Any:
        if _READS is not None and not name.startswith("_"):
            declared = type(self).DECLARED.get(name)
            if declared is not None:
                _READS.add(declared.flag)
        return object.__getattribute__(self, name)

    def unread(self, cfg: Config) -> dict[str, str]:
        """Flags of this section's settings that a run with ``cfg`` does not read, each with why (e.g. "DiscFace
        is off: `discface_lambda` is 0"). A given one is refused with that reason."""
        return {}

    def check(self, cfg: Config) -> None:
        """Raise :class:`ConfigError` for settings of this section that cannot work together (or with ``cfg``'s
        others)."""


SECTIONS: dict[str, type[Section]] = {}  # name → section class, in the order they were declared


def section(name: str, *, prefix: str = "", programs: tuple[str, ...] = ("train",), flat: bool = False):
    """Class decorator: a frozen dataclass of :func:`setting` fields, registered as section ``name`` of the
    ``programs`` (``train``, ``evaluate``). A field's flag is ``prefix`` + its name unless it names another.
    Declaring a name twice is an error, unless it is the same class (a module imported twice)."""

    def wrap(cls: type) -> type[Section]:
        if not issubclass(cls, Section):
            raise TypeError(f"{cls.__name__}: a settings section subclasses tfface.settings.Section")
        cls = dataclasses.dataclass(frozen=True)(cls)
        cls.NAME, cls.PREFIX, cls.PROGRAMS, cls.FLAT = name, prefix, tuple(programs), flat
        declared = {}
        for f in dataclasses.fields(cls):
            kind, optional = _kind_of(f.type)
            meta = f.metadata
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            declared[f.name] = Declared(name, f.name, meta.get("flag") or prefix + f.name, kind, optional, default,
                                        meta.get("help", ""), meta.get("choices"), meta.get("limit"),
                                        meta.get("structural") or False, cls.__module__)
        cls.DECLARED = declared
        old = SECTIONS.get(name)
        if old is not None and old.__qualname__ == cls.__qualname__ and old.__module__ == cls.__module__:
            return old
        if old is not None:
            raise ConfigError(f"settings section {name!r} is declared twice ({old.__module__} and "
                              f"{cls.__module__}); pick another name.")
        peers = {n: c for n, c in SECTIONS.items() if set(c.PROGRAMS) & set(programs)}
        flat_fields = {d.field for c in peers.values() if c.FLAT for d in c.DECLARED.values()}
        clash = [f for f in declared if flat and (f in peers or f == name)] + ([name] if name in flat_fields else [])
        if clash:  # cfg.<name> would be ambiguous
            raise ConfigError(f"section {name!r}: {clash[0]!r} is both a section and a setting read as cfg.{clash[0]}; "
                              "rename one of them.")
        taken = {d.flag: s for s, c in SECTIONS.items() for d in c.DECLARED.values()
                 if set(c.PROGRAMS) & set(programs)}
        for d in declared.values():
            if d.flag in taken:
                raise ConfigError(f"setting `{d.flag}` of section {name!r} ({cls.__module__}) is already a "
                                  f"setting of section {taken[d.flag]!r}; pick another name.")
        SECTIONS[name] = cls
        return cls

    return wrap


def sections_of(program: str) -> dict[str, type[Section]]:
    """The sections registered for ``program`` (``train`` or ``evaluate``), in declaration order."""
    return {n: c for n, c in SECTIONS.items() if program in c.PROGRAMS}


def declarations(program: str) -> dict[str, Declared]:
    """Flag name → declaration of every setting of ``program``."""
    return {d.flag: d for c in sections_of(program).values() for d in c.DECLARED.values()}


def structural_settings(program: str = "train") -> list[str]:
    """The flags a resumed run must keep (declared ``structural``)."""
    return [f for f, d in declarations(program).items() if d.structural]


# ---- which settings the code reads ---------------------------------------------------------------------------

_READS: set[str] | None = None


@contextlib.contextmanager
def tracking_reads() -> Iterator[set[str]]:
    """Record the flags of every setting read inside the block (into the set it yields)."""
    global _READS
    outer, _READS = _READS, set()
    try:
        yield _READS
    finally:
        seen, _READS = _READS, outer
        if outer is not None:
            outer |= seen


@contextlib.contextmanager
def untracked() -> Iterator[None]:
    """Reads inside the block are the machinery's (validation, config.json), not the run's."""
    global _READS
    outer, _READS = _READS, None
    try:
        yield
    finally:
        _READS = outer


# ---- a program's whole configuration ---------------------------------------------------------------------------


class Config:
    """Every setting of one program run: an instance of each section registered for :attr:`PROGRAM`.

    ``cfg.<section>`` is a section, ``cfg.<field>`` a setting of a flat section; :meth:`setting`,
    :meth:`replace` and :meth:`of` take flag names. Immutable; equal when every section is."""

    PROGRAM: ClassVar[str] = "train"
    __slots__ = ("_sections",)

    def __init__(self, sections: dict[str, Section] | None = None):
        given = dict(sections or {})
        classes = sections_of(self.PROGRAM)
        unknown = set(given) - set(classes)
        if unknown:
            raise ConfigError(f"no settings section {', '.join(sorted(unknown))} in {self.PROGRAM} settings.")
        object.__setattr__(self, "_sections", {n: given.get(n) or c() for n, c in classes.items()})

    def _all(self) -> dict[str, Section]:
        """Every section, also those registered after this config was made (at their defaults)."""
        own = object.__getattribute__(self, "_sections")
        return {n: own.get(n) or c() for n, c in sections_of(self.PROGRAM).items()}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        sections = self._all()
        if name in sections:
            return sections[name]
        for s in sections.values():
            if type(s).FLAT and name in type(s).DECLARED:
                return getattr(s, name)
        raise AttributeError(f"{type(self).__name__} has no section or setting {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to {name}; use replace()")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._all() == other._all()

    def __hash__(self) -> int:
        return hash(tuple(self._all().items()))

    def __repr__(self) -> str:
        with untracked():
            given = {f: self.setting(f) for f in self.given()}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in given.items())})"

    def __reduce__(self):
        return (type(self), (object.__getattribute__(self, "_sections"),))

    # --- flag names -------------------------------------------------------------------------------------------

    @classmethod
    def declarations(cls) -> dict[str, Declared]:
        """Flag name → declaration of every setting of this program."""
        return declarations(cls.PROGRAM)

    @classmethod
    def declared(cls, flag: str) -> Declared:
        found = cls.declarations().get(flag)
        if found is None:
            raise ConfigError(f"`{flag}` is not a setting; names are the flags' (python "
                              f"{'train' if cls.PROGRAM == 'train' else 'evaluate'}.py --helpfull).")
        return found

    def setting(self, flag: str) -> Any:
        """The value of the setting that flag ``flag`` sets (``cfg.setting("ddl_bins") == cfg.ddl.bins``)."""
        d = self.declared(flag)
        return getattr(self._all()[d.section], d.field)

    def replace(self, **changes: Any) -> Any:
        """A copy with settings changed by flag name (``steps=20, ddl_bins=5``) or whole sections by section
        name (``ddl=DDLSettings(...)``); values are coerced to the settings' types."""
        sections = self._all()
        by_section: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            if name in sections and isinstance(value, Section):
                sections[name] = value
                continue
            d = self.declared(name)
            by_section.setdefault(d.section, {})[d.field] = d.coerce(value)
        for name, values in by_section.items():
            sections[name] = dataclasses.replace(sections[name], **values)
        return type(self)(sections)

    @classmethod
    def of(cls, **settings: Any) -> Any:
        """The defaults with ``settings`` (by flag name) changed: ``RunConfig.of(steps=20, head="cosface")``."""
        return cls().replace(**settings)

    def given(self) -> list[str]:
        """The flags whose settings differ from their defaults: those a user gave (on the command line, in a
        recipe or to :meth:`of`)."""
        with untracked():
            return [f for f, d in self.declarations().items() if self.setting(f) != d.default]

    def changed(self, flags: Iterable[str]) -> list[str]:
        """Those of ``flags`` whose setting differs from the default."""
        given = set(self.given())
        return [f for f in flags if f in given]

    def section_flags(self, section: str) -> list[str]:
        """The flag names of one section's settings."""
        return [d.flag for d in sections_of(self.PROGRAM)[section].DECLARED.values()]

    # --- checks --------------------------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`ConfigError` for the first setting outside its choices or range, then for each section's
        own :meth:`Section.check` — before a program writes anything."""
        with untracked():
            for flag, d in self.declarations().items():
                d.check(self.setting(flag))
            for s in self._all().values():
                s.check(self)

    # --- sources: flags, files, dicts ----------------------------------------------------------------------------

    @classmethod
    def from_flags(cls, flag_values: Any) -> Any:
        """Every setting from the flag of its name. With ``--config=<file>`` the file's settings replace the
        defaults and the flags given on the command line override them."""
        path = flag_values["config"].value if "config" in flag_values else None
        base = cls.from_file(path) if path else cls()
        changes = {}
        for flag in cls.declarations():
            if flag not in flag_values or (path and not flag_values[flag].present):
                continue  # no flag, or the recipe's value stands
            changes[flag] = flag_values[flag].value
        return base.replace(**changes)

    @classmethod
    def from_dict(cls, raw: dict, source: str | None = None) -> Any:
        """Settings by flag name (a recipe; the config.json of runs before sections existed) and/or sections as
        objects of their field or flag names (``"ddl": {"bins": 51}``, as config.json is written). A key that is
        not a setting, or a setting under another section's name, is an error naming ``source`` and the key
        when ``source`` is given; without ``source`` (a run's own config.json, read back) a setting found under
        the section it had in an older version is taken, and a key that is no setting is left out."""
        flags, sections = cls.declarations(), sections_of(cls.PROGRAM)
        changes, unknown = {}, []
        for key, value in raw.items():
            if key in sections and isinstance(value, dict):
                fields = sections[key].DECLARED
                by_flag = {d.flag: d for d in fields.values()}
                for name, v in value.items():
                    d = fields.get(name) or by_flag.get(name)
                    moved = flags.get(name) or flags.get(sections[key].PREFIX + name)
                    if d is not None:
                        changes[d.flag] = d.coerce(v, source)
                    elif moved is not None and source is None:  # a run's config.json from before the setting moved
                        changes[moved.flag] = moved.coerce(v)
                    elif moved is not None:
                        unknown.append(f"{key}.{name} (`{moved.flag}` is a setting of section {moved.section!r})")
                    else:
                        unknown.append(f"{key}.{name}")
            elif key in flags:
                changes[key] = flags[key].coerce(value, source)
            else:
                unknown.append(key)
        if unknown and source is not None:
            raise ConfigError(f"`config={source}`: {', '.join(sorted(unknown))} "
                              f"{'is' if len(unknown) == 1 else 'are'} not a setting; names are the flags' "
                              f"(python {cls.PROGRAM}.py --helpfull), or a section's fields inside it.")
        return cls().replace(**changes)

    RECIPE_COMMENTS: ClassVar[tuple[str, ...]] = ("description",)
    RUN_RECORD: ClassVar[tuple[str, ...]] = ()  # keys a run adds to its config.json (not settings)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Any:
        """A recipe (``configs/*.json``) or a run's ``config.json``: settings by flag name and/or sections as
        objects; ``description`` is a comment. A name that is not a setting is an error naming it and the
        file."""
        try:
            raw = json.loads(pathlib.Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"`config={path}`: file not found.") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"`config={path}`: not valid JSON ({err}).") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"`config={path}`: must hold a JSON object of settings by flag name.")
        raw = {k: v for k, v in raw.items() if k not in (*cls.RECIPE_COMMENTS, *cls.RUN_RECORD)}
        return cls.from_dict(raw, source=str(path))

    def to_dict(self) -> dict:
        """The nested form written to a workdir's config.json (sections as objects of their fields)."""
        with untracked():
            return {n: {f: list(v) if isinstance(v := getattr(s, f), tuple) else v for f in type(s).DECLARED}
                    for n, s in self._all().items()}

    @classmethod
    def schema(cls) -> dict:
        """A JSON Schema of this program's recipes, generated from the declarations."""
        types = {"bool": {"type": "boolean"}, "int": {"type": "integer"}, "float": {"type": "number"},
                 "str": {"type": "string"}, "ints": {"type": "array", "items": {"type": "integer"}},
                 "strs": {"type": "array", "items": {"type": "string"}}}

        def one(d: Declared) -> dict:
            out = {**types[d.kind], "description": d.help, "default": list(d.default) if isinstance(d.default, tuple)
                   else d.default}
            if d.optional:
                out["type"] = [out["type"], "null"]
            if d.choices:
                out["enum"] = list(d.choices)
            if d.limit is not None and d.kind in ("int", "float"):
                for end, key, open_key in ((d.limit.lo, "minimum", "exclusiveMinimum"),
                                           (d.limit.hi, "maximum", "exclusiveMaximum")):
                    if math.isfinite(end):
                        is_open = d.limit.open_lo if key == "minimum" else d.limit.open_hi
                        out[open_key if is_open else key] = end
            return out

        flags = cls.declarations()
        props: dict[str, Any] = {k: {"type": "string"} for k in cls.RECIPE_COMMENTS}
        props.update({f: one(d) for f, d in flags.items()})
        for name, c in sections_of(cls.PROGRAM).items():
            obj = {"type": "object", "additionalProperties": False,
                   "properties": {d.field: one(d) for d in c.DECLARED.values()}}
            props[name] = {"anyOf": [props[name], obj]} if name in props else obj  # `data`: a flag and a section
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"tfface {cls.PROGRAM} recipe",
                "type": "object", "additionalProperties": False, "properties": props}


def shown(value: Any) -> str:
    """A setting's value as a user writes it (lists comma-separated)."""
    return _shown(value)


class RunConfig(Config):
    """Every setting of a training run (train.py): the sections of the components and methods."""

    PROGRAM = "train"
    RUN_RECORD = ("num_classes", "head_sharded", "identities", "workdir")  # a run's config.json names its own workdir


class EvaluateConfig(Config):
    """Every setting of an evaluate.py run: what to evaluate, the protocol and its sections."""

    PROGRAM = "evaluate"

    def out_dir(self, subfolder: str = "") -> str:
        """Where the protocol writes: --out, which evaluate.py sets before a protocol runs (a new folder when the
        user gave none), else the checkpoint's workdir or the model's parent folder (+ ``subfolder``)."""
        if self.out:
            return self.out
        base = self.checkpoint or str(pathlib.Path(self.model).parent)
        return os.path.join(base, subfolder) if subfolder else base
