"""``localkb mcp``: the knowledge base as a Model Context Protocol server, for agents and assistants.

Two layers, so the tools can be used and tested without any MCP machinery:

* ``tools.KBTools`` — what each tool does, as plain methods over one open ``KnowledgeBase`` (the same
  library calls the CLI makes), returning JSON-ready dicts and raising ``LocalKBError``;
* ``server.build_server`` — the official MCP SDK's ``MCPServer`` exposing those methods, with strict
  argument checks; ``server.run_stdio`` / ``server.http_app`` serve it over stdio or streamable HTTP.

This package is named ``localkb.mcp``; inside it, ``import mcp`` is the MCP SDK (absolute imports).
See docs/mcp.md.
"""
from __future__ import annotations

from .tools import KBTools

__all__ = ["KBTools"]
