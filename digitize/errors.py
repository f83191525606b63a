"""One exception hierarchy with messages a clerk or operator can act on.

Each error carries an exit code (CLI), an HTTP status (API) and a short reason code (index, job
failure reason), in the spirit of OCRmyPDF's ``exceptions.py``.
"""

from __future__ import annotations


class DigitizeError(Exception):
    """Base of every error the product raises on purpose."""

    exit_code = 2
    http_status = 500
    reason = "error"
    advice = ""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} ({self.advice})" if self.advice else text


class ConfigError(DigitizeError):
    """The configuration is wrong or incomplete."""

    exit_code = 3
    reason = "config"


class InputError(DigitizeError):
    """An input file cannot be processed as it is."""

    exit_code = 4
    http_status = 422
    reason = "bad_input"


class EmptyFileError(InputError):
    reason = "empty_file"


class UnsupportedTypeError(InputError):
    reason = "unsupported_type"
    http_status = 415
    advice = "supported: PDF, TIFF, JPEG, PNG"


class CorruptFileError(InputError):
    reason = "corrupt"


class EncryptedPdfError(InputError):
    reason = "encrypted"
    advice = "remove the password (e.g. `qpdf --decrypt --password=... in.pdf out.pdf`) and run again"


class ImageTooLargeError(InputError):
    reason = "too_large"
    http_status = 413


class PageError(DigitizeError):
    """One page failed; the rest of the file and the batch go on."""

    reason = "page_failed"


class OcrError(PageError):
    """Tesseract failed or is missing."""

    reason = "ocr_failed"


class MissingDependencyError(DigitizeError):
    """A required external program (tesseract, pdftoppm) is not installed."""

    exit_code = 5
    reason = "missing_dependency"


class DossierCodeError(DigitizeError):
    """A string is not a valid dossier code (mã hồ sơ)."""

    exit_code = 2
    http_status = 400
    reason = "invalid_dossier_code"


class NotFoundError(DigitizeError):
    """A document, dossier or object does not exist."""

    exit_code = 6
    http_status = 404
    reason = "not_found"


class StorageError(DigitizeError):
    """Object storage or the index failed (possibly transiently)."""

    exit_code = 7
    http_status = 503
    reason = "storage"


class IntegrityError(StorageError):
    """An object's bytes do not match the sha256 recorded for it."""

    reason = "integrity"


class SigningError(DigitizeError):
    """An electronic copy cannot be signed: certificate, password or font missing or wrong."""

    exit_code = 3
    http_status = 503
    reason = "signing"


class PublishError(DigitizeError):
    """The portal refused a package, or stayed unreachable after every retry."""

    exit_code = 8
    http_status = 502
    reason = "publish_failed"
