"""Test doubles for the fast tier: an embedder and a grader that need no model weights and no 833-chunk index.

Neither stands in for measuring quality; they let the graph, the sessions, the reports, the CLI and the UI handlers
run real code in milliseconds. Tests that need e5's judgments use the `embedder` fixture and are marked slow."""

import hashlib
import unicodedata

import numpy as np

from interviewer.bank import Question
from interviewer.grading.schema import Feedback, GradeResult, KeyPointJudgment, Status, score_from_judgments


class FakeEmbedder:
    """Hashed character n-grams (2- and 3-grams of the NFKC-lowercased text without spaces) counted into a small
    vector and normalised: deterministic across processes (sha1, not Python's salted hash), and texts that share
    words land close, which is all retrieval needs to rank a question's own chunks first."""

    def __init__(self, dimension: int = 64):
        self.dimension = dimension
        self.name = f"fake:ngram-{dimension}"

    def _vector(self, text: str) -> list[float]:
        s = "".join(unicodedata.normalize("NFKC", text).lower().split())
        v = np.zeros(self.dimension, dtype=np.float32)
        for n in (2, 3):
            for i in range(len(s) - n + 1):
                h = int.from_bytes(hashlib.sha1(s[i : i + n].encode("utf-8")).digest()[:4], "little")
                v[h % self.dimension] += 1.0
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            v[0] = 1.0  # an empty or one-character text still gets a unit vector
            norm = 1.0
        return (v / norm).tolist()

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]


class StubGrader:
    """A grader whose rule a test can read: a key point is covered when the answer contains its first term (or,
    without terms, the point itself), else missed; "모르겠" is don't-know. The score comes from the project's one
    scoring rule (`score_from_judgments`), so caps, follow-ups and reports see realistic numbers.

    `fail_on`: an answer containing this text raises RuntimeError, for the paths that handle a grader failure."""

    name = "stub"

    def __init__(self, fail_on: str | None = None):
        self.fail_on = fail_on
        self.calls: list[tuple[str, str]] = []

    @staticmethod
    def cue(q: Question, index: int) -> str:
        """The text that makes key point `index` of `q` count as covered."""
        kp = q.key_points[index]
        return kp.terms[0] if kp.terms else kp.point

    def grade(self, q: Question, answer: str, **_ignored) -> GradeResult:
        self.calls.append((q.id, answer))
        if self.fail_on and self.fail_on in answer:
            raise RuntimeError("stub grader failure")
        dont_know = "모르겠" in answer
        judgments = []
        for i, kp in enumerate(q.key_points):
            hit = not dont_know and self.cue(q, i).lower() in answer.lower()
            judgments.append(
                KeyPointJudgment(
                    index=i,
                    point=kp.point,
                    status=Status.covered if hit else Status.missed,
                    evidence=self.cue(q, i) if hit else None,
                )
            )
        score = score_from_judgments(judgments, dont_know=dont_know)
        covered = [j.point for j in judgments if j.status is Status.covered]
        missing = [j.point for j in judgments if j.status is not Status.covered]
        return GradeResult(
            question_id=q.id,
            score=score,
            key_points=judgments,
            dont_know=dont_know,
            feedback=Feedback(good=covered, missing=missing, model_answer=q.reference.strip()),
            grader=self.name,
        )


def full_answer(q: Question) -> str:
    """An answer the stub grader scores 5: every key point's cue."""
    return " ".join(StubGrader.cue(q, i) for i in range(len(q.key_points))) + " 입니다."


def partial_answer(q: Question, covered: int) -> str:
    """An answer that covers the first `covered` key points and misses the rest."""
    return " ".join(StubGrader.cue(q, i) for i in range(covered)) + " 정도입니다."
