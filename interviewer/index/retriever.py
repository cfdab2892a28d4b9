"""Hybrid retrieval: dense (Chroma) and BM25 over Korean morphemes, fused by reciprocal rank."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from rank_bm25 import BM25Okapi

from ..embeddings import Embedder
from ..text import Analyzer
from .store import IndexStore, StoredChunk

RRF_K = 60  # the constant of Cormack et al. (2009); damps the head of each ranking
CANDIDATES = 50


class _BM25(BM25Okapi):
    """rank_bm25's Okapi scores from posting lists: the same numbers without a Python loop over every document
    for every query token (that loop costs ~9 ms a query over the bank)."""

    def _initialize(self, corpus):
        nd = super()._initialize(corpus)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, freqs in enumerate(self.doc_freqs):
            for word, tf in freqs.items():
                docs, tfs = postings.setdefault(word, ([], []))
                docs.append(i)
                tfs.append(tf)
        self._postings = {w: (np.array(d), np.array(t, dtype=float)) for w, (d, t) in postings.items()}
        return nd

    def get_scores(self, query):
        score = np.zeros(self.corpus_size)
        norm = self.k1 * (1 - self.b + self.b * np.array(self.doc_len) / self.avgdl)
        for q in query:
            if q in self._postings:
                docs, tf = self._postings[q]
                score[docs] += (self.idf.get(q) or 0) * (tf * (self.k1 + 1) / (tf + norm[docs]))
        return score


@dataclass(frozen=True)
class Hit:
    question_id: str
    question: str
    chunk_id: str
    kind: str
    text: str
    score: float
    dense_rank: int | None
    lexical_rank: int | None

    def to_public(self) -> dict:
        return {
            "question_id": self.question_id,
            "question": self.question,
            "chunk_id": self.chunk_id,
            "score": round(self.score, 6),
        }


class HybridRetriever:
    def __init__(self, store: IndexStore, embedder: Embedder, analyzer: Analyzer):
        self.store = store
        self.embedder = embedder
        self.analyzer = analyzer
        self.chunks: list[StoredChunk] = store.chunks()
        self._by_id = {c.id: c for c in self.chunks}
        self._by_question: dict[str, list[StoredChunk]] = {}
        for c in self.chunks:
            self._by_question.setdefault(c.question_id, []).append(c)
        # BM25Okapi divides by zero on an empty corpus; an empty bank simply finds nothing.
        self._bm25 = _BM25([c.tokens or ["∅"] for c in self.chunks]) if self.chunks else None

    def _dense(self, query: str, n: int, vector: list[float] | None) -> list[str]:
        if vector is None:
            vector = self.embedder.embed_queries([query])[0]
        return [cid for cid, _ in self.store.query(vector, n, count=len(self.chunks))]

    def _lexical(self, query: str, n: int, tokens: list[str] | None) -> list[str]:
        tokens = self.analyzer.tokens(query) if tokens is None else tokens
        if self._bm25 is None or not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:n]  # stable: ties keep corpus order
        return [self.chunks[i].id for i in order if scores[i] > 0]

    def rank_chunks(
        self, query: str, n: int = CANDIDATES, *, vector: list[float] | None = None, tokens: list[str] | None = None
    ) -> list[Hit]:
        """Candidate chunks, best first, with their fused score. A caller that already embedded or tokenized
        the query passes `vector`/`tokens` so the work is not done twice."""
        if not query.strip() or not self.chunks:
            return []
        dense = self._dense(query, n, vector)
        lexical = self._lexical(query, n, tokens)
        scores: dict[str, float] = {}
        for ranking in (dense, lexical):
            for rank, cid in enumerate(ranking, 1):
                scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + rank)
        d_rank = {cid: r for r, cid in enumerate(dense, 1)}
        l_rank = {cid: r for r, cid in enumerate(lexical, 1)}
        hits = []
        for cid, score in sorted(scores.items(), key=lambda kv: -kv[1]):
            c = self._by_id[cid]
            hits.append(Hit(c.question_id, c.question, cid, c.kind, c.text, score, d_rank.get(cid), l_rank.get(cid)))
        return hits

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The k best questions, each shown by its best chunk; a question's score sums its chunks' fused scores
        so an answer matching several passages of one question outranks a single lucky match elsewhere."""
        return collapse_by_question(self.rank_chunks(query), k)

    def chunk(self, chunk_id: str) -> StoredChunk | None:
        return self._by_id.get(chunk_id)

    def chunks_of(self, question_id: str) -> list[StoredChunk]:
        return self._by_question.get(question_id, [])

    def idf(self, token: str) -> float:
        return self._bm25.idf.get(token, self._max_idf) if self._bm25 else 0.0

    @cached_property
    def _max_idf(self) -> float:
        return max(self._bm25.idf.values(), default=1.0) if self._bm25 else 1.0


def collapse_by_question(hits: list[Hit], k: int) -> list[Hit]:
    """One hit per question (its best chunk), ranked by the sum of the question's chunk scores."""
    best: dict[str, Hit] = {}
    total: dict[str, float] = {}
    for h in hits:
        best.setdefault(h.question_id, h)
        total[h.question_id] = total.get(h.question_id, 0.0) + h.score
    ranked = sorted(best.values(), key=lambda h: -total[h.question_id])[:k]
    return [
        Hit(h.question_id, h.question, h.chunk_id, h.kind, h.text, total[h.question_id], h.dense_rank, h.lexical_rank)
        for h in ranked
    ]
