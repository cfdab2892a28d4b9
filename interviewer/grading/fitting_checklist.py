"""`interviewer calibrate --model SPEC`: fit how a checklist judge's probabilities combine with the offline grade.

The judge's probabilities are collected once per train answer (cached in a JSONL: a slow model's hour is not spent
twice), the offline score of each answer is its cross-validated one (fitted without the answer's family, so the
blend does not learn to trust an offline score that saw the answer), and the blend is cross-validated by family.
The cache is keyed by answer id: after the bank's key points or misconceptions change, start a new one."""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .checklist import ChecklistJudge
from .combined import CombinedParams, checklist_features, likely_misconceptions, params_path
from .fitting import MIS_FALSE_ALARMS, MIS_NEGATIVE, Item, cross_validate, report
from .offline import OfflineGrader

RIDGE = 1.0  # three standardised inputs, tens of answers: a light penalty keeps a noisy column from dominating


def collect(
    items: list[Item],
    offline_cv: list[float],
    grader: OfflineGrader,
    judge: ChecklistJudge,
    cache: Path,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """One record per item: its cross-validated offline score and the judge's probabilities (from the cache when
    the same answer was judged before)."""
    done = {}
    if cache.exists():
        done = {r["id"]: r for r in map(json.loads, cache.read_text(encoding="utf-8").splitlines()) if r}
    records = []
    with cache.open("a", encoding="utf-8") as out:
        for n, (it, off) in enumerate(zip(items, offline_cv), 1):
            if it.id not in done:
                done[it.id] = _judge(it, grader, judge)
                out.write(json.dumps(done[it.id], ensure_ascii=False) + "\n")
                out.flush()
            records.append(done[it.id] | {"offline": off})
            if progress:
                progress(n, len(items))
    return records


def _judge(it: Item, grader: OfflineGrader, judge: ChecklistJudge) -> dict:
    base = {"id": it.id, "question_id": it.question.id, "family": it.family, "tier": it.tier, "gold": it.gold}
    ev = it.evidence
    if ev is None or ev.off_topic or ev.dont_know or ev.restated:
        return base | {"ruled": True}
    picked = likely_misconceptions(grader, it.question, ev)
    asked = it.question.model_copy(update={"pitfalls": [it.question.pitfalls[j] for j in picked]})
    res = judge.judge(asked, it.answer)
    kp_mean, mis_max = checklist_features(it.question, res)
    return base | {
        "ruled": False,
        "kp_mean": kp_mean,
        "mis_max": mis_max,
        "key_points": res.key_points,
        "pitfalls": dict(zip(map(str, picked), res.pitfalls)),
        "latency_ms": res.latency_ms,
        "calls": res.calls,
        "decoded_tokens": res.decoded_tokens,
    }


def fit(records: list[dict]) -> CombinedParams:
    rows = [r for r in records if not r.get("ruled")]
    x = np.array([[r["offline"], r["kp_mean"], r["mis_max"]] for r in rows])
    y = np.array([r["gold"] for r in rows])
    mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / std
    beta = np.linalg.solve(z.T @ z + RIDGE * np.eye(3), z.T @ (y - y.mean()))
    coef = beta / std
    negatives = np.sort([r["mis_max"] for r in rows if r["tier"] in MIS_NEGATIVE])
    threshold = float(np.quantile(negatives, 1.0 - MIS_FALSE_ALARMS)) + 1e-6 if len(negatives) else 0.5
    return CombinedParams(
        coef=coef.tolist(), intercept=float(y.mean() - coef @ mean), misconception_at=max(0.5, threshold)
    )


def predict(records: list[dict], params: CombinedParams) -> list[float]:
    return [0.0 if r.get("ruled") else params.score(r["offline"], r["kp_mean"], r["mis_max"]) for r in records]


def cross_validated(records: list[dict]) -> list[float]:
    preds = [0.0] * len(records)
    for family in sorted({r["family"] for r in records}):
        params = fit([r for r in records if r["family"] != family])
        for i, r in enumerate(records):
            if r["family"] == family:
                preds[i] = predict([r], params)[0]
    return preds


def calibrate_checklist(
    spec: str,
    items: list[Item],
    families: set[str],
    grader: OfflineGrader,
    judge: ChecklistJudge,
    lam: float,
    cache: Path,
    out: Path | None = None,
    progress=None,
) -> dict:
    """Fit the blend for `spec` on the answers of `families` (a slow model judges a subset of train); report CV
    figures of the blend and of the offline grade alone on the same answers."""
    offline_cv, _ = cross_validate(items, grader, lam)  # over all of train, as the offline fit itself
    picked = [(it, off) for it, off in zip(items, offline_cv) if it.family in families]
    items, offline_cv = [it for it, _ in picked], [off for _, off in picked]
    records = collect(items, offline_cv, grader, judge, cache, progress)
    by_id = {it.id: it for it in items}
    subset = [by_id[r["id"]] for r in records]
    params = fit(records)
    cv = cross_validated(records)
    fitted = {
        "model": spec,
        "command": f"interviewer calibrate --model {spec}",
        "n": len(records),
        "cv": report(subset, cv),
        "offline_cv_same_answers": report(subset, [r["offline"] for r in records]),
        "latency_ms_p50": float(np.median([r["latency_ms"] for r in records if "latency_ms" in r] or [0])),
        "decoded_tokens_mean": float(np.mean([r["decoded_tokens"] for r in records if "calls" in r] or [0])),
        "calls_mean": float(np.mean([r["calls"] for r in records if "calls" in r] or [0])),
    }
    params = params.model_copy(update={"fitted": fitted})
    params.save(out or params_path(spec))
    return fitted
