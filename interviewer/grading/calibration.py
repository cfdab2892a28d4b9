"""What the offline grader's evidence is worth: the parameters `interviewer calibrate` fits on train (fitting.py),
and how they turn evidence into key-point statuses, detected misconceptions and a score."""

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from ..bank import Question
from ..errors import ConfigError
from .feedback import build_feedback
from .schema import GradeResult, KeyPointJudgment, Status, WrongClaim, kp_weight

if TYPE_CHECKING:
    from .answer import PreparedAnswer
    from .offline import Evidence, OfflineParams

PARAMS_PATH = Path(__file__).with_name("calibration.json")
# Status thresholds on a key point's evidence strength. They define what "covered" means in the table a candidate
# reads (and in the off-topic and don't-know rules); what coverage is worth in points is fitted.
COVERED_AT, PARTIAL_AT, MIN_DENSE_FOR_COVERED = 0.55, 0.32, 0.2
# No answer-length feature: train's short answers are its correct concise ones, so a fit learns "shorter is better",
# which a thin one-liner (held-out manipulation answers) then exploits.
# Relevance is no feature either: train holds no answer to another question, so its weight could not be fitted;
# the fixed "evidence elsewhere" rule below uses it instead.
FEATURES = ("coverage", "dense", "terms", "overlap", "misconception", "novelty", "support")


def kp_statuses(p: "OfflineParams", dense: np.ndarray, terms: np.ndarray, overlap: np.ndarray) -> list[Status]:
    strength = p.w_dense * dense + p.w_terms * terms + p.w_overlap * overlap
    return [
        Status.covered
        if v >= COVERED_AT and d >= MIN_DENSE_FOR_COVERED
        else Status.partial
        if v >= PARTIAL_AT
        else Status.missed
        for v, d in zip(strength, dense)
    ]


def kept_share(ev: "Evidence", p: "OfflineParams") -> float:
    """Retrieval evidence mostly for another question keeps the score from nothing (at `lo`) to all (at `hi`): a
    soft off-topic for answers too thin for the hard rule. Fixed, not fitted: train has no off-topic answers."""
    return float(np.clip((ev.relevance - p.elsewhere_lo) / (p.elsewhere_hi - p.elsewhere_lo), 0.0, 1.0))


def coverage_of(statuses: list[Status]) -> float:
    """0-1: covered 1, partial 0.5, weighted by key-point importance."""
    if not statuses:
        return 0.0
    weights = [kp_weight(i) for i in range(len(statuses))]
    credit = {Status.covered: 1.0, Status.partial: 0.5}
    return sum(w * credit.get(s, 0.0) for w, s in zip(weights, statuses)) / sum(weights)


