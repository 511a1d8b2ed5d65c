"""``/api/calibration``: the open KB's calibrated cut-off and where it came from (the web page's overview
draws it): each calibration-bank sentence — everyday text about nothing in this KB — with its best cosine
here, and the stored record (method, spread, median, when it was measured)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .context import ctx

router = APIRouter(prefix="/api", tags=["knowledge base"])


@router.get("/calibration", summary="The KB's calibrated cut-off and the unrelated-text scores it comes from")
def calibration(request: Request) -> dict[str, Any]:
    from ..search.report import calibration_view

    return calibration_view(ctx(request).kb)
