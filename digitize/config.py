"""Settings, read once at the edge (CLI, worker entry point, API) from ``DIGITIZE_*`` variables.

Library code never reads the environment: it receives a ``Settings`` (or the values it needs).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class Settings(BaseSettings):
    """All configuration of digitize. Every field maps to ``DIGITIZE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="DIGITIZE_", extra="ignore")

    # where the embedded default keeps everything (objects/ and index.sqlite)
    archive: Path = Field(default=Path("digitize-archive"))
    jobs: int = Field(default_factory=_default_jobs, ge=1)

    # OCR
    lang: str = "vie"
    ocr_timeout: float = Field(default=180.0, gt=0)
    # "library": libtesseract in-process (the tesseract command when it cannot be loaded); "cli": always the command
    ocr_backend: Literal["library", "cli"] = "library"
    render_dpi: int = Field(default=300, ge=72, le=1200)

    # input limits
    max_pixels: int = Field(default=200_000_000, ge=1)  # decompression-bomb guard, per page
    max_pages: int = Field(default=5000, ge=1)

    # storage back-ends: "local" (folder) or "s3"; index: SQLAlchemy URL ("" = SQLite in archive)
    object_store: str = "local"
    index_url: str = ""
    s3_endpoint: str = "localhost:9000"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "digitize"
    s3_secure: bool = False
    s3_region: str = "us-east-1"

    # distributed mode
    redis_url: str = "redis://localhost:6379/0"
    job_timeout: int = Field(default=900, ge=10)
    job_retries: int = Field(default=3, ge=0)
    job_retry_delays: list[int] = Field(default=[5, 30, 120])  # seconds before retry 1, 2, 3... (JSON list)
    job_heartbeat: int = Field(default=5, ge=1)  # a running job's heartbeat interval (seconds)
    job_stale_after: int = Field(default=30, ge=3)  # no heartbeat for this long: the job is run again
    cache_dir: Path = Field(default=Path(tempfile.gettempdir()) / "digitize-cache")  # workers' copies of originals

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    # an uploaded scan is queued for the workers (distributed mode, DIGITIZE_REDIS_URL); otherwise it is
    # stored and recorded as queued, for `digitize run` or a later `enqueue`
    api_queue: bool = False
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)  # one uploaded scan (POST .../import)

    # signed electronic copies (digitize/sign.py): without a certificate, documents stay unsigned
    sign_pkcs12: Path | None = None  # the agency's certificate and key (.p12 / .pfx)
    sign_pkcs12_password: SecretStr | None = None
    sign_agency: str = ""  # the copying agency's name on the mark (default: the certificate's O, else CN)
    sign_copy_form: str = "SAO Y"  # hình thức sao (Decree 30/2020 art. 25: paper -> electronic is "sao y")
    sign_font: Path = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
    sign_location: str = ""

    # publishing packages to the portal (digitize/publish.py)
    portal_url: str = ""  # where `digitize publish` POSTs each document's package
    portal_token: SecretStr | None = None  # sent as "Authorization: Bearer ..."
    portal_ca_file: Path | None = None  # extra CA bundle for an https portal with a private CA
    publish_attempts: int = Field(default=6, ge=1)
    publish_backoff: float = Field(default=1.0, ge=0)  # first retry delay in seconds, doubled each time
    publish_max_delay: float = Field(default=60.0, ge=0)
    publish_timeout: float = Field(default=60.0, gt=0)

    def index_db_url(self) -> str:
        """The index's SQLAlchemy URL: ``DIGITIZE_INDEX_URL`` (e.g. PostgreSQL), else SQLite in the archive."""
        if self.index_url:
            return self.index_url
        return f"sqlite:///{(self.archive / 'index.sqlite').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (e.g. from CLI flags) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
