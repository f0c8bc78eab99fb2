"""The absl flag layer of train.py and evaluate.py, generated from the settings declarations
(:mod:`tfface.settings`): one flag per setting, with its default, help, choices and the module that declares
it (``--helpfull`` groups them so). This folder sits at the top of the repository and is installed as
``tfface.flags``; it is never a top-level ``flags`` module of its own.
"""

from __future__ import annotations

from absl import flags as absl_flags

from tfface.cli import exit_on_help, list_in_help
from tfface.settings import Declared, declarations

FLAGS = absl_flags.FLAGS


def define_flag(d: Declared, flag_values: absl_flags.FlagValues = FLAGS) -> None:
    """One absl flag for the setting ``d``."""
    args = {"flag_values": flag_values, "module_name": d.module}
    if d.kind == "bool":
        absl_flags.DEFINE_bool(d.flag, d.default, d.help, **args)
    elif d.kind == "int":
        absl_flags.DEFINE_integer(d.flag, d.default, d.help, **args)
    elif d.kind == "float":
        absl_flags.DEFINE_float(d.flag, d.default, d.help, **args)
    elif d.kind in ("ints", "strs"):
        absl_flags.DEFINE_list(d.flag, list(d.default), d.help, **args)
    elif d.choices is not None:
        absl_flags.DEFINE_enum(d.flag, d.default, list(d.choices), d.help, **args)
    else:
        absl_flags.DEFINE_string(d.flag, d.default, d.help, **args)


def define(program: str, flag_values: absl_flags.FlagValues = FLAGS) -> list[str]:
    """Define a flag for every setting of ``program`` (``train`` or ``evaluate``) that has none yet (sections
    declared since the last call: a module named in ``--imports``); return the names defined."""
    new = [d for flag, d in declarations(program).items() if flag not in flag_values]
    for d in new:
        define_flag(d, flag_values)
    return [d.flag for d in new]


def imports_given(argv: list[str], flag_values: absl_flags.FlagValues = FLAGS) -> tuple[list[str], list[str],
                                                                                         str | None, bool]:
    """(the modules ``--imports`` names on the command line or in a ``--flagfile``, those a ``--config`` recipe
    names, the recipe, ``--trust_imports``), read before the command line is parsed for real (the modules'
    sections add flags)."""
    import json
    import pathlib

    from tfface.registry import imports_named

    try:
        flag_values(argv, known_only=True)
    except absl_flags.Error:
        return [], [], None, False  # the program's own parse reports it
    try:
        modules = list(flag_values["imports"].value or [])
        recipe = flag_values["config"].value if "config" in flag_values else None
        trust = bool(flag_values["trust_imports"].value)
    finally:
        flag_values.unparse_flags()
    named = []
    if recipe and pathlib.Path(recipe).is_file():
        try:
            raw = json.loads(pathlib.Path(recipe).read_text())
        except json.JSONDecodeError:
            raw = {}  # the recipe's own error comes when it is read
        named = [m for m in imports_named(raw) if m not in modules]
    return modules, named, recipe, trust


def prepare(program: str, argv: list[str], flag_values: absl_flags.FlagValues = FLAGS) -> None:
    """Before a program parses its command line: define its flags, import the modules ``--imports`` names (so
    their methods, protocols and settings sections register) and define the flags of their sections."""
    from tfface.messages import show_on_stdout
    from tfface.registry import import_modules, trust_imports

    show_on_stdout(flag_values)  # what is imported is said
    define(program, flag_values)
    modules, named, recipe, trust = imports_given(argv, flag_values)
    trust_imports(modules, files=trust)
    import_modules(modules)
    import_modules(named, origin=f"`config={recipe}`")
    define(program, flag_values)
    list_in_help(declarations(program), argv, flag_values)  # --help lists the program's own flags
    exit_on_help(argv)
