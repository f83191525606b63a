"""A small reader of handwritten digits (the number and the day written by pen into printed forms).

The model is a two-layer perceptron over HOG and coarse-pixel features of one digit's ink, trained at
build time by ``scripts/train_digits.py`` on handwriting-style fonts rendered and distorted (no real
document is used); its weights live in ``digitize/data/digits.npz`` (numpy only at run time).
Class 10 is "not a digit" (printed letters and marks), so stray ink is declined, not guessed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

SIDE = 28  # a glyph is normalised into SIDE x SIDE pixels
INNER = 20  # its longer side is scaled to INNER pixels (MNIST-like margins)
OTHER = 10  # class index of "not a digit"
MODEL_FILE = "digits.npz"
MIN_DIGIT_CONF = 0.8  # a digit read less surely than this is not taken

CELL, BINS = 7, 9  # HOG: 4 x 4 cells of 7 pixels, 9 unsigned orientations, blocks of 2 x 2 cells


def hog(img: np.ndarray) -> np.ndarray:
    """Histograms of oriented gradients (Dalal-Triggs layout, L2-Hys blocks) of a SIDE x SIDE image."""
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=1)
    mag = np.hypot(gx, gy)
    ang = (np.arctan2(gy, gx) % np.pi) / np.pi * BINS
    lo = np.floor(ang).astype(int) % BINS
    frac = ang - np.floor(ang)
    n = SIDE // CELL
    hist = np.zeros((n, n, BINS), np.float32)
    cy, cx = np.divmod(np.arange(SIDE * SIDE), SIDE)
    cy, cx = cy // CELL, cx // CELL
    np.add.at(hist, (cy, cx, lo.ravel()), (mag * (1 - frac)).ravel())
    np.add.at(hist, (cy, cx, (lo.ravel() + 1) % BINS), (mag * frac).ravel())
    blocks = []
    for i in range(n - 1):
        for j in range(n - 1):
            v = hist[i : i + 2, j : j + 2].ravel()
            v = np.minimum(v / (np.linalg.norm(v) + 1e-6), 0.2)
            blocks.append(v / (np.linalg.norm(v) + 1e-6))
    return np.concatenate(blocks)


def normalise(mask: np.ndarray) -> np.ndarray:
    """One glyph's ink (bool or 0/255, any size) as a SIDE x SIDE float image, 0..1, centred by mass."""
    m = (np.asarray(mask) > 0).astype(np.uint8) * 255
    ys, xs = np.nonzero(m)
    out = np.zeros((SIDE, SIDE), np.float32)
    if len(xs) == 0:
        return out
    m = m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = m.shape
    s = INNER / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = cv2.resize(m, (nw, nh), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mass = small.sum()
    cy = (small.sum(axis=1) @ np.arange(nh)) / mass if mass else nh / 2
    cx = (small.sum(axis=0) @ np.arange(nw)) / mass if mass else nw / 2
    top = int(round(SIDE / 2 - cy - 0.5))
    left = int(round(SIDE / 2 - cx - 0.5))
    top, left = min(max(top, 0), SIDE - nh), min(max(left, 0), SIDE - nw)
    out[top : top + nh, left : left + nw] = small
    return out


def features(glyph: np.ndarray) -> np.ndarray:
    """Feature vector of a normalised glyph: HOG (324) + 14x14 pixels (196) + aspect ratio."""
    coarse = cv2.resize(glyph, (14, 14), interpolation=cv2.INTER_AREA).ravel()
    return np.concatenate([hog(glyph.astype(np.float32)), coarse]).astype(np.float32)


def glyph_features(mask: np.ndarray) -> np.ndarray:
    """Features of one glyph's ink mask, with its aspect ratio appended (a "1" is tall and thin)."""
    m = np.asarray(mask) > 0
    ys, xs = np.nonzero(m)
    aspect = ((xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1)) if len(xs) else 1.0
    return np.concatenate([features(normalise(m)), [min(aspect, 3.0)]]).astype(np.float32)


@dataclass(frozen=True)
class Model:
    """Weights of the perceptron: standardisation, hidden layer (ReLU) and output layer (softmax)."""

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def probabilities(self, feats: np.ndarray) -> np.ndarray:
        """Class probabilities (n, 11) of feature rows (n, d)."""
        x = (np.atleast_2d(feats) - self.mean) / self.scale
        h = np.maximum(x @ self.w1 + self.b1, 0.0)
        z = h @ self.w2 + self.b2
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: str) -> None:
        """Write the weights (float16; the file stays small)."""
        np.savez_compressed(path, **{k: getattr(self, k).astype(np.float16) for k in
                                     ("mean", "scale", "w1", "b1", "w2", "b2")})


def load_model(path: str | None = None) -> Model:
    """The model shipped in digitize/data (or one at ``path``)."""
    if path is None:
        return _shipped()
    with np.load(path) as z:
        return Model(**{k: z[k].astype(np.float32) for k in z.files})


@functools.lru_cache(maxsize=1)
def _shipped() -> Model:
    with resources.as_file(resources.files("digitize") / "data" / MODEL_FILE) as p:
        return load_model(str(p))


def classify(masks: list[np.ndarray], model: Model | None = None) -> np.ndarray:
    """Class probabilities (n, 11) of glyph ink masks; class 10 is "not a digit"."""
    if not masks:
        return np.zeros((0, OTHER + 1), np.float32)
    model = model or load_model()
    return model.probabilities(np.stack([glyph_features(m) for m in masks]))
