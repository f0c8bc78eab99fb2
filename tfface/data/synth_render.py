"""The SynthFaces renderer: identity parameters, per-image nuisance and the NumPy rasteriser (no files).

An identity is a vector of face-shape parameters (head shape, jaw, eye spacing/size, brows, nose, mouth, skin
tone, hair colour and hairline, a cheek mark). Every image of an identity is rendered with its own nuisance:
yaw/pitch/roll, light direction and strength, expression, scale and shift jitter, low resolution, blur and noise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

RENDERER_VERSION = 3


@dataclasses.dataclass(frozen=True)
class SynthFacesConfig:
    """What to render. ``train_identities`` get long-tailed class sizes; held-out ones a fixed count. A
    ``scenario`` other than ``default`` lays the identities and images out for one paper's mechanism
    (tfface.data.synth_scenarios)."""

    train_identities: int = 1000
    heldout_identities: int = 300
    heldout_images: int = 10
    min_images: int = 3
    max_images: int = 120
    tail_exponent: float = 1.2
    image_size: int = 64
    pairs_per_fold: int = 300
    seed: int = 0
    max_yaw: float = 35.0
    max_pitch: float = 15.0
    max_roll: float = 8.0
    scenario: str = "default"

    def key(self, scenario_params: dict | None = None) -> str:
        """The render's cache key: these settings, the renderer version and a scenario's own settings."""
        settings = dataclasses.asdict(self)
        if settings["scenario"] == "default":  # the caches rendered before scenarios existed keep their key
            del settings["scenario"]
        elif scenario_params:
            settings["scenario_params"] = scenario_params
        blob = json.dumps({**settings, "v": RENDERER_VERSION}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]


IDENTITY_PARAMS = (
    "face_w", "face_h", "jaw", "skin_r", "skin_g", "skin_b", "eye_sep", "eye_y", "eye_size",
    "eye_aspect", "iris", "brow_gap", "brow_thick", "brow_tilt", "nose_len", "nose_w", "mouth_y",
    "mouth_w", "lip", "hair_r", "hair_g", "hair_b", "hairline", "hair_volume", "mark_x", "mark_y",
    "mark_size",
)

IDENTITY_RANGES = {
    "face_w": (0.52, 0.72), "face_h": (0.70, 0.90), "jaw": (1.6, 3.0),
    "skin_r": (0.45, 0.95), "skin_g": (0.30, 0.75), "skin_b": (0.20, 0.60),
    "eye_sep": (0.17, 0.34), "eye_y": (-0.22, -0.02), "eye_size": (0.06, 0.12),
    "eye_aspect": (0.35, 0.75), "iris": (0.0, 1.0), "brow_gap": (0.08, 0.20),
    "brow_thick": (0.015, 0.05), "brow_tilt": (-0.35, 0.35), "nose_len": (0.12, 0.32),
    "nose_w": (0.04, 0.11), "mouth_y": (0.30, 0.52), "mouth_w": (0.12, 0.30), "lip": (0.0, 1.0),
    "hair_r": (0.02, 0.75), "hair_g": (0.02, 0.55), "hair_b": (0.02, 0.40),
    "hairline": (-0.80, -0.35), "hair_volume": (1.02, 1.25),
    "mark_x": (-0.45, 0.45), "mark_y": (-0.1, 0.45), "mark_size": (0.0, 0.07),
}


def sample_identities(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw n identity parameter vectors (uniform in each parameter's range)."""
    return {k: rng.uniform(*IDENTITY_RANGES[k], size=n) for k in IDENTITY_PARAMS}


def sample_nuisance(n: int, rng: np.random.Generator, cfg: SynthFacesConfig) -> dict[str, np.ndarray]:
    """Per-image pose, light, expression, framing and degradation."""
    size = cfg.image_size
    factors = [f for f in (1, 2, 4) if size % f == 0]
    return {
        "yaw": rng.uniform(-cfg.max_yaw, cfg.max_yaw, n),
        "pitch": rng.uniform(-cfg.max_pitch, cfg.max_pitch, n),
        "roll": rng.uniform(-cfg.max_roll, cfg.max_roll, n),
        "light_azimuth": rng.uniform(-80, 80, n),
        "light_strength": rng.uniform(0.3, 1.0, n),
        "expression": rng.uniform(-1, 1, n),
        "scale": rng.uniform(0.9, 1.1, n),
        "shift_x": rng.uniform(-0.06, 0.06, n),
        "shift_y": rng.uniform(-0.06, 0.06, n),
        "downsample": rng.choice(factors, size=n, p=_down_probs(len(factors))),
        "blur": rng.choice([0.0, 0.0, 0.5, 0.9], size=n),
        "noise": rng.uniform(0.0, 0.03, n),
        "bg": rng.uniform(0.1, 0.9, (n, 3)),
        "tint": rng.uniform(0.88, 1.12, (n, 3)),
    }


