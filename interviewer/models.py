"""Chat models selected by one spec string, resolved through langchain's `init_chat_model`.

`offline` (no LLM) | `local[:NAME]` (bundled GGUF served in-process) | `openai:MODEL` | `ollama:MODEL` |
`http(s)://HOST:PORT/v1#MODEL` (vLLM, llama.cpp, LM Studio)."""

import os
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from .errors import ConfigError

if TYPE_CHECKING:
    from .local_models import LocalServer

TIMEOUT_S = 120.0
# Two cores share the in-process server's slots: a ~1.5k-token grading takes ~35 s alone and twice that beside another.
LOCAL_TIMEOUT_S = 300.0
# Small models can loop until their context is full: replies from servers that run them (the bundled one, Ollama, a
# URL) are bounded. A grading reply is ~200-750 tokens.
SELF_HOSTED_MAX_TOKENS = 900


def is_offline(spec: str | None) -> bool:
    return (spec or "offline").strip() in ("offline", "")


def local_server(spec: str, data_dir: Path) -> "LocalServer | None":
    """The in-process server a `local` / `local:NAME` spec names (started on first use), else None."""
    spec = spec.strip()
    if spec != "local" and not spec.startswith("local:"):
        return None
    from .local_models import LocalServer

    return LocalServer.get(data_dir, spec.partition(":")[2] or None)


def make_chat_model(spec: str, data_dir: Path, *, temperature: float = 0.0,
                    max_tokens: int | None = None) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    spec = spec.strip()
    common = {"temperature": temperature, "timeout": TIMEOUT_S, "max_retries": 2}
    server = local_server(spec, data_dir)
    if server is not None:
        # Small local models can loop: a bounded reply keeps a bad generation from eating minutes. llama.cpp's
        # prompt cache computes a reused prefix in other batch shapes than a fresh one, so with it the same prompt
        # can decode differently at temperature 0 (its README says so); grades must repeat. Grading asks for a
        # reuse it controls instead (LocalServer.reuse_prefix).
        return init_chat_model(spec, model_provider="openai", base_url=server.base_url,
                               api_key="local", max_tokens=max_tokens or SELF_HOSTED_MAX_TOKENS, extra_body={"cache_prompt": False},
                               **{**common, "max_retries": 0, "timeout": LOCAL_TIMEOUT_S})
    # SmolLM2 behind a URL wrote ~1,530 tokens per reply, over 2 minutes each on 2 cores, and its client timed out.
    hosted = {"max_tokens": max_tokens or SELF_HOSTED_MAX_TOKENS}
    try:
        if spec.startswith("openai:"):
            if not os.environ.get("OPENAI_API_KEY"):
                raise ConfigError("OPENAI_API_KEY 가 설정되지 않았습니다.", hint="키를 설정하거나 --model offline 을 쓰세요.")
            return init_chat_model(spec.split(":", 1)[1], model_provider="openai", **common,
                                   **({"max_tokens": max_tokens} if max_tokens else {}))
        if spec.startswith("ollama:"):
            base = os.environ.get("OLLAMA_BASE_URL", "http://127.0.0.1:11434").rstrip("/") + "/v1"
            return init_chat_model(spec.split(":", 1)[1], model_provider="openai", base_url=base, api_key="ollama",
                                   **common, **hosted)
        if spec.startswith(("http://", "https://")):
            url, _, model = spec.partition("#")
            if not model:
                raise ConfigError(f"모델 이름이 없습니다: '{spec}'", hint="형식: http://HOST:PORT/v1#MODEL")
            return init_chat_model(model, model_provider="openai", base_url=url,
                                   api_key=os.environ.get("OPENAI_API_KEY", "not-needed"), **common, **hosted)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"모델 '{spec}'을 만들 수 없습니다: {e}") from e
    raise ConfigError(f"알 수 없는 모델 지정: '{spec}'",
                      hint="offline, openai:MODEL, ollama:MODEL, http://HOST:PORT/v1#MODEL 중 하나")


_CONTEXT_WORDS = ("context size", "context length", "context_length", "maximum context", "too many tokens",
                  "exceeds the available context", "prompt is too long")


def describe_call_error(e: BaseException) -> str:
    """One Korean line for a failed model call, whatever the provider: what happened and what to do."""
    import openai

    detail = " ".join(str(e).split())[:200]
    if isinstance(e, openai.APITimeoutError):
        return "모델 서버가 제한 시간 안에 답하지 않았습니다 (시간 초과). 서버 부하를 확인하거나 더 작은 모델을 쓰세요."
    if isinstance(e, openai.APIConnectionError):
        return f"모델 서버에 연결할 수 없습니다 ({detail}). 서버가 켜져 있는지, 주소가 맞는지 확인하세요."
    if isinstance(e, openai.AuthenticationError):
        return "API 키가 거부되었습니다 (401). 키를 확인하세요."
    if isinstance(e, openai.RateLimitError):
        return "요청 한도를 넘었습니다 (429). 재시도 후에도 실패했습니다; 잠시 뒤에 다시 하거나 --concurrency 를 줄이세요."
    if isinstance(e, openai.APIStatusError):
        if any(w in detail.lower() for w in _CONTEXT_WORDS):
            return f"입력이 모델의 컨텍스트 길이를 넘었습니다 ({detail}). 답변을 줄이거나 컨텍스트가 긴 모델을 쓰세요."
        return f"모델 서버 오류 (HTTP {e.status_code}): {detail}"
    if isinstance(e, (ValueError, AttributeError, TypeError, KeyError)):
        # The client could not read the reply as an OpenAI response (a proxy's HTML page, a truncated body, ...)
        return f"모델 서버의 응답을 해석할 수 없습니다 (OpenAI 호환 응답이 아님): {type(e).__name__}: {detail}"
    return f"{type(e).__name__}: {detail}"


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
