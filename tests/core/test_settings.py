"""One typed settings object: documented in full, bad values and unknown keys refused with one message."""
from __future__ import annotations

import pytest

from localkb import KnowledgeBase
from localkb.errors import ConfigError
from localkb.settings import Settings, current, load_settings, settings_table

from ..conftest import ROOT, run_cli


def test_docs_table_is_generated_from_the_class():
    assert settings_table() in (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")


def test_every_localkb_variable_read_in_the_code_is_a_setting():
    import re

    names = set()
    for path in (ROOT / "src" / "localkb").rglob("*.py"):
        names |= set(re.findall(r"LOCALKB_([A-Z_]+)", path.read_text(encoding="utf-8")))
        names |= set(re.findall(r"""setting\(\s*["']([a-z_]+)["']""", path.read_text(encoding="utf-8")))
    missing = {n.lower() for n in names} - set(Settings.model_fields) - {"name"}  # LOCALKB_{name.upper()}
    assert not missing, f"settings not in localkb.settings.Settings: {sorted(missing)}"


def test_toml_and_env_are_typed_and_ordered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOCALKB_LOCK_TIMEOUT", raising=False)
    (tmp_path / "localkb.toml").write_text("lock_timeout = 7\nmilvus_timeout = 3\n", encoding="utf-8")
    assert current().lock_timeout == 7.0 and current().milvus_timeout == 3.0
    monkeypatch.setenv("LOCALKB_LOCK_TIMEOUT", "9")
    assert current().lock_timeout == 9.0  # env > toml
    assert load_settings(lock_timeout=2).lock_timeout == 2 and current().merged(lock_timeout=2).lock_timeout == 2
    with KnowledgeBase.open(tmp_path / "kb", create=True, settings=load_settings(lock_timeout=2)) as kb:
        assert kb.settings.lock_timeout == 2  # explicit > env > toml, kept by the KB it was opened with


def test_unknown_toml_key_is_an_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "localkb.toml").write_text("lock_timout = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting 'lock_timout'"):
        current()


@pytest.mark.parametrize("name, value, words", [
    ("LOCALKB_LOCK_TIMEOUT", "soon", "lock_timeout = 'soon': Input should be a valid number"),
    ("LOCALKB_CHUNK_SIZE", "3", "chunk_size = '3': Input should be greater than or equal to 16"),
    ("LOCALKB_SEARCH_MODE", "hybird", "search_mode = 'hybird': Input should be 'hybrid', 'dense' or 'lexical'"),
    ("LOCALKB_MIN_SCORE", "high", "min_score = 'high': Value error, min_score 'high' is not a number, 'auto' or 'none'"),
])
def test_a_bad_value_is_the_same_error_from_python_and_the_cli(tmp_path, monkeypatch, name, value, words):
    """Resolved once at each edge — ``KnowledgeBase.open``, the CLI root, ``create_app`` (HTTP) — a bad
    value is the same ``ConfigError`` from each, and nothing is created."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        KnowledgeBase.open(tmp_path / "kb", create=True)
    assert words in err.value.message and name in err.value.message
    proc = run_cli("ingest", str(ROOT / "examples" / "corpus" / "onboarding.txt"), "--kb", str(tmp_path / "kb2"))
    assert proc.returncode == 1 and words in proc.stderr and "Traceback" not in proc.stderr
    as_json = run_cli("stats", "--kb", str(tmp_path / "kb2"), "--json")
    assert as_json.returncode == 1 and words in as_json.stdout and words in as_json.stderr
    pytest.importorskip("fastapi")
    from localkb.server.app import create_app

    with pytest.raises(ConfigError) as served:
        create_app(tmp_path / "kb3")
    assert served.value.message == err.value.message
    serve = run_cli("serve", "--kb", str(tmp_path / "kb4"), "--port", "0", timeout=120)
    assert serve.returncode == 1 and words in serve.stderr and "Traceback" not in serve.stderr
    assert not any((tmp_path / k).exists() for k in ("kb", "kb2", "kb3", "kb4"))


def test_search_and_lexical_settings_are_typed_when_resolved(monkeypatch):
    """Choices, switches and the cut-off are checked when the settings are resolved, not at the first
    search: ``LOCALKB_STRICT_LEXICAL=0`` is off (it was a truthy string), a bad switch is an error."""
    for name in ("LOCALKB_SEARCH_MODE", "LOCALKB_FUSION", "LOCALKB_MIN_SCORE", "LOCALKB_STEMMING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCALKB_STRICT_LEXICAL", "0")
    assert load_settings().strict_lexical is False
    monkeypatch.setenv("LOCALKB_STRICT_LEXICAL", "1")
    monkeypatch.setenv("LOCALKB_SEARCH_MODE", " Dense ")
    monkeypatch.setenv("LOCALKB_FUSION", "RRF")
    monkeypatch.setenv("LOCALKB_MIN_SCORE", "0.5")
    monkeypatch.setenv("LOCALKB_STEMMING", "off")
    got = load_settings()
    assert (got.strict_lexical, got.search_mode, got.fusion, got.min_score, got.stemming) == \
        (True, "dense", "rrf", "0.5", False)
    monkeypatch.setenv("LOCALKB_STEMMING", "maybe")
    with pytest.raises(ConfigError, match="stemming = 'maybe': Input should be a valid boolean"):
        load_settings()
    monkeypatch.setenv("LOCALKB_STEMMING", "on")
    monkeypatch.setenv("LOCALKB_MIN_SCORE", "nan")
    with pytest.raises(ConfigError, match="min_score = 'nan'.*finite number"):
        load_settings()
    monkeypatch.delenv("LOCALKB_MIN_SCORE")
    with pytest.raises(ConfigError, match="fusion = 'mean'"):
        load_settings().merged(fusion="mean")


def test_an_open_kb_keeps_the_settings_it_was_opened_with(tmp_path, monkeypatch):
    """Settings are resolved once per open, not looked up again at every use."""
    monkeypatch.delenv("LOCALKB_INGEST_BATCH", raising=False)
    with KnowledgeBase.open(tmp_path / "kb", create=True) as kb:
        monkeypatch.setenv("LOCALKB_INGEST_BATCH", "7")
        assert kb.settings.ingest_batch == Settings.model_fields["ingest_batch"].default
    with KnowledgeBase.open(tmp_path / "kb") as again:
        assert again.settings.ingest_batch == 7


@pytest.mark.parametrize("uri", ["openai://127.0.0.1:9/v1/model", "ollama://qwen2.5-coder:0.5b@127.0.0.1:9",
                                 "llamacpp://{gguf}"])
def test_an_llm_context_window_is_checked_like_the_environment_in_every_backend(uri, monkeypatch, tmp_path):
    """``context_window=`` given in code meets the bounds ``LOCALKB_LLM_CTX`` does, in every backend;
    nothing is coerced blindly (the llama.cpp case stops before loading: the file is only a GGUF header)."""
    from localkb.llm.base import open_llm

    header = tmp_path / "tiny.gguf"
    header.write_bytes(b"GGUF" + bytes(60))
    uri = uri.format(gguf=header)

    for bad, words in ((10, "greater than or equal to 256"), ("big", "valid integer")):
        with pytest.raises(ConfigError, match=words):
            open_llm(uri, context_window=bad, timeout=1)
    monkeypatch.setenv("LOCALKB_LLM_CTX", "10")
    with pytest.raises(ConfigError, match="llm_ctx = '10'"):
        open_llm(uri, timeout=1)
