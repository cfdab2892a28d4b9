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
