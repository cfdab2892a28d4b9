"""Spaced repetition (SM-2) from interview scores, and weak topics across sessions.

The schedule is not stored: it is replayed from the log of graded questions, so deleting a session or regrading
cannot leave it inconsistent."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..grading.schema import mean_score

EF_START, EF_MIN = 2.5, 1.3
PASS = 3  # SM-2 quality below this restarts the repetitions


@dataclass
class Card:
    question_id: str
    reps: int = 0
    ef: float = EF_START
    interval: int = 0  # days
    due: datetime | None = None
    last_score: float | None = None
    last_seen: datetime | None = None
    seen: int = 0

    def review(self, score: float, at: datetime) -> "Card":
        """One SM-2 step; the 0-5 score is the quality of recall."""
        q = max(0, min(5, round(score)))
        if q < PASS:
            reps, interval = 0, 1
        else:
            reps = self.reps + 1
            interval = 1 if reps == 1 else 6 if reps == 2 else round(self.interval * self.ef)
        ef = max(EF_MIN, self.ef + 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02))
        return Card(
            self.question_id, reps, round(ef, 4), interval, at + timedelta(days=interval), score, at, self.seen + 1
        )

    def is_due(self, now: datetime) -> bool:
        return self.due is not None and self.due <= now


def replay(log: list[tuple[str, float, datetime]]) -> dict[str, Card]:
    """Cards from (question_id, score, when) rows in any order."""
    cards: dict[str, Card] = {}
    for qid, score, at in sorted(log, key=lambda r: r[2]):
        cards[qid] = cards.get(qid, Card(qid)).review(score, at)
    return cards


def review_order(cards: dict[str, Card], now: datetime) -> list[Card]:
    """What is due first (lowest last score first, then most overdue), then the rest weakest first."""
    due = sorted((c for c in cards.values() if c.is_due(now)), key=lambda c: (c.last_score, c.due))
    rest = sorted((c for c in cards.values() if not c.is_due(now)), key=lambda c: (c.last_score, c.due))
    return due + rest


def weak_topics(cards: dict[str, Card], topics_of: dict[str, list[str]], threshold: float = 3.0) -> list[dict]:
    """Per topic the mean of each question's latest score; weakest first."""
    per: dict[str, list[float]] = {}
    for c in cards.values():
        for t in topics_of.get(c.question_id, []):
            per.setdefault(t, []).append(c.last_score)
    rows = [
        {"topic": t, "mean": mean_score(v), "questions": len(v), "weak": sum(v) / len(v) < threshold}
        for t, v in per.items()
    ]
    return sorted(rows, key=lambda r: (r["mean"], r["topic"]))
