"""Tesseract: the in-process engine (libtesseract's C API) and the one-run-per-page OCR wrapper."""
