"""`interviewer eval`: grade a JSONL of answers, one typed result per item, then a separate aggregation step."""

import json
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ..bank import Bank
from ..errors import InterviewerError
from . import metrics
from .llm import CALL_FAILED
from .schema import GradeResult

MAX_FAILURES_IN_A_ROW = 5


class EvalItem(BaseModel):
    question: str = Field(min_length=1)
    answer: str
    id: str | None = None
    gold: float | None = Field(None, ge=0, le=5)
    tier: str | None = None


class ItemResult(BaseModel):
    id: str
    question_id: str | None
    score: float | None
    gold: float | None
    tier: str | None
    off_topic: bool = False
    dont_know: bool = False
    flags: list[str] = Field(default_factory=list)
    error: str | None = None
    latency_ms: float = 0.0
    model_calls: int = 0
    decoded_tokens: int = 0
    # Per key point, compact: status and, from a checklist judge, P(stated correctly); read an eval point by point.
    key_points: list[dict] = Field(default_factory=list)


def compact_key_points(r: GradeResult) -> list[dict]:
    return [
        {"i": j.index, "status": j.status.value} | ({"p": round(j.probability, 3)} if j.probability is not None else {})
        for j in r.key_points
    ]


def read_dataset(path: Path) -> list[tuple[str, EvalItem | str]]:
    """(id, item) per non-empty line; a line that cannot be read becomes (id, error message), not a crash."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise InterviewerError(f"{path}: UTF-8 텍스트가 아닙니다") from e
    except OSError as e:
        raise InterviewerError(f"{path}: 읽을 수 없습니다: {e.strerror or e}") from e
    out: list[tuple[str, EvalItem | str]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        data = None
        try:
            data = json.loads(line)
            item = EvalItem.model_validate(data)
            out.append((item.id or f"line-{n}", item))
        except (json.JSONDecodeError, ValidationError) as e:
            ident = data.get("id") if isinstance(data, dict) else None
            out.append((str(ident or f"line-{n}"), f"{path.name}:{n}: 읽을 수 없는 줄: {str(e).splitlines()[0]}"))
    if not out:
        raise InterviewerError(f"{path}: 평가할 줄이 없습니다")
    return out


def grade_item(ident: str, item: EvalItem | str, bank: Bank, grade: Callable[..., GradeResult]) -> ItemResult:
    if isinstance(item, str):
        return ItemResult(id=ident, question_id=None, score=None, gold=None, tier=None, error=item)
    try:
        q = bank.find(item.question)
    except InterviewerError as e:
        return ItemResult(id=ident, question_id=None, score=None, gold=item.gold, tier=item.tier, error=str(e))
    r = grade(q, item.answer)
    return ItemResult(
        id=ident,
        question_id=q.id,
        score=r.score,
        gold=item.gold,
        tier=item.tier,
        off_topic=r.off_topic,
        dont_know=r.dont_know,
        flags=r.flags,
        latency_ms=r.latency_ms,
        model_calls=r.model_calls,
        decoded_tokens=r.decoded_tokens,
        error=r.unscored_reason,
        key_points=compact_key_points(r),
    )


class Breaker:
    """Stops a run against a server that keeps failing: after `limit` model-call failures in a row (each already
    retried by the client on 429/5xx), the remaining items are not sent and say why. Bounds the total retries."""

    def __init__(self, limit: int = MAX_FAILURES_IN_A_ROW):
        self.limit = limit
        self.streak = 0
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self.limit > 0 and self.streak >= self.limit

    def record(self, result: ItemResult) -> None:
        with self._lock:
            self.streak = self.streak + 1 if CALL_FAILED in result.flags else 0

    def guard(self, ident: str, item: EvalItem | str, bank: Bank, grade: Callable[..., GradeResult]) -> ItemResult:
        if self.open:
            return ItemResult(
                id=ident,
                question_id=None,
                score=None,
                gold=getattr(item, "gold", None),
                tier=getattr(item, "tier", None),
                flags=["not_sent"],
                error=f"모델 호출이 연속 {self.limit}번 실패해 이 항목은 보내지 않았습니다 (서버 상태를 확인하세요)",
            )
        result = grade_item(ident, item, bank, grade)
        self.record(result)
        return result


def run(
    items: list[tuple[str, EvalItem | str]],
    bank: Bank,
    grade: Callable[..., GradeResult],
    *,
    concurrency: int = 1,
    serial: bool = False,
    max_failures: int = MAX_FAILURES_IN_A_ROW,
    progress: Callable[[int, int], None] | None = None,
) -> list[ItemResult]:
    """Results in input order. `serial` grades in this thread so a debugger or a traceback sees everything."""
    results: list[ItemResult] = []
    breaker = Breaker(max_failures)
    if serial or concurrency <= 1:
        for i, (ident, item) in enumerate(items, 1):
            results.append(breaker.guard(ident, item, bank, grade))
            if progress:
                progress(i, len(items))
        return results
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(breaker.guard, ident, item, bank, grade) for ident, item in items]
        for i, f in enumerate(futures, 1):
            results.append(f.result())
            if progress:
                progress(i, len(items))
    return results


def aggregate(model: str, results: list[ItemResult], total_s: float) -> dict:
    scored = [r for r in results if r.score is not None]
    with_gold = [r for r in scored if r.gold is not None]
    s = [r.score for r in with_gold]
    g = [r.gold for r in with_gold]
    latencies = [r.latency_ms for r in scored]
    called = [r for r in scored if r.model_calls]

    def rnd(x):
        return None if x is None else round(x, 4)

    return {
        "model": model,
        "n": len(results),
        "scored": len(scored),
        "unscored": len(results) - len(scored),
        "metrics": {
            "spearman": rnd(metrics.spearman(s, g)),
            "pairwise_accuracy": rnd(metrics.pairwise_accuracy([r.question_id for r in with_gold], s, g)),
            "qwk": rnd(metrics.quadratic_weighted_kappa(s, g)),
            "mae": rnd(metrics.mae(s, g)),
            "by_tier": metrics.by_tier([r.tier for r in scored], [r.score for r in scored]),
        },
        "timing": {
            "total_s": round(total_s, 2),
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            # What a model grader costs an answer it judged (rules and empty answers cost no call).
            "calls_mean": rnd(statistics.mean([r.model_calls for r in called])) if called else 0,
            "decoded_tokens_mean": rnd(statistics.mean([r.decoded_tokens for r in called])) if called else 0,
        },
        "items": [
            r.model_dump(
                include={
                    "id",
                    "question_id",
                    "score",
                    "gold",
                    "tier",
                    "off_topic",
                    "dont_know",
                    "flags",
                    "error",
                    "latency_ms",
                    "model_calls",
                    "decoded_tokens",
                }
            )
            for r in results
        ],
    }


def evaluate(path: Path, bank: Bank, grade: Callable[..., GradeResult], model: str, **kwargs) -> dict:
    start = time.perf_counter()
    items = read_dataset(path)
    results = run(items, bank, grade, **kwargs)
    return aggregate(model, results, time.perf_counter() - start)
