"""Test set-up: oneDNN on, quiet logs, and helpers shared by the tests."""

import pathlib

from tfface.env import configure_tf_env

configure_tf_env()  # before TensorFlow loads (importing tfface loads nothing)

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """../shared/data, or skip with the reason."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"real face data not found at {SHARED_DATA} (research-only, kept beside the clone)")
    return SHARED_DATA


def pytest_configure(config):
    # Two logical CPU devices for the whole session, before any TensorFlow op runs, so the
    # distributed tests can mirror over /cpu:0 and /cpu:1 while the others use /cpu:0.
    from tfface.training.strategy import split_cpu

    split_cpu(2)


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A small SynthFaces set (32 px, 40 training + 12 held-out identities), rendered once."""
    from tfface.data.synthfaces import SynthFacesConfig, build_synthfaces

    cfg = SynthFacesConfig(train_identities=40, heldout_identities=12, max_images=16, image_size=32,
                           pairs_per_fold=20, seed=3)
    return build_synthfaces(cfg, tmp_path_factory.mktemp("synth"), log=lambda s: None)


@pytest.fixture(scope="session")
def tiny_source(tiny_synth):
    from tfface.data.sources import from_list_file

    return from_list_file(tiny_synth / "meta.csv", where={"split": "train"})


def train_config(*argv):
    """The RunConfig train.py builds from these command-line arguments."""
    import tfface.flags.training  # noqa: F401  (train.py's flags)
    from absl import flags

    from tfface.config import RunConfig

    fv = flags.FLAGS
    fv.unparse_flags()
    fv(["train.py", *argv])
    try:
        return RunConfig.from_flags(fv)
    finally:
        fv.unparse_flags()
