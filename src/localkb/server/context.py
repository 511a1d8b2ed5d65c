"""The per-app object every route reaches through ``request.app.state.localkb``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import Request

    from ..kb import KnowledgeBase
    from .jobs import JobRunner
    from .state import LLMHolder, ServerSettings


@dataclass
class ServerContext:
    settings: ServerSettings
    kb: KnowledgeBase
    jobs: JobRunner
    llm: LLMHolder

    def close(self) -> None:
        self.jobs.close()
        self.llm.close()
        self.kb.close()


def ctx(request: Request) -> ServerContext:
    return request.app.state.localkb
