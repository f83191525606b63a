"""Tesseract kept loaded in the process, through the C API of the system's libtesseract.

Every ``tesseract`` command starts from nothing: it loads the language model and builds Tesseract's
table of universal character ambiguities, about 0.15 s of CPU before the first pixel is read, and the
page image makes a round trip through a PNG file. One engine per process (per thread) pays that once;
each page then costs only its recognition. It is the same library the ``tesseract`` command runs, with
the same settings, so the words come out the same (tested against the command line).

The bindings are the handful of C API calls this needs (``capi.h``, stable since Tesseract 4). When the
library cannot be loaded (another platform, no ``libtesseract.so.5``) :func:`engine` returns None and
:mod:`digitize.page.tesseract.ocr` runs the ``tesseract`` command instead (as it does when the
``ocr_backend`` setting is ``cli``).
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from digitize.errors import OcrError

log = logging.getLogger(__name__)

TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_SIGNATURES: dict[str, tuple[list[object], object]] = {
    "TessVersion": ([], _S),
    "TessBaseAPICreate": ([], _P),
    "TessBaseAPIDelete": ([_P], None),
    "TessBaseAPIEnd": ([_P], None),
    "TessBaseAPIInit3": ([_P, _S, _S], _I),
    "TessBaseAPISetVariable": ([_P, _S, _S], _I),
    "TessBaseAPIGetDatapath": ([_P], _S),
    "TessBaseAPISetPageSegMode": ([_P, _I], None),
    "TessBaseAPISetImage": ([_P, _P, _I, _I, _I, _I], None),
    "TessBaseAPISetSourceResolution": ([_P, _I], None),
    "TessBaseAPIRecognize": ([_P, _P], _I),
    "TessBaseAPIGetTsvText": ([_P, _I], _P),
    "TessBaseAPIClear": ([_P], None),
    "TessDeleteText": ([_P], None),
    "TessMonitorCreate": ([], _P),
    "TessMonitorDelete": ([_P], None),
    "TessMonitorSetDeadlineMSecs": ([_P, _I], None),
    "TessPDFRendererCreate": ([_S, _S, _I], _P),
    "TessResultRendererBeginDocument": ([_P, _S], _I),
    "TessResultRendererAddImage": ([_P, _P], _I),
    "TessResultRendererEndDocument": ([_P], _I),
    "TessDeleteResultRenderer": ([_P], None),
}

# Tesseract variables set for every reading, in-process or by the command. Tesseract 5 reads each line
# it is unsure of a second time, inverted (for white-on-black text); result documents have none, and
# that second reading costs ~5% of the OCR time.
VARIABLES = {"tessedit_do_invert": "0"}

_lib: ctypes.CDLL | None = None
_lib_error: str | None = None
_lock = threading.Lock()
_local = threading.local()
_all: list[Engine] = []


def _library() -> ctypes.CDLL | None:
    """libtesseract with the signatures declared, or None (and the reason kept) when it cannot be loaded."""
    global _lib, _lib_error
    with _lock:
        if _lib is not None or _lib_error is not None:
            return _lib
        # one OpenMP thread per page (workers scale by processes); read when the library is loaded
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        name = ctypes.util.find_library("tesseract") or "libtesseract.so.5"
        try:
            lib = ctypes.CDLL(name)
            for fn, (args, res) in _SIGNATURES.items():
                f = getattr(lib, fn)
                f.argtypes = args
                f.restype = res
            version = (lib.TessVersion() or b"").decode()
            if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 4:
                raise OSError(f"Tesseract {version} is older than 4")
        except (OSError, AttributeError) as e:
            _lib_error = f"{name}: {e}"
            log.info("libtesseract not usable in-process (%s): running the tesseract command", _lib_error)
            return None
        _quiet_leptonica()
        _lib = lib
        return lib


_LEPT_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p)


def _log_leptonica(msg: bytes | None) -> None:
    log.debug("leptonica: %s", (msg or b"").decode("utf-8", "replace").rstrip())


_lept_handler = _LEPT_HANDLER(_log_leptonica)  # kept referenced: C holds on to it


def _quiet_leptonica() -> None:
    """Send leptonica's messages ("Error in pixScanForForeground: invalid box" on some pages, harmless
    to Tesseract's reading) to the debug log instead of the worker's stderr."""
    name = ctypes.util.find_library("lept") or ctypes.util.find_library("leptonica") or "liblept.so.5"
    try:
        lept = ctypes.CDLL(name)
        lept.leptSetStderrHandler.argtypes = [_LEPT_HANDLER]
        lept.leptSetStderrHandler.restype = None
        lept.leptSetStderrHandler(_lept_handler)
    except (OSError, AttributeError) as e:
        log.debug("leptonica messages stay on stderr (%s)", e)


class Engine:
    """One initialised Tesseract for one language. Not thread-safe: use :func:`engine`."""

    def __init__(self, lib: ctypes.CDLL, lang: str) -> None:
        self._lib = lib
        self.lang = lang
        self.pid = os.getpid()
        self._api = lib.TessBaseAPICreate()
        # tprintf output (resolution estimates, diacritics notes) would go to the worker's stderr
        lib.TessBaseAPISetVariable(self._api, b"debug_file", os.devnull.encode())
        if lib.TessBaseAPIInit3(self._api, None, lang.encode()) != 0:
            lib.TessBaseAPIDelete(self._api)
            self._api = None
            raise OcrError(f"tesseract cannot load the language data for {lang!r} "
                           f"(apt-get install tesseract-ocr-{lang.split('+')[0]})")
        for name, value in VARIABLES.items():
            lib.TessBaseAPISetVariable(self._api, name.encode(), value.encode())
        self._datapath = lib.TessBaseAPIGetDatapath(self._api)

    def recognize(self, image: np.ndarray, *, dpi: float, psm: int = 3, timeout: float = 180.0,
                  text_pdf: bool = False) -> tuple[str, bytes]:
        """Read a uint8 image (gray, or BGR): Tesseract's TSV (with its header line) and, with
        ``text_pdf``, its text-only PDF page (else empty bytes)."""
        lib, api = self._lib, self._api
        if api is None:
            raise OcrError("the tesseract engine was closed")
        if image.ndim == 3:
            image = image[..., ::-1]  # Tesseract takes RGB
        image = np.ascontiguousarray(image)
        h, w = image.shape[:2]
        bpp = 1 if image.ndim == 2 else image.shape[2]
        monitor = lib.TessMonitorCreate()
        renderer = None
        tmp = tempfile.TemporaryDirectory(prefix="digitize-ocr-") if text_pdf else None
        try:
            lib.TessMonitorSetDeadlineMSecs(monitor, int(timeout * 1000))
            lib.TessBaseAPISetPageSegMode(api, psm)
            lib.TessBaseAPISetImage(api, image.ctypes.data, w, h, bpp, image.strides[0])
            lib.TessBaseAPISetSourceResolution(api, max(70, round(dpi)))
            start = time.monotonic()
            failed = lib.TessBaseAPIRecognize(api, monitor) != 0  # also when the deadline cut it short
            if time.monotonic() - start >= timeout:
                raise OcrError(f"tesseract took longer than {timeout:g} s")
            if failed:
                raise OcrError("tesseract failed to recognise the page")
            ptr = lib.TessBaseAPIGetTsvText(api, 0)
            if not ptr:
                raise OcrError("tesseract produced no output")
            try:
                tsv = TSV_HEADER + ctypes.string_at(ptr).decode("utf-8")
            finally:
                lib.TessDeleteText(ptr)
            pdf = b""
            if tmp is not None:
                base = Path(tmp.name) / "out"
                renderer = lib.TessPDFRendererCreate(str(base).encode(), self._datapath, 1)
                if not (renderer and lib.TessResultRendererBeginDocument(renderer, b"")
                        and lib.TessResultRendererAddImage(renderer, api)
                        and lib.TessResultRendererEndDocument(renderer)):
                    raise OcrError("tesseract could not write the text layer")
                pdf = Path(str(base) + ".pdf").read_bytes()
            return tsv, pdf
        finally:
            if renderer:
                lib.TessDeleteResultRenderer(renderer)
            lib.TessMonitorDelete(monitor)
            lib.TessBaseAPIClear(api)
            if tmp is not None:
                tmp.cleanup()

    def close(self) -> None:
        """Free the engine (also done at exit)."""
        if self._api is not None:
            self._lib.TessBaseAPIEnd(self._api)
            self._lib.TessBaseAPIDelete(self._api)
            self._api = None


def engine(lang: str) -> Engine | None:
    """This thread's engine for ``lang`` (created on first use), or None when libtesseract cannot be
    used in-process. A forked child gets its own engine, not its parent's."""
    lib = _library()
    if lib is None:
        return None
    engines: dict[tuple[int, str], Engine] = _local.__dict__.setdefault("engines", {})
    key = (os.getpid(), lang)
    eng = engines.get(key)
    if eng is None:
        eng = Engine(lib, lang)
        engines[key] = eng
        with _lock:
            _all.append(eng)
    return eng


@atexit.register
def _close_all() -> None:
    # Without TessBaseAPIEnd, Tesseract's object cache complains about leaks on stderr at exit.
    pid = os.getpid()
    with _lock:
        mine = [e for e in _all if e.pid == pid]
        _all.clear()
    for e in mine:
        e.close()