def _down_probs(k: int) -> list[float]:
    p = np.array([0.6, 0.25, 0.15][:k])
    return list(p / p.sum())


def _sig(d, edge):
    return 1.0 / (1.0 + np.exp(-np.clip(d / edge, -30, 30)))


def render(ident: dict[str, np.ndarray], nuis: dict[str, np.ndarray], size: int) -> np.ndarray:
    """Render faces: identity and nuisance arrays of length N -> uint8 images [N, size, size, 3]."""
    n = len(nuis["yaw"])
    col = lambda a: np.asarray(a, np.float32).reshape(n, 1, 1)  # noqa: E731
    p = {k: col(v) for k, v in ident.items()}
    q = {k: col(v) for k, v in nuis.items() if k not in ("bg", "tint")}
    lin = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    u, v = np.meshgrid(lin, lin)
    u, v = u[None], v[None]
    # framing: roll, scale, shift (inverse map from image to face coordinates)
    roll = np.deg2rad(q["roll"])
    uu, vv = (u - q["shift_x"]) / q["scale"], (v - q["shift_y"]) / q["scale"]
    x = np.cos(roll) * uu + np.sin(roll) * vv
    y = -np.sin(roll) * uu + np.cos(roll) * vv
    yaw, pitch = np.deg2rad(q["yaw"]), np.deg2rad(q["pitch"])
    edge = 1.5 / size

    def place(fx, fy, depth):
        """Project a face point (fx, fy) at a depth onto the image under yaw/pitch."""
        return fx * np.cos(yaw) + depth * np.sin(yaw), fy * np.cos(pitch) + depth * np.sin(pitch)

    # head outline: superellipse, narrower under yaw
    cx, cy = place(0.0, 0.0, 0.0)
    a = p["face_w"] * (0.8 + 0.2 * np.cos(yaw))
    b = p["face_h"] * (0.85 + 0.15 * np.cos(pitch))
    xn, yn = (x - cx) / a, (y - cy) / b
    jaw_exp = np.where(yn > 0, p["jaw"], 2.0)
    r = (np.abs(xn) ** jaw_exp + np.abs(yn) ** 2.0) ** (1.0 / 2.0)
    face = _sig(1.0 - r, edge / a)
    # lambertian shading of an ellipsoid, light from the azimuth
    nz = np.sqrt(np.clip(1.0 - xn**2 - yn**2, 0.0, 1.0))
    az = np.deg2rad(q["light_azimuth"])
    lx, lz = np.sin(az), np.cos(az)
    shade = 0.35 + q["light_strength"] * np.clip(xn * lx + nz * lz, 0.0, 1.0)
    shade = 0.55 * shade + 0.45 * (0.35 + q["light_strength"])
    # hair: a larger ellipse, above the hairline
    hair_r = (((x - cx) / (a * p["hair_volume"])) ** 2 + ((y - cy + 0.05) / (b * p["hair_volume"])) ** 2)
    hair = _sig(1.0 - np.sqrt(hair_r), edge) * _sig(p["hairline"] * b + cy - y + 0.0 * x, edge)
    hair = np.maximum(hair, _sig(1.0 - np.sqrt(hair_r), edge) * (1 - face))
    hair = hair * _sig(-(y - cy - 0.15), edge)

    expr = q["expression"]
    img = np.empty((n, size, size, 3), np.float32)
    skin = [p["skin_r"], p["skin_g"], p["skin_b"]]
    haircol = [p["hair_r"], p["hair_g"], p["hair_b"]]
    bg = nuis["bg"].astype(np.float32)
    # features as soft masks
    masks = []
    for side in (-1.0, 1.0):
        ex, ey = place(side * p["eye_sep"], p["eye_y"], 0.55)
        ew, eh = p["eye_size"], p["eye_size"] * p["eye_aspect"] * (1.0 - 0.35 * np.clip(expr, 0, 1))
        ew = ew * (0.75 + 0.25 * np.cos(yaw + side * 0.5))
        eye = _sig(1.0 - np.sqrt(((x - ex) / ew) ** 2 + ((y - ey) / eh) ** 2), edge / ew)
        iris = _sig(1.0 - np.sqrt(((x - ex) / (0.5 * eh + 0.3 * ew)) ** 2 + ((y - ey) / eh) ** 2), 0.05)
        bx, by = place(side * p["eye_sep"], p["eye_y"] - p["brow_gap"], 0.55)
        tilt = side * p["brow_tilt"]
        dyb = (y - by) - tilt * (x - bx)
        brow = _sig(p["brow_thick"] - np.abs(dyb), edge) * _sig(1.3 * p["eye_size"] - np.abs(x - bx), edge)
        masks.append((eye, iris * eye, brow))
    nx, ny = place(0.0, p["eye_y"] + p["nose_len"], 1.0)
    nose_top_y = place(0.0, p["eye_y"], 0.7)[1]
    along = np.clip((y - nose_top_y) / np.maximum(ny - nose_top_y, 1e-3), 0, 1)
    nose_w = p["nose_w"] * (0.3 + 0.7 * along)
    nose_side = (x - nx + 0.0) / nose_w
    nose = _sig(1.0 - np.abs(nose_side), edge) * (along > 0) * _sig(ny + 0.02 - y, edge)
    mx, my = place(0.0, p["mouth_y"], 0.8)
    mw = p["mouth_w"] * (0.7 + 0.3 * np.cos(yaw)) * (1.0 + 0.15 * expr)
    curve = -0.12 * expr * (1 - ((x - mx) / mw) ** 2)
    lip_h = 0.02 + 0.02 * p["lip"] + 0.03 * np.clip(expr, 0, 1)
    mouth = _sig(lip_h - np.abs(y - my - curve), edge) * _sig(1.0 - np.abs((x - mx) / mw), edge / mw)
    kx, ky = place(p["mark_x"] * a, p["mark_y"], 0.6)
    mark = _sig(p["mark_size"] - np.sqrt((x - kx) ** 2 + (y - ky) ** 2), edge)

    lipcol = [0.55 + 0.3 * p["lip"], 0.15 + 0.1 * p["lip"], 0.2 + 0.05 * p["lip"]]
    iriscol = [0.1 + 0.3 * p["iris"], 0.08 + 0.3 * (1 - p["iris"]), 0.05 + 0.4 * p["iris"]]
    for c in range(3):
        ch = skin[c] * np.ones_like(x)
        ch = ch * (1 - 0.35 * nose * np.clip(-nose_side + 0.3, 0, 1))  # side of the nose darker
        ch = ch * (1 - 0.5 * mark)
        for eye, iris, brow in masks:
            ch = ch * (1 - eye) + eye * (0.95 * (1 - iris) + iriscol[c] * iris)
            ch = ch * (1 - brow) + brow * haircol[c] * 0.8
        ch = ch * (1 - mouth) + mouth * lipcol[c]
        ch = ch * shade
        ch = ch * face + (1 - face) * bg[:, c].reshape(n, 1, 1)
        ch = ch * (1 - hair) + hair * haircol[c] * (0.6 + 0.4 * shade)
        img[..., c] = ch * nuis["tint"][:, c].reshape(n, 1, 1).astype(np.float32)
    img = _degrade(img, nuis)
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def resolution(nuis: dict[str, np.ndarray], size: int) -> np.ndarray:
    """The pixel resolution each image is rendered at before upsampling to ``size`` (size / downsample)."""
    return np.round(size / nuis["downsample"]).astype(int)


