"""Which main questions an interview asks."""

import random
from datetime import UTC, datetime

from ..bank import Bank
from ..errors import InterviewerError
from .schedule import Card, review_order


def choose_mains(
    bank: Bank,
    *,
    topics: list[str] | None = None,
    count: int = 3,
    difficulty: list[int] | None = None,
    review: dict[str, Card] | None = None,
    now: datetime | None = None,
    seed: int | None = None,
) -> list[str]:
    """Main question ids. Review mode orders mains by their most urgent card (own or a sub-question's); mains never
    seen come after. Otherwise a random draw from the matching mains."""
    known = {t for q in bank for t in q.topics}
    unknown = sorted(set(topics or []) - known)
    if unknown:
        raise InterviewerError(f"없는 주제입니다: {', '.join(unknown)}", hint="주제: " + ", ".join(sorted(known)))
    mains = [
        q
        for q in bank.mains()
        if q.gradable and (not topics or set(q.topics) & set(topics)) and (not difficulty or q.difficulty in difficulty)
    ]
    if not mains:
        raise InterviewerError("조건에 맞는 질문이 없습니다.", hint="주제나 난이도 조건을 넓혀 보세요.")
    count = max(1, min(count, len(mains)))
    rng = random.Random(seed)
    if review is None:
        return [q.id for q in rng.sample(mains, count)]
    if not review:
        raise InterviewerError(
            "복습할 기록이 아직 없습니다. 먼저 면접을 한 번 보세요.", hint="복습 없이 시작하려면 --review 를 빼세요."
        )
    rank = {c.question_id: i for i, c in enumerate(review_order(review, now or datetime.now(UTC)))}
    never = len(rank) + 1

    def urgency(qid: str) -> int:
        family = [qid] + [s.id for s in bank.subs_of(qid)]
        return min(rank.get(f, never) for f in family)

    ordered = sorted(mains, key=lambda q: (urgency(q.id), rng.random()))
    return [q.id for q in ordered[:count]]
