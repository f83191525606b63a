#!/usr/bin/env python3
"""Train the handwritten digit reader (digitize/data/digits.npz) from handwriting-style fonts.

Build-time only. The fonts come from npm's ``@fontsource`` packages (OFL-1.1 / Apache-2.0, see README),
fetched with ``npm pack`` into a scratch folder (or given with ``--fonts DIR`` holding ``*.woff``).
Each digit is rendered in every training font and distorted the way pen and scanner distort it:
stroke width, slant, rotation, elastic wobble, size, blur, threshold, specks, a neighbour's stroke at
the edge. Class 10 ("not a digit") is printed and handwritten letters and two digits run together,
so the reader can decline. A few fonts are held out and the accuracy on them is printed. Seeded:
the same fonts and seed give the same model.

    python scripts/train_digits.py [--fonts DIR] [--seed 13] [--out digitize/data/digits.npz]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from digitize.document import handwriting as hw  # noqa: E402

VERSION = "5.3.0"
TRAIN_FONTS = (
    "annie-use-your-telescope", "architects-daughter", "caveat", "caveat-brush", "cedarville-cursive",
    "covered-by-your-grace", "gaegu", "gloria-hallelujah", "handlee", "homemade-apple", "indie-flower",
    "itim", "nanum-brush-script", "nanum-pen-script", "neucha", "patrick-hand", "rock-salt", "schoolbell",
    "sriracha", "sue-ellen-francisco", "swanky-and-moo-moo", "the-girl-next-door", "zen-kurenaido", "yomogi",
    "edu-sa-beginner", "just-another-hand", "nothing-you-could-do", "pangolin", "mali", "playpen-sans",
)
HELD_OUT = ("kalam", "gochi-hand", "shadows-into-light", "reenie-beanie")
PRINTED = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
           "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
           "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
           "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")
# letters and marks that may fall into a slot; none that a hand could mean as a digit (l I O o S Z B g q b G);
# the slash only in printed faces (a pen's "1" can look like a slash)
OTHER_CHARS = "ACDEFHKMNPQRTUVWXYacdefhkmnprtuvwxyĐđốơưăâêộ-~:"


def fetch_fonts(names: tuple[str, ...], dest: str) -> dict[str, str]:
    """``npm pack`` each @fontsource package into ``dest`` and keep its latin 400 .woff."""
    out = {}
    for name in names:
        woff = os.path.join(dest, f"{name}.woff")
        if not os.path.exists(woff):
            subprocess.run(["npm", "pack", "--silent", f"@fontsource/{name}@{VERSION}"], cwd=dest, check=True,
                           stdout=subprocess.DEVNULL)
            with tarfile.open(os.path.join(dest, f"fontsource-{name}-{VERSION}.tgz")) as tar:
                member = next(m for m in tar.getmembers() if m.name.endswith(f"{name}-latin-400-normal.woff"))
                with open(woff, "wb") as f:
                    f.write(tar.extractfile(member).read())
        out[name] = woff
    return out


def render(font: ImageFont.FreeTypeFont, text: str, size: int, stroke: int = 0) -> np.ndarray:
    """The text's ink (0..255) on a black canvas with room around it."""
    img = Image.new("L", (size * (2 + len(text)), size * 3), 0)
    ImageDraw.Draw(img).text((size // 2, size // 2), text, font=font, fill=255, stroke_width=stroke,
                             stroke_fill=255)
    return np.asarray(img)


def distort(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Pen and scanner: stroke width, slant, rotation, elastic wobble, size, blur, threshold, specks."""
    ys, xs = np.nonzero(ink > 64)
    if len(xs) == 0:
        return None
    g = ink[max(ys.min() - 8, 0) : ys.max() + 9, max(xs.min() - 8, 0) : xs.max() + 9].astype(np.float32) / 255
    g = cv2.copyMakeBorder(g, 16, 16, 16, 16, cv2.BORDER_CONSTANT, value=0)
    h, w = g.shape
    k = int(rng.integers(-1, 3))  # thinner or thicker pen
    if k > 0:
        g = cv2.dilate(g, np.ones((k + 1, k + 1), np.uint8))
    elif k < 0 and g.shape[0] > 50:
        g = cv2.erode(g, np.ones((2, 2), np.uint8))
    shear = rng.uniform(-0.45, 0.3)
    angle = np.deg2rad(rng.uniform(-10, 10))
    sx, sy = rng.uniform(0.7, 1.25), rng.uniform(0.85, 1.15)
    c, s = np.cos(angle), np.sin(angle)
    a = np.array([[c, -s], [s, c]]) @ np.array([[sx, shear], [0, sy]])
    centre = np.array([w / 2, h / 2])
    m = np.hstack([a, (centre - a @ centre)[:, None]]).astype(np.float32)
    g = cv2.warpAffine(g, m, (w, h), flags=cv2.INTER_LINEAR)
    alpha, sigma = rng.uniform(0, 0.06) * h, 0.12 * h  # elastic wobble of the hand
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    norm = max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    g = cv2.remap(g, gx + dx / norm * alpha, gy + dy / norm * alpha, cv2.INTER_LINEAR)
    target = rng.uniform(16, 60) / max(h - 32, 1)  # digit height on the scan: 16..60 px
    g = cv2.resize(g, (max(8, round(w * target)), max(8, round(h * target))), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.7:
        g = cv2.GaussianBlur(g, (0, 0), rng.uniform(0.3, 1.2))
    g = g + rng.normal(0, rng.uniform(0, 0.12), g.shape).astype(np.float32)
    mask = g > rng.uniform(0.3, 0.6)
    if rng.random() < 0.3:  # specks of scanner dust
        for _ in range(int(rng.integers(1, 4))):
            mask[rng.integers(0, mask.shape[0]), rng.integers(0, mask.shape[1])] = True
    if not mask.any():
        return None
    return keep_main(mask)


def keep_main(mask: np.ndarray) -> np.ndarray:
    """Drop specks far smaller than the glyph (as the slot reader does before classifying)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.nonzero(areas >= 0.08 * areas.max())[0]
    return np.isin(lab, keep)


def samples(fonts: dict[str, str], per_digit: int, per_other: int, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and labels: each digit in each font ``per_digit`` times, class 10 ``per_other`` per font."""
    feats, labels = [], []
    cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}

    def font(path: str, size: int) -> ImageFont.FreeTypeFont:
        if (path, size) not in cache:
            cache[(path, size)] = ImageFont.truetype(path, size)
        return cache[(path, size)]

    def add(ink: np.ndarray, label: int) -> None:
        mask = distort(ink, rng)
        if mask is not None:
            feats.append(hw.glyph_features(mask))
            labels.append(label)

    for path in fonts.values():
        for digit in range(10):
            for _ in range(per_digit):
                add(render(font(path, 64), str(digit), 64, stroke=int(rng.integers(0, 2))), digit)
        for _ in range(per_other):
            r = rng.random()
            if r < 0.35:  # two digits run together: the slot reader must split them
                text = f"{rng.integers(0, 10)}{rng.integers(0, 10)}"
                add(render(font(path, 64), text, 64), hw.OTHER)
            elif r < 0.45:  # the printed "/" of the symbol, where the slot's end is not known
                add(render(font(PRINTED[int(rng.integers(0, len(PRINTED)))], 64), "/", 64), hw.OTHER)
            else:
                p = path if r < 0.7 else PRINTED[int(rng.integers(0, len(PRINTED)))]
                add(render(font(p, 64), OTHER_CHARS[int(rng.integers(0, len(OTHER_CHARS)))], 64), hw.OTHER)
    return np.stack(feats), np.array(labels)


def train(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, hidden: int = 160, epochs: int = 30,
          lr: float = 2e-3, decay: float = 1e-4) -> hw.Model:
    """A two-layer perceptron by mini-batch Adam, cross-entropy with light label smoothing."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-3
    xs = (x - mean) / scale
    n, d = xs.shape
    k = hw.OTHER + 1
    params = [rng.normal(0, np.sqrt(2 / d), (d, hidden)).astype(np.float32), np.zeros(hidden, np.float32),
              rng.normal(0, np.sqrt(2 / hidden), (hidden, k)).astype(np.float32), np.zeros(k, np.float32)]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    target = np.full((n, k), 0.05 / k, np.float32)
    target[np.arange(n), y] += 0.95
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(n)
        rate = lr * (0.5 * (1 + np.cos(np.pi * epoch / epochs)))
        for i in range(0, n, 256):
            b = order[i : i + 256]
            w1, b1, w2, b2 = params
            h = np.maximum(xs[b] @ w1 + b1, 0)
            z = h @ w2 + b2
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - target[b]) / len(b)
            dh = (dz @ w2.T) * (h > 0)
            grads = [xs[b].T @ dh + decay * w1, dh.sum(0), h.T @ dz + decay * w2, dz.sum(0)]
            step += 1
            for j, g in enumerate(grads):
                m1[j] = 0.9 * m1[j] + 0.1 * g
                m2[j] = 0.999 * m2[j] + 0.001 * g * g
                params[j] -= rate * (m1[j] / (1 - 0.9**step)) / (np.sqrt(m2[j] / (1 - 0.999**step)) + 1e-8)
    return hw.Model(mean.astype(np.float32), scale.astype(np.float32), *params)


def report(model: hw.Model, x: np.ndarray, y: np.ndarray, name: str) -> None:
    """Print accuracy, and at the reader's acceptance threshold: right / wrong / declined."""
    p = model.probabilities(x)
    pred = p.argmax(axis=1)
    print(f"{name}: {len(y)} samples, accuracy {np.mean(pred == y):.3f}")
    digits = y != hw.OTHER
    sure = p.max(axis=1) >= hw.MIN_DIGIT_CONF
    right = np.sum(digits & sure & (pred == y))
    wrong = np.sum(digits & sure & (pred != y))
    print(f"  digits at confidence >= {hw.MIN_DIGIT_CONF}: right {right / digits.sum():.3f}, "
          f"wrong {wrong / digits.sum():.3f}, declined {1 - (right + wrong) / digits.sum():.3f}")
    other = ~digits
    if other.any():
        print(f"  not-a-digit taken for a digit: {np.mean((pred[other] != hw.OTHER) & sure[other]):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fonts", help="folder to keep the fetched fonts in (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--per-digit", type=int, default=260)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "digitize", "data",
                                                  hw.MODEL_FILE))
    args = ap.parse_args()
    cv2.setRNGSeed(args.seed)
    cv2.setNumThreads(1)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.fonts or tmp
        os.makedirs(folder, exist_ok=True)
        train_fonts = fetch_fonts(TRAIN_FONTS, folder)
        held_fonts = fetch_fonts(HELD_OUT, folder)
        rng = np.random.default_rng(args.seed)
        x, y = samples(train_fonts, args.per_digit, args.per_digit * 4, rng)
        print(f"training set: {len(y)} glyphs from {len(train_fonts)} fonts ({time.time() - t0:.0f} s)")
        model = train(x, y, rng)
        report(model, x, y, "training fonts")
        hx, hy = samples(held_fonts, 100, 200, np.random.default_rng(args.seed + 1))
        report(model, hx, hy, f"held-out fonts ({', '.join(HELD_OUT)})")
    model.save(args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out) // 1024} KB) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