class Calibration(BaseModel):
    """Fitted parameters (see fitting.py for how each is fitted)."""

    mis_scale: list[float] = Field(description="per misconception signal: its standard deviation on train")
    mis_weights: list[float] = Field(description="per misconception signal: its weight after scaling")
    mis_threshold: float = Field(description="a misconception counts as stated from this score on")
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    fitted: dict = Field(default_factory=dict, description="provenance: data, command, cross-validated figures")

    @classmethod
    def load(cls, path: Path | None = None) -> "Calibration":
        path = path or PARAMS_PATH
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            raise ConfigError(
                f"채점 보정 파일을 읽을 수 없습니다: {path} ({e})", hint="`interviewer calibrate` 로 다시 만드세요."
            ) from e

    @classmethod
    def neutral(cls, n_signals: int) -> "Calibration":
        """Unfitted: what fitting starts from (scores coverage alone)."""
        k = len(FEATURES)
        return cls(
            mis_scale=[1.0] * n_signals,
            mis_weights=[0.0] * n_signals,
            mis_threshold=math.inf,
            mean=[0.0] * k,
            scale=[1.0] * k,
            coef=[5.0] + [0.0] * (k - 1),
            intercept=0.0,
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    # -- evidence -> judgments and score ------------------------------------------------------------------------
    def misconception_scores(self, ev: "Evidence") -> tuple[np.ndarray, np.ndarray]:
        """Per misconception: its best sentence's score and that sentence's index."""
        if ev.mis.size == 0:
            return np.zeros(ev.mis.shape[1]), np.zeros(ev.mis.shape[1], dtype=int)
        w = np.asarray(self.mis_weights) / np.asarray(self.mis_scale)
        per = ev.mis @ w  # (sentences, misconceptions)
        return per.max(axis=0), per.argmax(axis=0)

    def features(self, q: Question, ev: "Evidence", p: "OfflineParams") -> np.ndarray:
        weights = np.array([kp_weight(i) for i in range(len(q.key_points))])
        mean = lambda v: float(np.dot(weights, v) / weights.sum())
        mis, _ = self.misconception_scores(ev)
        return np.array(
            [
                coverage_of(kp_statuses(p, ev.kp_dense, ev.kp_terms, ev.kp_overlap)),
                mean(ev.kp_dense),
                mean(ev.kp_terms),
                mean(ev.kp_overlap),
                float(mis.max()) if mis.size else 0.0,
                ev.novelty,
                ev.support_share,
            ]
        )

    def score(self, q: Question, ev: "Evidence", p: "OfflineParams") -> float:
        if ev.off_topic or ev.dont_know or ev.restated or ev.n_tokens == 0:  # an answer without a word says nothing
            return 0.0
        z = (self.features(q, ev, p) - np.asarray(self.mean)) / np.asarray(self.scale)
        value = float(np.clip(self.intercept + np.dot(self.coef, z), 0.0, 5.0))
        return round(value * kept_share(ev, p), 2)

    def grade(
        self, q: Question, a: "PreparedAnswer", ev: "Evidence", p: "OfflineParams", *, grader: str
    ) -> GradeResult:
        judgments, extra_wrong, flags = self.judgments(q, a, ev, p)
        if kept_share(ev, p) < 1.0 and not ev.off_topic:
            flags.append(f"evidence_elsewhere:{ev.closer}")
        note = (
            "off_topic"
            if ev.off_topic
            else "dont_know"
            if ev.dont_know
            else "restates_question"
            if ev.restated
            else None
        )
        result = GradeResult(
            question_id=q.id,
            score=self.score(q, ev, p),
            key_points=judgments,
            off_topic=ev.off_topic,
            dont_know=ev.dont_know,
            grader=grader,
            flags=ev.flags + flags,
            passages=ev.passages,
        )
        result.feedback = build_feedback(q, judgments, note_key=note, extra_wrong=extra_wrong)
        return result

    def judgments(self, q: Question, a: "PreparedAnswer", ev: "Evidence", p: "OfflineParams"):
        """Statuses from the evidence; a stated misconception marks the key point it contradicts (unless that point is
        said right in another sentence) and is never a praised point's evidence."""
        statuses = kp_statuses(p, ev.kp_dense, ev.kp_terms, ev.kp_overlap)
        judgments = [
            KeyPointJudgment(
                index=i,
                point=kp.point,
                status=statuses[i],
                evidence=a.sentences[ev.kp_best[i]] if statuses[i] is not Status.missed else None,
                support_ids=[f"{q.id}:key_point:{i}"] if statuses[i] is not Status.missed else [],
            )
            for i, kp in enumerate(q.key_points)
        ]
        scores, where = self.misconception_scores(ev)
        extra, flags, wrong_sentences = [], [], set()
        for j in np.argsort(-scores):
            if scores[j] < self.mis_threshold:
                break
            pit, sentence = q.pitfalls[j], a.sentences[int(where[j])]
            wrong_sentences.add(sentence)
            flags.append(f"pitfall:{j}")
            target = judgments[pit.key_point] if pit.key_point is not None else None
            if target is not None and not (target.status is Status.covered and target.evidence != sentence):
                target.status, target.evidence, target.correction = Status.contradicted, sentence, pit.correction
                target.support_ids = [f"{q.id}:pitfall:{j}", f"{q.id}:correction:{j}"]
            elif target is None or target.evidence != sentence:
                extra.append(WrongClaim(quote=sentence, correction=pit.correction or pit.claim, point=None))
        for jd in judgments:
            if jd.status is Status.covered and jd.evidence in wrong_sentences:
                jd.status = Status.partial  # its evidence also states a misconception: not "said right"
        return judgments, extra, flags
