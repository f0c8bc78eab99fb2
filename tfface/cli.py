"""What every absl program of tfface does around ``app.run``: ``--help`` lists the program's own flags (absl
lists those of its main module, which for an installed script is a stub) and exits 0, as ``--helpfull`` does
with every flag."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from absl import app
from absl import flags as absl_flags

HELP_FLAGS = ("--help", "-help", "-?", "--helpshort", "--helpfull")


def list_in_help(flag_names: Iterable[str], argv: list[str] | None = None,
                 flag_values: absl_flags.FlagValues = absl_flags.FLAGS) -> None:
    """Make ``flag_names`` the ones ``--help`` shows."""
    main = (argv or sys.argv)[0]
    for name in flag_names:
        flag_values.register_key_flag_for_module(main, flag_values[name])


def exit_on_help(argv: list[str] | None = None) -> None:
    """If the command line asks for help: the program's docstring and flags on stdout, exit 0."""
    argv = sys.argv if argv is None else argv
    asked = [arg for arg in argv[1:] if arg in HELP_FLAGS]
    if not asked:
        return
    full = "--helpfull" in asked
    app.usage(shorthelp=not full, writeto_stdout=True)
    if not full:
        print("Try --helpfull for every flag, absl's and TensorFlow's included.")
    raise SystemExit(0)


def run_tool(main: Callable[[list[str]], None], module_name: str) -> None:
    """``app.run(main)`` for a small tool whose flags are defined in ``module_name``."""
    flag_values = absl_flags.FLAGS
    module_name = sys.argv[0] if module_name == "__main__" else module_name  # absl's name for a run module
    list_in_help([f.name for f in flag_values.get_flags_for_module(module_name)])
    exit_on_help()
    app.run(main)


def refuse_arguments(argv: list[str]) -> None:
    """A program that takes only flags: anything else on its command line, or a --flagfile line without its
    leading dashes (absl passes those on as arguments), is an error rather than ignored."""
    extra = argv[1:]
    if extra:
        raise SystemExit(f"error: {' '.join(repr(a) for a in extra)}: not a flag. Flags are written --name=value, on "
                         "the command line and in a --flagfile alike.")
