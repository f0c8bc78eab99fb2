"""SynthFaces: long-tailed, with attributes, deterministic."""

import numpy as np


def test_synthfaces_is_long_tailed_with_attributes(tiny_source):
    counts = tiny_source.class_counts
    assert counts.min() >= 3 and counts.max() > 2 * np.median(counts)
    for key in ("yaw", "pitch", "light_azimuth", "resolution", "expression"):
        assert key in tiny_source.attributes
    assert set(np.unique(tiny_source.attributes["resolution"])) <= {32.0, 16.0, 8.0}


def test_synthfaces_is_deterministic():
    from tfface.data.synth_render import SynthFacesConfig, render, sample_identities, sample_nuisance

    cfg = SynthFacesConfig(image_size=32)
    imgs = [render(sample_identities(4, np.random.default_rng(5)),
                   sample_nuisance(4, np.random.default_rng(6), cfg), 32) for _ in range(2)]
    np.testing.assert_array_equal(imgs[0], imgs[1])
    assert imgs[0].dtype == np.uint8 and imgs[0].shape == (4, 32, 32, 3) and imgs[0].std() > 10
