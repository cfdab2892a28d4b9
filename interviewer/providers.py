"""Chat models selected by one spec string, resolved through langchain's `init_chat_model`.

`offline` (no LLM) | `local[:NAME]` (bundled GGUF served in-process) | `openai:MODEL` | `ollama:MODEL` |
`http(s)://HOST:PORT/v1#MODEL` (vLLM, llama.cpp, LM Studio)."""

import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import openai
from langchain_core.language_models import BaseChatModel

from .errors import ConfigError
from .settings import Settings, as_settings

if TYPE_CHECKING:
    from .local_llm import LocalServer

TIMEOUT_S = 120.0
# Two cores share the in-process server's slots: one grading takes ~30-90 s alone (p50 28.5 s and 85.8 s on the two
# machines of benchmarks/RESULTS.md) and twice that beside another.
LOCAL_TIMEOUT_S = 300.0
# Small models can loop until their context is full: replies from servers that run them (the bundled one, Ollama, a
# URL) are bounded. A grading reply is ~200-750 tokens.
SELF_HOSTED_MAX_TOKENS = 900


def is_offline(spec: str | None) -> bool:
    return (spec or "offline").strip() in ("offline", "")


def supports_logprobs(spec: str | None) -> bool:
    """Whether the spec's provider returns token log-probabilities, which the checklist judge reads: llama.cpp (the
    bundled server), OpenAI chat models, Ollama (from 0.12.11) and OpenAI-compatible URL servers (llama.cpp, vLLM,
    LM Studio). A server that turns out to send none is caught at run time (grading.checklist.LogprobsUnavailable)."""
    spec = (spec or "").strip()
    return spec == "local" or spec.startswith(("local:", "openai:", "ollama:", "http://", "https://"))


# What a model call raises when the provider or its reply is at fault, not our code: the OpenAI client's errors
# (HTTP status, connection, timeout, a reply its types reject), the transport's, and ValueError, which is what
# langchain-openai raises for a body that is not an OpenAI response (a proxy's HTML page: "Unexpected response type";
# a stream with no chunks) and the base of json's and pydantic's parse errors. Callers catch these and nothing
# broader: a KeyError, TypeError or AttributeError is a bug of ours and must raise, not become an unscored turn.
CALL_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, httpx.HTTPError, ValueError)


def local_server(spec: str, settings: "Settings | Path") -> "LocalServer | None":
    """The in-process server a `local` / `local:NAME` spec names (started on first use), else None."""
    spec = spec.strip()
    if spec != "local" and not spec.startswith("local:"):
        return None
    from .local_llm import LocalServer

    return LocalServer.get(as_settings(settings), spec.partition(":")[2] or None)


@dataclass(frozen=True)
class Endpoint:
    """Where an OpenAI-compatible spec sends its requests."""

    model: str
    base_url: str | None  # None: OpenAI's own API
    api_key: str
    self_hosted: bool  # Ollama or a URL: a small model may loop, so replies are bounded


def endpoint(spec: str, settings: "Settings | Path") -> Endpoint:
    """`openai:MODEL` | `ollama:MODEL` | `http(s)://HOST:PORT/v1#MODEL`, resolved with the settings' key and URLs."""
    settings = as_settings(settings)
    spec = spec.strip()
    if spec.startswith("openai:"):
        if not settings.openai_key:
            raise ConfigError(
                "OPENAI_API_KEY 가 설정되지 않았습니다.", hint="키를 설정하거나 --model offline 을 쓰세요."
            )
        return Endpoint(spec.split(":", 1)[1], None, settings.openai_key, self_hosted=False)
    if spec.startswith("ollama:"):
        return Endpoint(spec.split(":", 1)[1], settings.ollama_v1_url, "ollama", self_hosted=True)
    if spec.startswith(("http://", "https://")):
        url, _, model = spec.partition("#")
        if not model:
            raise ConfigError(f"모델 이름이 없습니다: '{spec}'", hint="형식: http://HOST:PORT/v1#MODEL")
        return Endpoint(model, url, settings.openai_key or "not-needed", self_hosted=True)
    raise ConfigError(
        f"알 수 없는 모델 지정: '{spec}'",
        hint="offline, local[:NAME], openai:MODEL, ollama:MODEL, http://HOST:PORT/v1#MODEL 중 하나",
    )


