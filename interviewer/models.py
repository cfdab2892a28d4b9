"""Chat models selected by one spec string, resolved through langchain's `init_chat_model`.

`offline` (no LLM) | `local[:NAME]` (bundled GGUF served in-process) | `openai:MODEL` | `ollama:MODEL` |
`http(s)://HOST:PORT/v1#MODEL` (vLLM, llama.cpp, LM Studio)."""

import os
import urllib.request
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from .errors import ConfigError

TIMEOUT_S = 120.0
# Two cores share the in-process server's slots: a ~1.5k-token grading takes ~35 s alone and twice that beside another.
LOCAL_TIMEOUT_S = 300.0


def is_offline(spec: str | None) -> bool:
    return (spec or "offline").strip() in ("offline", "")


def make_chat_model(spec: str, data_dir: Path, *, temperature: float = 0.0,
                    max_tokens: int | None = None) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    spec = spec.strip()
    common = {"temperature": temperature, "timeout": TIMEOUT_S, "max_retries": 2}
    if spec == "local" or spec.startswith("local:"):
        from .local_models import LocalServer

        name = spec.split(":", 1)[1] if ":" in spec else None
        server = LocalServer.get(data_dir, name)
        # Small local models can loop: a bounded reply keeps a bad generation from eating minutes.
        return init_chat_model(name or "local", model_provider="openai", base_url=server.base_url,
                               api_key="local", max_tokens=max_tokens or 900,
                               **{**common, "max_retries": 0, "timeout": LOCAL_TIMEOUT_S})
    try:
        if spec.startswith("openai:"):
            if not os.environ.get("OPENAI_API_KEY"):
                raise ConfigError("OPENAI_API_KEY 가 설정되지 않았습니다.", hint="키를 설정하거나 --model offline 을 쓰세요.")
            return init_chat_model(spec.split(":", 1)[1], model_provider="openai", **common)
        if spec.startswith("ollama:"):
            base = os.environ.get("OLLAMA_BASE_URL", "http://127.0.0.1:11434").rstrip("/") + "/v1"
            return init_chat_model(spec.split(":", 1)[1], model_provider="openai", base_url=base, api_key="ollama",
                                   **common)
        if spec.startswith(("http://", "https://")):
            url, _, model = spec.partition("#")
            if not model:
                raise ConfigError(f"모델 이름이 없습니다: '{spec}'", hint="형식: http://HOST:PORT/v1#MODEL")
            return init_chat_model(model, model_provider="openai", base_url=url,
                                   api_key=os.environ.get("OPENAI_API_KEY", "not-needed"), **common)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"모델 '{spec}'을 만들 수 없습니다: {e}") from e
    raise ConfigError(f"알 수 없는 모델 지정: '{spec}'",
                      hint="offline, openai:MODEL, ollama:MODEL, http://HOST:PORT/v1#MODEL 중 하나")


def _reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1.5)
        return True
    except Exception:
        return False


def available(data_dir: Path) -> list[dict]:
    """Every provider with available / unavailable and why."""
    from .local_models import status

    rows = [{"spec": "offline", "available": True, "why": "", "description": "LLM 없이 채점 (기본)"}]
    rows += status(data_dir)
    key = bool(os.environ.get("OPENAI_API_KEY"))
    rows.append({"spec": "openai:MODEL", "available": key, "why": "" if key else "OPENAI_API_KEY 없음",
                 "description": "OpenAI API"})
    base = os.environ.get("OLLAMA_BASE_URL", "http://127.0.0.1:11434").rstrip("/")
    up = _reachable(base + "/api/tags")
    rows.append({"spec": "ollama:MODEL", "available": up, "why": "" if up else f"{base} 에 연결할 수 없음",
                 "description": "Ollama (OpenAI 호환 API)"})
    rows.append({"spec": "http://HOST:PORT/v1#MODEL", "available": True, "why": "",
                 "description": "OpenAI 호환 서버 (vLLM, llama.cpp, LM Studio)"})
    return rows
