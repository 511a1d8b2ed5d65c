"""``/docs`` works offline and sends nothing anywhere: every file it loads is served by localkb itself (no
CDN), and Swagger UI's online validator (which would post the spec's address to validator.swagger.io) is off."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx
    from server_harness import LiveServer


@pytest.fixture()
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as c:
        yield c


def test_docs_page_loads_only_local_files(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?'([^']+)'""", page.text)
    loaded = [a or b for a, b in urls]
    assert {"/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css", "/openapi.json"} <= set(loaded)
    assert all(u.startswith("/") for u in loaded), loaded
    for url in loaded:
        assert client.get(url).status_code == 200, url


def test_the_online_validator_is_off(client: httpx.Client) -> None:
    page = client.get("/docs").text
    config = re.search(r"SwaggerUIBundle\(\{(.*?)\}\)", page, re.S)
    assert config is not None, page
    settings = dict(re.findall(r'"?(\w+)"?: ?(null|true|false|"[^"]*"|\'[^\']*\')', config.group(1)))
    assert settings.get("validatorUrl") == "null", settings
    assert json.loads(settings["deepLinking"]) is True  # FastAPI's defaults kept beside it
    bundle = client.get("/static/docs/swagger-ui-bundle.js").text
    assert "validator.swagger.io" in bundle  # the default the page turns off is really in the bundle
