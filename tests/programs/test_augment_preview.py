"""tfface-augment-preview writes the grid of what the model sees."""

import subprocess
import sys

import numpy as np
import tensorflow as tf
from conftest import REPO


def test_preview_grid_shows_images_draws_and_each_family(tiny_synth, tmp_path):
    out = subprocess.run([sys.executable, "-m", "tfface.programs.augment_preview", "--data=list",
                          f"--list_file={tiny_synth / 'meta.csv'}", "--image_size=32", "--augment=light",
                          "--aug_blur=0.5", "--preview_images=3", "--preview_draws=4",
                          f"--out={tmp_path / 'grid.png'}"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "crop=0.1" in out.stdout and "blur=0.5" in out.stdout
    grid = tf.io.decode_png(tf.io.read_file(str(tmp_path / "grid.png"))).numpy()
    families = 5  # light's crop, rotate, color, gray, and blur from its flag
    assert grid.shape == ((3 + families) * 36 + 4, 5 * 36 + 4, 3)
    first_row = [grid[4:36, 4 + c * 36:36 + c * 36] for c in range(5)]
    assert len({cell.tobytes() for cell in first_row}) == 5  # the image and 4 different draws
    assert np.array_equal(grid[4 + 3 * 36:36 + 3 * 36, 4:36], first_row[0])  # family rows start from image 1

    bad = subprocess.run([sys.executable, "-m", "tfface.programs.augment_preview", "--data=list",
                          f"--list_file={tiny_synth / 'meta.csv'}", "--aug_rotate=90",
                          f"--out={tmp_path / 'x.png'}"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "--aug_rotate" in bad.stderr
