"""FTL's modules (Yin et al., "Feature Transfer Learning for Face Recognition with Under-Represented
Data", CVPR 2019, Fig. 2): encoder Enc (image → rich feature g), decoder Dec (g → image, Eq. 1),
filtering network R (g → identity feature f: linear → 2 deconvolutions → 2 convolutions → linear)
and the classifier FC (any tfface margin head; softmax by default).
"""

from __future__ import annotations

import keras

from tfface.models.backbones import build_backbone


def build_encoder(backbone: str, image_size: int, rich_dim: int = 320, dropout: float = 0.0,
                  sync_bn: bool = False) -> keras.Model:
    """Enc: any tfface backbone with a ``rich_dim`` output (uint8 images in, g out)."""
    return build_backbone(backbone, image_size, rich_dim, dropout, sync_bn)


def build_decoder(rich_dim: int, image_size: int, width: int = 64) -> keras.Model:
    """Dec: g → image in [0, 1] of ``image_size`` (a multiple of 8): linear, 3 stride-2 deconvolutions."""
    if image_size % 8:
        raise ValueError(f"FTL's decoder needs `image_size` divisible by 8 (got {image_size}).")
    s = image_size // 8
    g = keras.Input((rich_dim,), name="g")
    x = keras.layers.Dense(s * s * width, activation="relu")(g)
    x = keras.layers.Reshape((s, s, width))(x)
    for c in (width, width // 2, width // 4):
        x = keras.layers.Conv2DTranspose(c, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid", dtype="float32")(x)
    return keras.Model(g, x, name="ftl_decoder")


def build_filter(rich_dim: int, out_dim: int = 320, width: int = 32, grid: int = 4,
                 shape: str = "paper") -> keras.Model:
    """R: g → f, the paper's linear → 2 deconvolution → 2 convolution → linear shape (widths ours), or with
    ``shape="linear"`` one linear layer (an ablation)."""
    g = keras.Input((rich_dim,), name="g")
    if shape == "linear":
        return keras.Model(g, keras.layers.Dense(out_dim, name="f", dtype="float32")(g), name="ftl_filter")
    if shape != "paper":
        raise ValueError(f"R's shape must be paper or linear (got {shape!r})")
    x = keras.layers.Dense(grid * grid * width, activation="relu")(g)
    x = keras.layers.Reshape((grid, grid, width))(x)
    for _ in range(2):
        x = keras.layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu")(x)
    for _ in range(2):
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    f = keras.layers.Dense(out_dim, name="f", dtype="float32")(x)
    return keras.Model(g, f, name="ftl_filter")
