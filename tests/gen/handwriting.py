"""Pen-written digits for the handwriting tests, drawn stroke by stroke (no font: nothing the reader was
trained on), and a decision page with the number and the day filled in by pen.

Each digit is a few strokes (polylines and arcs in a unit box) drawn with a jittered hand: random
slant, size, stroke width and wobble, in blue or black ink.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import ImageDraw

from digitize.samples.documents import DocSpec, font, render

BLUE = (170, 60, 20)  # BGR: ballpoint blue
BLACK = (40, 35, 35)


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 14) -> list[tuple[float, float]]:
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(a0, a1, n)]


# strokes in a unit box (x right, y down)
STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "0": [_arc(0.5, 0.5, 0.42, 0.5, -90, 275, 24)],
    "1": [[(0.2, 0.3), (0.62, 0.0), (0.6, 1.0)]],
    "2": [_arc(0.5, 0.3, 0.4, 0.3, 200, 370) + [(0.1, 1.0), (0.95, 0.98)]],
    "3": [_arc(0.45, 0.26, 0.4, 0.26, 210, 450) + _arc(0.45, 0.74, 0.45, 0.26, -90, 150)],
    "4": [[(0.7, 1.0), (0.68, 0.0), (0.05, 0.68), (0.98, 0.66)]],
    "5": [[(0.9, 0.02), (0.25, 0.0), (0.18, 0.45)] + _arc(0.48, 0.7, 0.42, 0.3, -120, 150)],
    "6": [[(0.8, 0.02), (0.45, 0.15)] + _arc(0.5, 0.68, 0.4, 0.32, 200, 560, 26)],
    "7": [[(0.05, 0.02), (0.95, 0.0), (0.35, 1.0)]],
    "8": [_arc(0.5, 0.25, 0.33, 0.25, 90, 450, 20), _arc(0.5, 0.74, 0.42, 0.26, -90, 270, 20)],
    "9": [_arc(0.5, 0.3, 0.4, 0.3, 0, 360, 22), [(0.9, 0.3), (0.82, 1.0)]],
}


def pen_digits(img: np.ndarray, text: str, x: int, baseline: int, height: int, *, ink: tuple[int, int, int],
               seed: int = 0) -> int:
    """Write ``text`` (digits) by pen into the BGR ``img`` from ``x`` with its bottom at ``baseline``;
    returns the x after the last digit."""
    rnd = random.Random(seed)
    thick = max(2, round(height * rnd.uniform(0.07, 0.11)))
    slant = rnd.uniform(0.05, 0.3)
    for ch in text:
        h = height * rnd.uniform(0.9, 1.1)
        w = h * rnd.uniform(0.5, 0.62)
        for stroke in STROKES[ch]:
            pts = []
            for px, py in stroke:
                px += rnd.gauss(0, 0.025)
                py += rnd.gauss(0, 0.025)
                pts.append((x + px * w + (1 - py) * h * slant, baseline - h + py * h))
            cv2.polylines(img, [np.array(pts, np.int32)], False, ink, thick, cv2.LINE_AA)
        x += int(w + h * slant * 0.3 + height * rnd.uniform(0.12, 0.25))
    return x


@dataclass
class FilledPage:
    """A decision's first page (BGR) with pen-filled number and day, and what they say."""

    image: np.ndarray
    number: str
    date: dt.date


def filled_decision(number_digits: str = "47", day: int = 17, *, ink: tuple[int, int, int] = BLUE,
                    date: dt.date = dt.date(2025, 3, 1), seed: int = 0, dpi: int = 300) -> FilledPage:
    """A Quyết định whose "Số:      /QĐ-UBND" and "ngày      tháng 3 năm 2025" were printed blank and
    filled in by pen at issuance."""
    spec = DocSpec(number="          /QĐ-UBND", date=date)
    page = render(spec, dpi=dpi).pages[0]
    # the date line is printed with the day left blank: draw it again over a white band
    pt = dpi / 72
    f_i = font(round(13 * pt), italic=True)
    d = ImageDraw.Draw(page)
    W = page.width
    right_cx = int(W * 0.66)
    old = f"{spec.place}, ngày {date.day:02d} tháng {date.month} năm {date.year}"
    new = f"{spec.place}, ngày          tháng {date.month} năm {date.year}"
    y = int(20 / 25.4 * dpi) + 2 * int(f_i.size * 1.35) + int(8 * pt)
    d.rectangle((right_cx - d.textlength(old, font=f_i) / 2 - 5, y - 5, W - 10, y + f_i.size * 1.3), fill=255)
    d.text((right_cx - d.textlength(new, font=f_i) / 2, y), new, font=f_i, fill=0)
    img = cv2.cvtColor(np.asarray(page), cv2.COLOR_GRAY2BGR)
    h = round(f_i.size * 0.95)
    # the number: in the blank before "/QĐ-UBND"
    f_reg = font(round(13 * pt))
    left_cx = int(W * 0.27)
    num_line = f"Số: {spec.number}"
    nx = left_cx - d.textlength(num_line, font=f_reg) / 2 + d.textlength("Số: ", font=f_reg)
    ny = int(20 / 25.4 * dpi) + 2 * int(f_reg.size * 1.35) + int(8 * pt)
    pen_digits(img, number_digits, int(nx + 0.3 * h), ny + int(f_reg.size * 0.95), h, ink=ink, seed=seed)
    dx = right_cx - d.textlength(new, font=f_i) / 2 + d.textlength(f"{spec.place}, ngày ", font=f_i)
    pen_digits(img, f"{day:02d}" if day < 10 and seed % 2 else str(day), int(dx + 0.3 * h),
               y + int(f_i.size * 0.95), h, ink=ink, seed=seed + 1)
    rng = np.random.default_rng(seed)  # scanner noise
    img = np.clip(img.astype(np.int16) + rng.normal(0, 4, img.shape).astype(np.int16), 0, 255).astype(np.uint8)
    return FilledPage(img, f"{number_digits}/QĐ-UBND", dt.date(date.year, date.month, day))
