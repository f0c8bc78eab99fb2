"""Backbones: uint8 face images -> embeddings.

Every model starts with (x − 127.5)/128 so it takes raw uint8 pixels (the same function is then
served by the SavedModel) and ends with the ArcFace embedding head BN → Dropout → FC → BN.

- ``iresnet18/34/50/100``: LResNet-E-IR (ArcFace paper, Sec. 3.2; insightface ``iresnet``).
- ``mobilefacenet``: Chen et al. 2018, Table 1, with a global depthwise (GDConv) embedding layer.
- ``small_cnn``: a 4-stage plain CNN that trains fast on a CPU (for tests and the default run).
"""

from __future__ import annotations

import functools

import keras
from keras import layers

from tfface.errors import ConfigError
from tfface.settings import Limit, Section, at_least, section, setting

IRESNET_LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 14, 3), 100: (3, 13, 30, 3)}

STRIDE = 16  # the backbones' total stride: four stride-2 stages


def _bn(sync: bool, name=None):
    return layers.BatchNormalization(momentum=0.9, epsilon=2e-5, synchronized=sync, name=name)


def _embedding_head(x, embedding_size: int, dropout: float, sync: bool):
    """BN → Dropout → Flatten → FC → BN (ArcFace's "E" output layer)."""
    x = _bn(sync, "emb_bn_in")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(embedding_size, name="emb_fc")(x)
    x = _bn(sync, "embedding")(x)
    return layers.Activation("linear", dtype="float32", name="embedding_f32")(x)


def _ibasic(x, filters: int, stride: int, sync: bool, name: str):
    """IResNet improved residual unit: BN-Conv-BN-PReLU-Conv-BN (+ 1×1 conv/BN shortcut)."""
    shortcut = x
    y = _bn(sync)(x)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_c1")(y)
    y = _bn(sync)(y)
    y = layers.PReLU(shared_axes=[1, 2])(y)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_c2")(y)
    y = _bn(sync)(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_sc")(shortcut)
        shortcut = _bn(sync)(shortcut)
    return layers.Add()([y, shortcut])


def iresnet(x, depth: int, embedding_size: int, dropout: float, sync: bool):
    if depth not in IRESNET_LAYERS:
        raise ValueError(f"`backbone=iresnet{depth}`: depth must be one of {sorted(IRESNET_LAYERS)}.")
    x = layers.Conv2D(64, 3, padding="same", use_bias=False, name="stem")(x)
    x = _bn(sync)(x)
    x = layers.PReLU(shared_axes=[1, 2])(x)
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), IRESNET_LAYERS[depth])):
        for b in range(blocks):
            x = _ibasic(x, filters, 2 if b == 0 else 1, sync, f"s{stage}b{b}")
    return _embedding_head(x, embedding_size, dropout, sync)


def _conv_bn(x, filters, kernel, stride, sync, act=True, depthwise=False):
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False)(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
    x = _bn(sync)(x)
    return layers.PReLU(shared_axes=[1, 2])(x) if act else x


def mobilefacenet(x, embedding_size: int, dropout: float, sync: bool):
    x = _conv_bn(x, 64, 3, 2, sync)
    x = _conv_bn(x, 64, 3, 1, sync, depthwise=True)
    for t, c, n, s in ((2, 64, 5, 2), (4, 128, 1, 2), (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1)):
        for i in range(n):
            stride = s if i == 0 else 1
            y = _conv_bn(x, x.shape[-1] * t, 1, 1, sync)
            y = _conv_bn(y, None, 3, stride, sync, depthwise=True)
            y = _conv_bn(y, c, 1, 1, sync, act=False)
            x = layers.Add()([x, y]) if stride == 1 and x.shape[-1] == c else y
    x = _conv_bn(x, 512, 1, 1, sync)
    x = layers.DepthwiseConv2D((x.shape[1], x.shape[2]), padding="valid", use_bias=False, name="gdconv")(x)
    x = _bn(sync)(x)
    x = layers.Conv2D(embedding_size, 1, use_bias=False)(x)
    x = layers.Flatten()(x)
    x = _bn(sync, "embedding")(x)
    return layers.Activation("linear", dtype="float32", name="embedding_f32")(x)


def small_cnn(x, embedding_size: int, dropout: float, sync: bool, width: int = 32):
    """Conv-BN-ReLU stages of width w, 2w, 4w, 8w, each halving the resolution."""
    for i, f in enumerate((width, 2 * width, 4 * width, 8 * width)):
        x = layers.Conv2D(f, 3, strides=2, padding="same", use_bias=False, name=f"conv{i}a")(x)
        x = _bn(sync)(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i}b")(x)
        x = _bn(sync)(x)
        x = layers.ReLU()(x)
    return _embedding_head(x, embedding_size, dropout, sync)


BACKBONES = {
    "small_cnn": small_cnn,
    "mobilefacenet": mobilefacenet,
    **{f"iresnet{d}": functools.partial(iresnet, depth=d) for d in IRESNET_LAYERS},
}


@section("model")
class ModelSettings(Section):
    """The backbone: image → embedding."""

    backbone: str = setting("small_cnn", "small_cnn | mobilefacenet | iresnet18/34/50/100.", choices=tuple(BACKBONES),
                            structural=True)
    embedding_size: int = setting(128, "Embedding dimension (512 is the IResNet convention).", limit=at_least(2),
                                  structural=True)
    dropout: float = setting(0.0, "Dropout before the embedding FC layer.", limit=Limit(0, 1, open_hi=True))
    sync_bn: bool = setting(True, "Synchronise batch-norm statistics across replicas, so N replicas train like one "
                            "device on the global batch.")

    def check(self, cfg) -> None:
        size = cfg.setting("image_size")
        if size % STRIDE:
            nearest = max(STRIDE, round(size / STRIDE) * STRIDE)
            raise ConfigError(f"`image_size={size}` must be a multiple of {STRIDE}, as the backbones halve it four "
                              f"times; the nearest is {nearest}.")


def build_backbone(name: str, input_size: int = 112, embedding_size: int = 512, dropout: float = 0.0,
                   sync_bn: bool = True) -> keras.Model:
    """uint8 images [N, input_size, input_size, 3] -> float32 embeddings [N, embedding_size]."""
    if name not in BACKBONES:
        raise ValueError(f"`backbone={name!r}` is unknown; choose one of {sorted(BACKBONES)}.")
    if input_size % STRIDE:
        raise ConfigError(f"`image_size={input_size}` must be a multiple of {STRIDE} (four stride-2 stages).")
    inputs = keras.Input((input_size, input_size, 3), name="images")
    x = layers.Rescaling(1.0 / 128.0, offset=-127.5 / 128.0, name="normalize")(inputs)
    out = BACKBONES[name](x, embedding_size=embedding_size, dropout=dropout, sync=sync_bn)
    return keras.Model(inputs, out, name=name)