def make_chat_model(
    spec: str, settings: "Settings | Path", *, temperature: float = 0.0, max_tokens: int | None = None
) -> BaseChatModel:
    """A langchain chat model for the spec. `settings` may still be a data folder (the rest as configured)."""
    from langchain.chat_models import init_chat_model

    settings = as_settings(settings)
    spec = spec.strip()
    common = {"temperature": temperature, "timeout": TIMEOUT_S, "max_retries": 2}
    server = local_server(spec, settings)
    if server is not None:
        # Small local models can loop: a bounded reply keeps a bad generation from eating minutes. llama.cpp's
        # prompt cache computes a reused prefix in other batch shapes than a fresh one, so with it the same prompt
        # can decode differently at temperature 0 (its README says so); grades must repeat. Grading asks for a
        # reuse it controls instead (LocalServer.reuse_prefix).
        return init_chat_model(
            spec,
            model_provider="openai",
            base_url=server.base_url,
            api_key="local",
            max_tokens=max_tokens or SELF_HOSTED_MAX_TOKENS,
            extra_body={"cache_prompt": False},
            **{**common, "max_retries": 0, "timeout": LOCAL_TIMEOUT_S},
        )
    target = endpoint(spec, settings)
    # A self-hosted small model can write until its context is full (SmolLM2 behind a URL: ~1,530 tokens a reply,
    # past the client's timeout on 2 cores); OpenAI's models are bounded only when the caller asks.
    bound = max_tokens or (SELF_HOSTED_MAX_TOKENS if target.self_hosted else None)
    options = {
        **common,
        **({"base_url": target.base_url} if target.base_url else {}),
        **({"max_tokens": bound} if bound else {}),
    }
    try:
        return init_chat_model(target.model, model_provider="openai", api_key=target.api_key, **options)
    except (ValueError, ImportError, openai.OpenAIError) as e:  # what langchain and the client raise on bad options
        raise ConfigError(f"모델 '{spec}'을 만들 수 없습니다: {e}") from e


_CONTEXT_WORDS = (
    "context size",
    "context length",
    "context_length",
    "maximum context",
    "too many tokens",
    "exceeds the available context",
    "prompt is too long",
)


def describe_call_error(e: BaseException) -> str:
    """One Korean line for a failed model call (one of CALL_ERRORS), whatever the provider: what happened and what
    to do."""
    detail = " ".join(str(e).split())[:200]
    if isinstance(e, openai.APITimeoutError):
        return "모델 서버가 제한 시간 안에 답하지 않았습니다 (시간 초과). 서버 부하를 확인하거나 더 작은 모델을 쓰세요."
    if isinstance(e, openai.APIConnectionError):
        return f"모델 서버에 연결할 수 없습니다 ({detail}). 서버가 켜져 있는지, 주소가 맞는지 확인하세요."
    if isinstance(e, openai.AuthenticationError):
        return "API 키가 거부되었습니다 (401). 키를 확인하세요."
    if isinstance(e, openai.RateLimitError):
        return (
            "요청 한도를 넘었습니다 (429). 재시도 후에도 실패했습니다; 잠시 뒤에 다시 하거나 --concurrency 를 줄이세요."
        )
    if isinstance(e, openai.APIStatusError):
        if any(w in detail.lower() for w in _CONTEXT_WORDS):
            return f"입력이 모델의 컨텍스트 길이를 넘었습니다 ({detail}). 답변을 줄이거나 컨텍스트가 긴 모델을 쓰세요."
        return f"모델 서버 오류 (HTTP {e.status_code}): {detail}"
    if isinstance(e, httpx.TransportError):
        return f"모델 서버와 통신하지 못했습니다 ({detail}). 서버가 켜져 있는지, 주소가 맞는지 확인하세요."
    if isinstance(e, (openai.APIResponseValidationError, httpx.DecodingError, ValueError)):
        # The client could not read the reply as an OpenAI response (a proxy's HTML page, a truncated body, ...)
        return f"모델 서버의 응답을 해석할 수 없습니다 (OpenAI 호환 응답이 아님): {type(e).__name__}: {detail}"
    return f"{type(e).__name__}: {detail}"


def _reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1.5)
        return True
    except (OSError, ValueError):  # refused, timed out, an HTTP error status (URLError is an OSError), a bad URL
        return False


def available(settings: "Settings | Path") -> list[dict]:
    """Every provider with available / unavailable and why."""
    from .local_llm import status

    settings = as_settings(settings)
    rows = [{"spec": "offline", "available": True, "why": "", "description": "LLM 없이 채점 (기본)"}]
    rows += status(settings.data_dir)
    key = bool(settings.openai_key)
    rows.append(
        {
            "spec": "openai:MODEL",
            "available": key,
            "why": "" if key else "OPENAI_API_KEY 없음",
            "description": "OpenAI API",
        }
    )
    base = settings.ollama_base_url.rstrip("/")
    up = _reachable(base + "/api/tags")
    rows.append(
        {
            "spec": "ollama:MODEL",
            "available": up,
            "why": "" if up else f"{base} 에 연결할 수 없음",
            "description": "Ollama (OpenAI 호환 API)",
        }
    )
    rows.append(
        {
            "spec": "http://HOST:PORT/v1#MODEL",
            "available": True,
            "why": "",
            "description": "OpenAI 호환 서버 (vLLM, llama.cpp, LM Studio)",
        }
    )
    for r in rows:
        r["mode"] = grading_mode(r["spec"], settings.judge)
    return rows


def grading_mode(spec: str, judge: str = "checklist") -> str:
    """How a spec grades: offline evidence only; checklist judgments read from token probabilities and combined
    with it (a server that turns out to return none falls back at run time); or one structured reply."""
    if is_offline(spec):
        return "offline"
    return "checklist" if judge == "checklist" and supports_logprobs(spec) else "structured"
