"""The repository's top level is the design card's, and the flag layer at its top installs inside tfface only."""

import configparser
import subprocess
import sys

from conftest import REPO

CARD = ("README.md", "setup.cfg", "tfface", "flags", "train.py", "evaluate.py", "tests")


def test_the_top_level_holds_the_cards_entries():
    for name in CARD:
        assert (REPO / name).exists(), f"{name} is missing from the top level"
    assert not (REPO / "tfface" / "flags").exists()  # the flag layer lives once, at the top


def test_setup_lists_every_package_and_maps_flags_into_tfface():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "tfface").rglob("__init__.py")}
    assert found | {"tfface.flags"} == listed, "setup.cfg's packages must list every package under tfface/"
    mapping = dict(line.split("=") for line in cfg["options"]["package_dir"].split("\n") if line.strip())
    assert {k.strip(): v.strip() for k, v in mapping.items()} == {"tfface.flags": "flags"}


def test_the_installed_flags_are_tfface_flags_and_no_top_level_flags(tmp_path):
    """Outside the checkout, `import tfface.flags` finds flags/ and `import flags` finds nothing."""
    probe = ("import importlib.util, tfface.flags; print(tfface.flags.__file__); "
             "print(importlib.util.find_spec('flags'))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    where, top = out.stdout.split()
    assert where == str(REPO / "flags" / "__init__.py") and top == "None"
