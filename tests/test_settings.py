"""Where a setting comes from: argument > environment > config file > default."""

from pathlib import Path

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
    from interviewer.providers import make_chat_model

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert make_chat_model("http://127.0.0.1:9/v1#tiny", tmp_path).max_tokens == 900
    assert make_chat_model("ollama:qwen2.5", tmp_path).max_tokens == 900
    assert make_chat_model("http://127.0.0.1:9/v1#tiny", tmp_path, max_tokens=400).max_tokens == 400
    assert make_chat_model("openai:gpt-4o-mini", tmp_path).max_tokens is None
    assert make_chat_model("openai:gpt-4o-mini", tmp_path, max_tokens=400).max_tokens == 400


def test_every_knob_comes_from_the_environment_or_the_config_file(tmp_path, monkeypatch):
    for name in ("OPENAI_API_KEY", "OLLAMA_BASE_URL", "INTERVIEWER_LOCAL_PARALLEL", "INTERVIEWER_LOCAL_THREADS"):
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'openai_api_key = "sk-file"\nollama_base_url = "http://gpu-box:11434/"\nlocal_threads = 3\n', encoding="utf-8"
    )
    monkeypatch.setenv("INTERVIEWER_CONFIG", str(cfg))
    s = Settings()
    assert (s.openai_key, s.ollama_v1_url, s.local_threads, s.local_parallel) == (
        "sk-file",
        "http://gpu-box:11434/v1",
        3,
        1,
    )
    assert "sk-file" not in repr(s)  # the key is a secret: never in a log line or a traceback
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("INTERVIEWER_LOCAL_PARALLEL", "2")
    s = Settings()
    assert (s.openai_key, s.ollama_base_url, s.local_parallel) == ("sk-env", "http://127.0.0.1:9", 2)
    monkeypatch.setenv("INTERVIEWER_LOCAL_PARALLEL", "zero")
    with pytest.raises(ConfigError, match="local_parallel"):
        Settings()


def test_providers_read_the_key_and_urls_from_settings(tmp_path, monkeypatch):
    from interviewer.providers import available, endpoint

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("INTERVIEWER_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        endpoint("openai:gpt-4o-mini", Settings(data_dir=tmp_path))
    keyed = Settings(data_dir=tmp_path, openai_api_key="sk-arg", ollama_base_url="http://127.0.0.1:9")
    assert endpoint("openai:gpt-4o-mini", keyed).api_key == "sk-arg"
    assert endpoint("ollama:qwen2.5", keyed).base_url == "http://127.0.0.1:9/v1"
    assert endpoint("http://127.0.0.1:8/v1#m", keyed).api_key == "sk-arg"
    rows = {r["spec"]: r for r in available(keyed)}
    assert rows["openai:MODEL"]["available"] and not rows["ollama:MODEL"]["available"]
    assert "127.0.0.1:9" in rows["ollama:MODEL"]["why"]


def test_knowledge_and_prompts_default_to_the_repository_else_to_the_installed_copy(tmp_path, monkeypatch):
    import interviewer
    import interviewer.settings as settings_module

    monkeypatch.setenv("INTERVIEWER_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("INTERVIEWER_KNOWLEDGE_DIR", "INTERVIEWER_PROMPTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    repo = Path(__file__).resolve().parent.parent
    s = Settings()
    assert (s.knowledge_dir, s.prompts_dir) == (repo / "knowledge", repo / "prompts")
    # Installed from a wheel: no pyproject.toml beside the package, so the copy inside the package is used.
    monkeypatch.setattr(settings_module, "_REPO_ROOT", tmp_path)
    package = Path(interviewer.__file__).resolve().parent
    s = Settings()
    assert (s.knowledge_dir, s.prompts_dir) == (package / "bundled" / "knowledge", package / "bundled" / "prompts")
    assert Settings(knowledge_dir=tmp_path).knowledge_dir == tmp_path  # settings still override both


def test_only_provider_and_reply_errors_are_described_as_the_servers_fault():
    import httpx
    import openai

    from interviewer.providers import CALL_ERRORS, describe_call_error

    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    html = ValueError("Unexpected response type from OpenAI-compatible endpoint. Expected a dict, got str")
    assert "응답을 해석할 수 없습니다" in describe_call_error(html)
    assert "연결할 수 없습니다" in describe_call_error(openai.APIConnectionError(request=request))
    assert "시간 초과" in describe_call_error(openai.APITimeoutError(request=request))
    for bug in (KeyError("turns"), TypeError("unsupported operand"), AttributeError("'str' has no attribute 'x'")):
        assert not isinstance(bug, CALL_ERRORS)
        assert "응답을 해석할 수 없습니다" not in describe_call_error(bug)
