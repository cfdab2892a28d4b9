"""One grade from all the evidence: the offline grader's fitted score and evidence, and a checklist judge's token
probabilities (one yes/no judgment per key point and per misconception), combined by parameters that
`interviewer calibrate --model SPEC` fits on train (fitting_checklist.py). The model writes no prose, so the feedback
quotes only the candidate and shows only the bank's corrections.

A small model says "Yes" to some claims whatever the answer (a fluent answer on the topic sounds like it asserts
them), so a misconception counts by how far its P(asserts) exceeds the same judgment on the bank's own reference
answer, which asserts none of them: the question's anchor."""

import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ..bank import Question
from ..errors import ConfigError, InterviewerError
from .answer import prepare
from .calibration import PARAMS_PATH
from .checklist import ChecklistJudge, ChecklistResult
from .feedback import build_feedback
from .offline import Evidence, OfflineGrader
from .schema import GradeResult, KeyPointJudgment, Progress, Status, WrongClaim, kp_weight

# Misconceptions asked of the model per answer: the ones the offline evidence finds most likely. Each costs a call;
# a bank question holds 8-12, and an answer states one or two.
TOP_MISCONCEPTIONS = 3
# A judgment is the model's own decision where P(Yes) > P(No).
STATED_AT = 0.5


def params_path(spec: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", spec.lower()).strip("-")
    return PARAMS_PATH.with_name(f"calibration.{slug}.json")


class Anchor(BaseModel):
    """The judge's probabilities on a question's reference answer, for the bank version named by `digest`."""

    digest: str
    key_points: list[float]
    pitfalls: list[float] = Field(description="P(asserts misconception j), bank order")


def question_digest(q: Question) -> str:
    """What an anchor depends on: the question, its reference answer, key points and misconceptions."""
    parts = [q.question, q.reference, [k.point for k in q.key_points], [p.claim for p in q.pitfalls]]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:16]


FEATURES = ("offline score", "weighted mean P(key point)", "max P(misconception)", "max excess over the anchor")


def blend_features(offline: float, kp_mean: float, asked: dict[int, float], anchor: list[float]) -> list[float]:
    """The blend's inputs (FEATURES) from the P(asserts) of the asked misconceptions (bank index -> P)."""
    return [offline, kp_mean, max(asked.values(), default=0.0), max_excess(asked, anchor)]


def max_excess(asked: dict[int, float], anchor: list[float]) -> float:
    return max((p - anchor[j] for j, p in asked.items()), default=0.0)


class CombinedParams(BaseModel):
    """score = intercept + Σ coef · FEATURES, clipped 0-5."""

    coef: list[float] = Field(min_length=len(FEATURES), max_length=len(FEATURES))
    intercept: float
    misconception_at: float = Field(
        description="excess of P(asserts) over the anchor from which a misconception counts as stated"
    )
    top_k: int | None = Field(
        default=TOP_MISCONCEPTIONS, description="misconceptions asked: the likeliest k by the offline evidence, or all"
    )
    anchors: dict[str, Anchor] = Field(default_factory=dict, description="question id -> anchor, this model's")
    fitted: dict = Field(default_factory=dict)

    @classmethod
    def load(cls, spec: str) -> "CombinedParams":
        path = params_path(spec)
        if not path.exists():
            path = params_path("local")  # the bundled model's fit: the nearest thing to one for another model
        try:
            params = cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            raise ConfigError(
                f"채점 보정 파일을 읽을 수 없습니다: {path} ({e})",
                hint=f"`interviewer calibrate --model {spec}` 로 만드세요.",
            ) from e
        # Anchors are one model's judgments: another model's grader judges its own on first use.
        return params if params.fitted.get("model") == spec else params.model_copy(update={"anchors": {}})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def score(self, features: list[float]) -> float:
        value = self.intercept + float(np.dot(self.coef, features))
        return round(float(np.clip(value, 0.0, 5.0)), 2)


def ranked(scores: np.ndarray, k: int) -> list[int]:
    """The indices of the `k` highest misconception scores, highest first (ties in bank order)."""
    return [int(j) for j in np.argsort(-scores, kind="stable")[:k]]


def likely_misconceptions(offline: OfflineGrader, q: Question, ev: Evidence, k: int = TOP_MISCONCEPTIONS) -> list[int]:
    """The `k` misconceptions of `q` the offline evidence finds likeliest in the answer, likeliest first."""
    return ranked(offline.calibration.misconception_scores(ev)[0], k)


def kp_mean(res: ChecklistResult | Anchor) -> float:
    """P(key point stated), averaged with the bank's key-point weights."""
    weights = [kp_weight(i) for i in range(len(res.key_points))]
    return float(np.dot(weights, res.key_points) / sum(weights)) if weights else 0.0


def judge_anchor(judge: ChecklistJudge, q: Question) -> Anchor:
    """Every key point and misconception judged on the reference answer (none asserted when there is none)."""
    if not q.reference.strip():
        return Anchor(digest=question_digest(q), key_points=[1.0] * len(q.key_points), pitfalls=[0.0] * len(q.pitfalls))
    res = judge.judge(q, q.reference)
    return Anchor(digest=question_digest(q), key_points=res.key_points, pitfalls=res.pitfalls)


