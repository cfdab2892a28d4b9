"""The bank cut into retrievable chunks, each with the metadata graders and search need."""

import hashlib
import re
from dataclasses import dataclass

from ..bank import Bank, Question

_SENTENCE_END = re.compile(r"(?<=[.!?다요])\s+")
MAX_CHUNK_CHARS = 360  # e5-small reads 512 tokens; Korean runs ~1.3 tokens a character with its tokenizer


@dataclass(frozen=True)
class Chunk:
    id: str
    question_id: str
    parent_id: str | None
    question: str
    kind: str  # question | reference | key_point | pitfall | correction
    ordinal: int
    text: str

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]


def split_passage(text: str, limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """Paragraphs, then sentences, packed up to `limit` characters so each chunk stays one topic."""
    parts: list[str] = []
    for para in (p.strip() for p in text.split("\n\n")):
        if not para:
            continue
        current = ""
        for sent in _SENTENCE_END.split(para.replace("\n", " ")):
            if current and len(current) + 1 + len(sent) > limit:
                parts.append(current)
                current = sent
            else:
                current = f"{current} {sent}".strip()
        if current:
            parts.append(current)
    return parts


def question_chunks(q: Question) -> list[Chunk]:
    def make(kind: str, n: int, text: str) -> Chunk:
        return Chunk(f"{q.id}:{kind}:{n}", q.id, q.parent, q.question, kind, n, text)

    question_text = q.question if not q.context else f"{q.question} ({q.context})"
    chunks = [make("question", 0, question_text)]
    chunks += [make("reference", i, part) for i, part in enumerate(split_passage(q.reference))]
    chunks += [make("key_point", i, kp.point) for i, kp in enumerate(q.key_points)]
    # A misconception and its correction are embedded apart: graders compare an answer against each.
    chunks += [make("pitfall", i, p.claim) for i, p in enumerate(q.pitfalls)]
    chunks += [make("correction", i, p.correction) for i, p in enumerate(q.pitfalls) if p.correction.strip()]
    return chunks


def bank_chunks(bank: Bank) -> list[Chunk]:
    return [c for q in bank for c in question_chunks(q)]
