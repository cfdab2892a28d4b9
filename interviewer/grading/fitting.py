"""`interviewer calibrate`: fit the offline grader's parameters on train with leave-family-out cross-validation
(a main question and its sub-questions are one fold: they share vocabulary), report the cross-validated and the
dev figures, and write the parameter file the grader loads. Deterministic: no random draw anywhere."""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bank import Bank, Question
from . import metrics
from .calibration import FEATURES, Calibration
from .offline import MIS_SIGNALS, Evidence, OfflineGrader

# Answers that state a misconception (positives) and answers that state none (negatives) for the detector; partial
# and padded answers may or may not, so they do not vote.
MIS_POSITIVE, MIS_NEGATIVE = ("subtle_wrong", "wrong"), ("excellent", "concise", "good")
# A correct answer told it is wrong is the worst feedback: the threshold lets at most this share of train's correct
# answers have any misconception detected.
MIS_FALSE_ALARMS = 0.05
WEIGHT_GRID = (0.0, 0.5, 1.0, 2.0)
RIDGE_LAMBDAS = (0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass
class Item:
    id: str
    question: Question
    family: str
    gold: float
    tier: str
    evidence: Evidence | None  # None: empty answer or ungradable question (scored 0 / unscored by the grader)
    answer: str = ""


def read_items(
    path: Path,
    bank: Bank,
    grader: OfflineGrader,
    progress: Callable[[int, int], None] | None = None,
    families: set[str] | None = None,
) -> list[Item]:
    """The graded answers of `path` with their evidence (only those of `families`, when given)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if families is not None:
        rows = [r for r in rows if (bank.find(r["question"]).parent or bank.find(r["question"]).id) in families]
    items = []
    for n, row in enumerate(rows, 1):
        q = bank.find(row["question"])
        items.append(
            Item(
                row["id"],
                q,
                q.parent or q.id,
                float(row["gold"]),
                row.get("tier") or "",
                grader.evidence(q, row["answer"]),
                row["answer"],
            )
        )
        if progress:
            progress(n, len(rows))
    return items


# -- misconception detector ----------------------------------------------------------------------------------------
def _signal_scale(items: list[Item]) -> np.ndarray:
    stacked = [it.evidence.mis.reshape(-1, len(MIS_SIGNALS)) for it in items if it.evidence and it.evidence.mis.size]
    return np.maximum(np.concatenate(stacked).std(axis=0), 1e-6) if stacked else np.ones(len(MIS_SIGNALS))


def _mis_max(items: list[Item], w: np.ndarray) -> np.ndarray:
    return np.array(
        [float((it.evidence.mis @ w).max()) if it.evidence and it.evidence.mis.size else 0.0 for it in items]
    )


def _mis_auc(items: list[Item], w: np.ndarray) -> float:
    s = _mis_max(items, w)
    pos = [v for v, it in zip(s, items) if it.tier in MIS_POSITIVE]
    neg = [v for v, it in zip(s, items) if it.tier in MIS_NEGATIVE]
    return metrics.auc(pos, neg) or 0.5


def fit_misconceptions(items: list[Item]) -> tuple[list[float], list[float], float]:
    """(signal scale, weights, threshold): the weights that best separate answers stating a misconception from
    correct ones by their most misconception-like sentence (grid search, AUC), the threshold at MIS_FALSE_ALARMS."""
    scale = _signal_scale(items)
    best, best_auc = None, -1.0
    for w in itertools.product(WEIGHT_GRID, repeat=len(MIS_SIGNALS)):
        if not any(w):
            continue
        auc = _mis_auc(items, np.asarray(w) / scale)
        if auc > best_auc + 1e-9:
            best, best_auc = w, auc
    w = np.asarray(best) / scale
    neg = np.sort(_mis_max([it for it in items if it.tier in MIS_NEGATIVE], w))
    threshold = float(np.quantile(neg, 1.0 - MIS_FALSE_ALARMS)) + 1e-6 if len(neg) else float("inf")
    return scale.tolist(), list(map(float, best)), threshold


# -- score --------------------------------------------------------------------------------------------------------
def _design(items: list[Item], cal: Calibration, grader: OfflineGrader) -> tuple[np.ndarray, np.ndarray]:
    """Features of the items the score model sees (not zeroed by a rule) and the mask of those items."""
    mask = np.array(
        [
            bool(it.evidence) and not (it.evidence.off_topic or it.evidence.dont_know or it.evidence.restated)
            for it in items
        ]
    )
    rows = [cal.features(it.question, it.evidence, grader.params) for it, m in zip(items, mask) if m]
    return (np.vstack(rows) if rows else np.zeros((0, len(cal.mean)))), mask


def fit(items: list[Item], grader: OfflineGrader, lam: float) -> Calibration:
    scale, weights, threshold = fit_misconceptions(items)
    cal = Calibration(
        mis_scale=scale,
        mis_weights=weights,
        mis_threshold=threshold,
        mean=[0.0],
        scale=[1.0],
        coef=[0.0],
        intercept=0.0,
    )
    x, mask = _design(items, cal, grader)
    y = np.array([it.gold for it, m in zip(items, mask) if m])
    mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / std
    coef = np.linalg.solve(z.T @ z + lam * np.eye(z.shape[1]), z.T @ (y - y.mean()))
    return cal.model_copy(
        update={
            "mean": mean.tolist(),
            "scale": std.tolist(),
            "coef": coef.tolist(),
            "intercept": float(y.mean()),
            "fitted": {"ridge_lambda": lam},
        }
    )


def predict(items: list[Item], cal: Calibration, grader: OfflineGrader) -> list[float]:
    return [cal.score(it.question, it.evidence, grader.params) if it.evidence else 0.0 for it in items]


def cross_validate(items: list[Item], grader: OfflineGrader, lam: float) -> tuple[list[float], list[bool]]:
    """Each family's answers scored by parameters fitted without that family (the detector refitted too): the
    scores, and whether a misconception was detected in each answer."""
    preds, detected = [0.0] * len(items), [False] * len(items)
    for family in sorted({it.family for it in items}):
        cal = fit([it for it in items if it.family != family], grader, lam)
        held = [i for i, it in enumerate(items) if it.family == family]
        mis = _mis_max([items[i] for i in held], np.asarray(cal.mis_weights) / np.asarray(cal.mis_scale))
        for i, m in zip(held, mis):
            it = items[i]
            preds[i] = cal.score(it.question, it.evidence, grader.params) if it.evidence else 0.0
            detected[i] = bool(m >= cal.mis_threshold)
    return preds, detected


# -- report -------------------------------------------------------------------------------------------------------
def report(items: list[Item], scores: list[float], detected: list[bool] | None = None) -> dict:
    """Agreement with gold, mean score by tier, how often subtle_wrong ranks below partial of the same question,
    and (given per-answer detections) the share of each tier in which a misconception was detected."""
    gold = [it.gold for it in items]
    tiers = [it.tier for it in items]
    out = {
        "n": len(items),
        "spearman": metrics.spearman(scores, gold),
        "pairwise": metrics.pairwise_accuracy([it.question.id for it in items], scores, gold),
        "qwk": metrics.quadratic_weighted_kappa(scores, gold),
        "mae": metrics.mae(scores, gold),
        "by_tier": metrics.by_tier(tiers, scores),
    }
    by_q: dict[str, dict[str, float]] = {}
    for it, s in zip(items, scores):
        by_q.setdefault(it.question.id, {})[it.tier] = s
    pairs = [v for v in by_q.values() if "subtle_wrong" in v and "partial" in v]
    if pairs:
        out["subtle_below_partial"] = sum(v["subtle_wrong"] < v["partial"] for v in pairs) / len(pairs)
    if detected is not None:
        out["misconception_detected"] = {
            t: float(np.mean([d for d, it in zip(detected, items) if it.tier == t])) for t in sorted(set(tiers))
        }
    return out


def detections(items: list[Item], cal: Calibration) -> list[bool]:
    mis = _mis_max(items, np.asarray(cal.mis_weights) / np.asarray(cal.mis_scale))
    return [bool(m >= cal.mis_threshold) for m in mis]


def calibrate(
    grader: OfflineGrader,
    bank: Bank,
    train_path: Path,
    dev_path: Path | None,
    out: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Fit on train, report cross-validated train figures and dev figures, write the parameter file."""
    step = (lambda name: lambda n, total: progress(name, n, total)) if progress else (lambda name: None)
    train = read_items(train_path, bank, grader, step("train"))
    dev = read_items(dev_path, bank, grader, step("dev")) if dev_path else []
    # The ridge penalty is the one choice made by cross-validation itself (lowest CV mean absolute error).
    cv = {lam: cross_validate(train, grader, lam) for lam in RIDGE_LAMBDAS}
    lam = min(RIDGE_LAMBDAS, key=lambda v: np.mean([abs(p - it.gold) for p, it in zip(cv[v][0], train)]))
    cal = fit(train, grader, lam)
    fitted = {
        "train": train_path.name,
        "command": "interviewer calibrate",
        "ridge_lambda": lam,
        "features": list(FEATURES),
        "misconception_signals": list(MIS_SIGNALS),
        "cv": report(train, *cv[lam]),
    }
    if dev:
        fitted["dev"] = report(dev, predict(dev, cal, grader), detections(dev, cal))
    cal = cal.model_copy(update={"fitted": fitted})
    cal.save(out)
    return fitted