class CombinedGrader:
    def __init__(self, offline: OfflineGrader, judge: ChecklistJudge, params: CombinedParams, name: str):
        self.offline, self.judge, self.params, self.name = offline, judge, params, name
        self._anchors = dict(params.anchors)

    def anchor(self, q: Question, progress: Progress | None = None) -> Anchor:
        """The question's anchor: fitted with the parameters, or (a question added or edited since, another
        model) judged now on the reference answer, once per grader."""
        found = self._anchors.get(q.id)
        if found is not None and found.digest == question_digest(q):
            return found
        if progress:
            progress("참고 답안 기준 확인 중")
        self._anchors[q.id] = judge_anchor(self.judge, q)
        return self._anchors[q.id]

    def grade(
        self,
        question: Question,
        answer: str,
        *,
        follow_up: bool = False,
        on_text=None,
        progress: Progress | None = None,
    ) -> GradeResult:
        """`follow_up` and `on_text` are accepted for the interview's sake: this grader writes no text."""
        start = time.perf_counter()
        if progress:
            progress("답변 분석 중")
        offline, ev = self.offline.assess(question, answer)
        offline.grader, offline.offline_score = self.name, offline.score
        if ev is None or not prepare(answer).judgeable or ev.off_topic or ev.dont_know or ev.restated:
            return offline  # nothing for a model to judge, or a rule that holds whatever a model says
        scores, where = self.offline.calibration.misconception_scores(ev)
        picked = ranked(scores, self.params.top_k or len(question.pitfalls))
        asked = question.model_copy(update={"pitfalls": [question.pitfalls[j] for j in picked]})
        try:
            anchor = self.anchor(question, progress)
            res = self.judge.judge(asked, answer, progress)
        except InterviewerError as e:  # the provider failed or returned no probabilities: unscored, nothing lost
            return GradeResult(
                question_id=question.id,
                grader=self.name,
                flags=offline.flags + ["call_failed"],
                unscored_reason=f"모델 호출 실패로 채점하지 못했습니다: {e}",
                offline_score=offline.score,
                passages=offline.passages,
            )
        # Per asked misconception, the answer's sentence the offline evidence finds closest to it: what is quoted
        # when the model judges it asserted.
        quotes = {j: ev.sentences[int(where[j])] if ev.sentences else "" for j in picked}
        excess = {j: p - anchor.pitfalls[j] for j, p in zip(picked, res.pitfalls)}
        features = blend_features(offline.score, kp_mean(res), dict(zip(picked, res.pitfalls)), anchor.pitfalls)
        return self._result(question, offline, quotes, excess, res, self.params.score(features), start)

    def _result(
        self,
        q: Question,
        offline: GradeResult,
        quotes: dict[int, str],
        excess: dict[int, float],
        res: ChecklistResult,
        score: float,
        start: float,
    ) -> GradeResult:
        flags = list(offline.flags)
        if "injection_suspected" in flags and score > offline.score:
            # A manipulation we could not fully strip must not buy points over the grade that cannot be talked to.
            score, flags = offline.score, flags + ["capped_after_manipulation"]
        judgments, wrong = self._judgments(q, offline, quotes, excess, res)
        result = offline.model_copy(
            update={
                "score": score,
                "key_points": judgments,
                "flags": flags,
                "grader": self.name,
                "latency_ms": round((time.perf_counter() - start) * 1000, 1),
                "model_calls": res.calls,
                "decoded_tokens": res.decoded_tokens,
                "offline_score": offline.score,
            }
        )
        result.feedback = build_feedback(q, judgments, extra_wrong=wrong)
        return result

    def _judgments(
        self, q: Question, offline: GradeResult, quotes: dict[int, str], excess: dict[int, float], res: ChecklistResult
    ) -> tuple[list[KeyPointJudgment], list[WrongClaim]]:
        """A key point is covered where the model judges it stated and the answer has a sentence to quote; a
        misconception judged asserted (its P over the anchor's by `misconception_at`) marks the point it
        contradicts, quoting `quotes[j]`, the sentence the offline evidence finds closest to misconception j."""
        judgments = []
        for jd, p in zip(offline.key_points, res.key_points):
            status = (
                Status.covered
                if p >= STATED_AT and jd.evidence
                else Status.partial
                if p >= STATED_AT or jd.status is not Status.missed
                else Status.missed
            )
            judgments.append(
                jd.model_copy(
                    update={
                        "status": status,
                        "probability": round(p, 4),
                        "evidence": jd.evidence if status is not Status.missed else None,
                    }
                )
            )
        wrong = []
        for j, quote in quotes.items():
            if excess[j] < self.params.misconception_at:
                continue
            pit = q.pitfalls[j]
            target = judgments[pit.key_point] if pit.key_point is not None else None
            if target is not None and target.status is not Status.covered:
                judgments[pit.key_point] = target.model_copy(
                    update={
                        "status": Status.contradicted,
                        "evidence": quote,
                        "correction": pit.correction,
                        "support_ids": [f"{q.id}:pitfall:{j}", f"{q.id}:correction:{j}"],
                    }
                )
            else:
                wrong.append(
                    WrongClaim(
                        quote=quote, correction=pit.correction or pit.claim, point=target.point if target else None
                    )
                )
        return judgments, wrong
