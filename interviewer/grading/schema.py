"""One result schema for every grader, and the one rule that turns key-point judgments into a score."""

from collections.abc import Callable
from enum import Enum

from pydantic import BaseModel, Field, model_validator

# A grader reports what it is doing, in Korean ("핵심 포인트 3/5 확인 중"), to whoever waits for it.
Progress = Callable[[str], None]


class Status(str, Enum):
    covered = "covered"
    partial = "partial"
    missed = "missed"
    contradicted = "contradicted"


# How each status reads to a candidate (every renderer uses these).
STATUS_KO = {"covered": "✔ 다룸", "partial": "△ 일부", "missed": "✘ 빠짐", "contradicted": "✘ 틀림"}


# Credit per status; a contradiction costs more than a silence so a confidently wrong answer ranks below a thin one.
CREDIT = {Status.covered: 1.0, Status.partial: 0.5, Status.missed: 0.0, Status.contradicted: -0.5}


class KeyPointJudgment(BaseModel):
    index: int
    point: str
    status: Status
    evidence: str | None = Field(None, description="the part of the answer that shows it")
    support_ids: list[str] = Field(default_factory=list, description="retrieved passages that support the judgment")
    correction: str | None = Field(None, description="for a contradicted point, the bank's correction")
    probability: float | None = Field(None, description="a checklist judge's P(stated correctly), when it has one")


class Passage(BaseModel):
    chunk_id: str
    question_id: str
    kind: str
    text: str
    score: float


class WrongClaim(BaseModel):
    quote: str = Field(description="the candidate's own sentence that states the misconception")
    correction: str = Field(description="what is right instead (the bank's correction)")
    point: str | None = Field(None, description="the key point the claim contradicts")


class Feedback(BaseModel):
    """Feedback a candidate can act on, built from the judgments (never from free model prose): what was right in
    their own words, what was wrong with its correction, what was missing one line a point, then the model answer."""

    note: str = Field("", description="a remark on the whole answer (off topic, don't know, only restated)")
    good: list[str] = Field(default_factory=list, description="잘한 점: points stated and not contradicted")
    wrong: list[WrongClaim] = Field(default_factory=list, description="틀린 점 with corrections")
    missing: list[str] = Field(default_factory=list, description="빠진 점: one line per point")
    model_answer: str = Field(description="짧은 모범 답안")

    @model_validator(mode="before")
    @classmethod
    def _from_old_sessions(cls, data):
        """Sessions saved before feedback was structured stored `good` and `missing` as one string each."""
        if isinstance(data, dict):
            data = dict(data)
            for key in ("good", "missing"):
                if isinstance(data.get(key), str):
                    data[key] = [line for line in data[key].splitlines() if line.strip()]
        return data


class GradeResult(BaseModel):
    question_id: str
    score: float | None = Field(None, ge=0, le=5, description="0-5; None when unscored")
    unscored_reason: str | None = None
    key_points: list[KeyPointJudgment] = Field(default_factory=list)
    off_topic: bool = False
    dont_know: bool = False
    feedback: Feedback | None = None
    grader: str
    latency_ms: float = 0.0
    model_calls: int = Field(0, description="requests this grade sent to a model (0 offline)")
    decoded_tokens: int = Field(0, description="tokens the model generated for this grade, over all its requests")
    flags: list[str] = Field(default_factory=list)
    offline_score: float | None = Field(None, description="the offline grader's score, computed alongside an LLM")
    passages: list[Passage] = Field(default_factory=list)
    follow_up_question: str | None = Field(None, description="in an interview, the model's follow-up on a gap")

    @property
    def scored(self) -> bool:
        return self.score is not None


def mean_score(scores) -> float | None:
    """The mean of 0-5 scores as shown everywhere (two decimals); None for none."""
    scores = list(scores)
    return round(sum(scores) / len(scores), 2) if scores else None


def kp_weight(index: int) -> float:
    """Key points are listed by importance: earlier ones weigh a little more (1.0, 0.9, 0.8, ... floor 0.6)."""
    return max(0.6, 1.0 - 0.1 * index)


def score_from_judgments(
    judgments: list[KeyPointJudgment],
    *,
    off_topic: bool = False,
    dont_know: bool = False,
    wrong_share: float = 0.0,
    curve: float = 1.0,
) -> float:
    """Score 0-5 from key-point statuses alone: the same judgments always give the same score.

    Key points are listed by importance, so earlier ones weigh a little more (1.0, 0.9, 0.8, ... floor 0.6).
    `wrong_share` (0-1) is the part of the answer that states things the references do not support or that are
    wrong; it scales the score down, so padding an answer with false claims costs points. `curve` < 1 lifts
    middling credit (a grader whose statuses are strict can be mapped onto the 0-5 scale people use)."""
    if off_topic or dont_know or not judgments:
        return 0.0
    weights = [kp_weight(j.index) for j in judgments]
    credit = sum(w * CREDIT[j.status] for w, j in zip(weights, judgments)) / sum(weights)
    credit *= 1.0 - min(1.0, max(0.0, wrong_share))
    credit = max(0.0, credit) ** curve
    return round(min(5.0, max(0.0, 5.0 * credit)), 2)


# What a flag means to the candidate, for the flags worth telling them (CLI and UI show the same notes).
FLAG_NOTES = {
    "injection_suspected": "채점 지시로 보이는 문장은 무시했습니다",
    "truncated": "답변이 길어 앞부분만 채점했습니다",
    "non_korean": "한국어가 아닌 답변입니다",
    "restates_question": "질문을 되풀이했을 뿐 답이 없습니다",
    "grader_disagreement": "LLM과 오프라인 채점이 2점 넘게 다릅니다",
    "capped_after_manipulation": "채점 지시가 섞인 답변이라 오프라인 채점 점수를 넘지 않게 했습니다",
    "capped_off_topic": "다른 질문에 대한 답변으로 보여 오프라인 채점 + 1점을 넘지 않게 했습니다",
    "capped_dont_know": "모른다는 답변으로 보여 오프라인 채점 + 1점을 넘지 않게 했습니다",
    "capped_one_quote": "모델이 핵심 포인트마다 근거를 따로 들지 않아 오프라인 채점 + 1점을 넘지 않게 했습니다",
}


def flag_notes(flags: list[str]) -> list[str]:
    return [FLAG_NOTES[f] for f in flags if f in FLAG_NOTES]
