"""``GET /api/v1/reports``: the office report's numbers for the portal team (the counting of ``digitize report``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from digitize.api.auth import audit, require
from digitize.api.context import ApiContext, ctx
from digitize.api.routes import AUTH_ERRORS, _errors
from digitize.handoff import report
from storage.access import ApiKey

router = APIRouter(prefix="/api/v1")


class CountsOut(BaseModel):
    """The counts of one group (``key``) or of the whole period (``key`` = ``total``)."""

    key: str
    files: int = Field(description="files received")
    pages: int = Field(description="pages received")
    documents: int = Field(description="result documents made")
    linked: int = Field(description="documents with a dossier code")
    needs_review: int = Field(description="documents still waiting for a clerk")
    reviewed: int = Field(description="documents reviewed by a clerk at least once")
    signed: int = Field(description="documents with the agency's signed copy")
    published: int = Field(description="documents accepted by the portal")
    failed: int = Field(description="files that could not be processed")
    rescans: int = Field(description="pages flagged for a new scan")
    reviewers: dict[str, int] = Field(description="documents reviewed, per clerk")


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    label: str
    from_: str | None = Field(alias="from", description="first day, Vietnam time")
    to: str | None = Field(description="last day (included)")


class ReportOut(BaseModel):
    """A period's counts, per group and in total."""

    period: PeriodOut
    by: str | None
    columns: list[str]
    rows: list[CountsOut]
    total: CountsOut


@router.get("/reports", tags=["reports"], summary="Counts of a period in the office's terms",
            response_model=ReportOut, responses=_errors(400, *AUTH_ERRORS))
async def get_report(request: Request,
                     period: str | None = Query(None, description="2026-Q3, 2026-07 or 2026", examples=["2026-Q3"]),
                     from_: str | None = Query(None, alias="from", description="first day, YYYY-MM-DD"),
                     to: str | None = Query(None, description="last day (included), YYYY-MM-DD"),
                     by: str | None = Query(None, pattern="^(issuer|type|dossier|batch|clerk)$",
                                            description="one row per issuer, type, dossier, batch or clerk"),
                     key: ApiKey = Depends(require("read")), c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """Files and pages received, documents made, linked, needing review, reviewed (by whom), signed,
    published, failed, rescans pending; per group and in total (see ``digitize/handoff/report.py``)."""
    p = report.parse_period(period, from_, to)
    rep = await run_in_threadpool(report.build, c.index, p, by)
    audit(request, key, "report", p.label, 200, {"by": by})
    return rep.as_dict()
