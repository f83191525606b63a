"""One page through the per-page stages: decode, preprocess, codes, OCR (with orientation from the reading)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import digitize.page.preprocess as P
from digitize.page.ingest import inspect
from digitize.pipeline.page import PageTask, process_page
from digitize.samples.documents import DocSpec, render, save_pdf

DPI = 200


@pytest.fixture(scope="module")
def page_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("p") / "page.pdf"
    save_pdf(render(DocSpec(), dpi=DPI).pages, path, dpi=DPI)
    return path


def _task(path: Path) -> PageTask:
    src = inspect(path, path.name, max_pixels=200_000_000, max_pages=10, render_dpi=300)
    return PageTask(path=str(path), kind=src.kind, page=1)


@pytest.mark.parametrize("wrong", [True, False], ids=["geometry-upside-down", "geometry-right"])
def test_uncertain_orientation_is_settled_by_the_reading(page_pdf: Path, monkeypatch: pytest.MonkeyPatch,
                                                         wrong: bool) -> None:
    real = P.preprocess
    flips = []

    def unsure(image: np.ndarray, **kw: object) -> P.Prepared:
        prepared = real(image, **kw)  # type: ignore[arg-type]
        if wrong:  # the page's own cues got it upside down, and said they were unsure
            prepared = dataclasses.replace(prepared.turned_180(), quality=prepared.quality)
        return dataclasses.replace(prepared, upright_sure=False)

    orig_turn = P.Prepared.turned_180

    def counting_turn(self: P.Prepared) -> P.Prepared:
        flips.append(1)
        return orig_turn(self)

    monkeypatch.setattr(P, "preprocess", unsure)
    monkeypatch.setattr(P.Prepared, "turned_180", counting_turn)
    out = process_page(_task(page_pdf))
    assert out.result.error is None
    assert "Điều 1. Cấp giấy phép xây dựng" in out.result.text
    assert out.result.mean_conf > 80
    assert out.result.quality.rotation == (180 if wrong else 0)
    assert len(flips) == (2 if wrong else 0)  # a good reading of an unsure page costs no second run