def _area_weights(size: int, r: int) -> np.ndarray:
    """[r, size] weights averaging each of r equal spans of ``size`` pixels (fractional pixels counted in part)."""
    edges = np.arange(r + 1) * size / r
    px = np.arange(size)[None]
    overlap = np.clip(np.minimum(edges[1:, None], px + 1) - np.maximum(edges[:-1, None], px), 0, None)
    return (overlap * r / size).astype(np.float32)


def _degrade(img: np.ndarray, nuis: dict[str, np.ndarray]) -> np.ndarray:
    """Low resolution (area average + nearest upsampling; block average for whole factors), Gaussian blur and
    pixel noise."""
    from scipy.ndimage import gaussian_filter

    n, s = img.shape[:2]
    for f in np.unique(nuis["downsample"]):
        if f == 1:
            continue
        sel = nuis["downsample"] == f
        if f == int(f) and s % int(f) == 0:
            f = int(f)
            small = img[sel].reshape(-1, s // f, f, s // f, f, 3).mean(axis=(2, 4))
            img[sel] = np.repeat(np.repeat(small, f, axis=1), f, axis=2)
        else:
            r = int(round(s / f))
            w = _area_weights(s, r)
            small = np.einsum("ry,nyxc,sx->nrsc", w, img[sel], w)
            nearest = ((np.arange(s) + 0.5) * r / s).astype(int)
            img[sel] = small[:, nearest][:, :, nearest]
    for sigma in np.unique(nuis["blur"]):
        if sigma > 0:
            sel = nuis["blur"] == sigma
            img[sel] = gaussian_filter(img[sel], sigma=(0, sigma, sigma, 0))
    rng = np.random.default_rng(int(abs(nuis["yaw"][0]) * 1e6) % (2**32))
    img += rng.normal(size=img.shape).astype(np.float32) * nuis["noise"].reshape(n, 1, 1, 1)
    return img


def class_sizes(cfg: SynthFacesConfig, rng: np.random.Generator) -> np.ndarray:
    """Long-tailed (capped Pareto) images-per-class for the training identities."""
    u = rng.uniform(size=cfg.train_identities)
    n = np.floor(cfg.min_images / u ** (1.0 / cfg.tail_exponent))
    return np.clip(n, cfg.min_images, cfg.max_images).astype(int)
