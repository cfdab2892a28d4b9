"""Where a setting comes from: argument > environment > config file > default."""

import pytest

from interviewer.errors import ConfigError
from interviewer.settings import Settings


def test_precedence_argument_env_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('model = "ollama:qwen2.5:7b"\nembedder = "openai:text-embedding-3-small"\n', encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_CONFIG", str(cfg))
    monkeypatch.delenv("INTERVIEWER_MODEL", raising=False)
    monkeypatch.delenv("INTERVIEWER_EMBEDDER", raising=False)
    assert Settings().model == "ollama:qwen2.5:7b"
    monkeypatch.setenv("INTERVIEWER_MODEL", "local")
    s = Settings()
    assert s.model == "local" and s.embedder == "openai:text-embedding-3-small"
    assert Settings(model="offline").model == "offline"


def test_no_config_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("INTERVIEWER_MODEL", raising=False)
    assert Settings().model == "offline"


def test_a_broken_config_file_is_a_clear_error(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text("model = [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="설정 파일"):
        Settings()


def test_replies_from_self_hosted_servers_are_bounded(tmp_path, monkeypatch):
    # Small models behind a URL or Ollama can write until their context is full (SmolLM2: ~1,530 tokens a reply,
    # past the client's timeout on 2 cores); OpenAI is bounded only when the caller asks.
    from interviewer.models import make_chat_model

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert make_chat_model("http://127.0.0.1:9/v1#tiny", tmp_path).max_tokens == 900
    assert make_chat_model("ollama:qwen2.5", tmp_path).max_tokens == 900
    assert make_chat_model("http://127.0.0.1:9/v1#tiny", tmp_path, max_tokens=400).max_tokens == 400
    assert make_chat_model("openai:gpt-4o-mini", tmp_path).max_tokens is None
    assert make_chat_model("openai:gpt-4o-mini", tmp_path, max_tokens=400).max_tokens == 400
