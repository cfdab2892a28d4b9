"""`interviewer calibrate --model SPEC`: fit how a checklist judge's probabilities combine with the offline grade.

The judge's probabilities are collected once per train answer (cached in a JSONL: a slow model's hour is not spent
twice), the offline score of each answer is its cross-validated one (fitted without the answer's family, so the
blend does not learn to trust an offline score that saw the answer), and the blend is cross-validated by family.
The cache is keyed by answer id: after the bank's key points or misconceptions change, start a new one."""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import metrics
from .checklist import ChecklistJudge
from .combined import CombinedParams, checklist_features, likely_misconceptions, params_path
from .fitting import MIS_FALSE_ALARMS, MIS_NEGATIVE, MIS_POSITIVE, Item, cross_validate, report
from .offline import OfflineGrader

# Misconceptions asked per answer, chosen by CV: the offline ranking's likeliest 3 or 5, or all (None).
TOP_K_CHOICES: tuple[int | None, ...] = (3, 5, None)
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
            if not _complete(done.get(it.id), it):
                done[it.id] = _judge(it, grader, judge)
                out.write(json.dumps(done[it.id], ensure_ascii=False) + "\n")
                out.flush()
            records.append(done[it.id] | {"offline": off})
            if progress:
                progress(n, len(items))
    # Appending keeps every judgment if a run is cut off; a record judged again replaces its old line here.
    cache.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in done.values()), encoding="utf-8")
    return records


def _complete(record: dict | None, it: Item) -> bool:
    """A cached record holds: it was ruled out, or every misconception of the question was judged."""
    return record is not None and (record.get("ruled", False) or len(record["pitfalls"]) == len(it.question.pitfalls))


def _judge(it: Item, grader: OfflineGrader, judge: ChecklistJudge) -> dict:
    """Every key point and every misconception judged, with the offline ranking of the misconceptions, so that the
    fit can choose how many of the likeliest to ask (`top_k`) without judging again."""
    base = {"id": it.id, "question_id": it.question.id, "family": it.family, "tier": it.tier, "gold": it.gold}
    ev = it.evidence
    if ev is None or ev.off_topic or ev.dont_know or ev.restated:
        return base | {"ruled": True}
    ranked = likely_misconceptions(grader, it.question, ev, k=len(it.question.pitfalls))
    res = judge.judge(it.question, it.answer)
    return base | {
        "ruled": False,
        "kp_mean": checklist_features(it.question, res)[0],
        "key_points": res.key_points,
        "pitfalls": {str(j): res.pitfalls[j] for j in ranked},  # in the offline ranking's order
        "latency_ms": res.latency_ms,
        "calls": res.calls,
        "decoded_tokens": res.decoded_tokens,
    }


def mis_max(record: dict, k: int | None) -> float:
    """The largest P(asserts) over the `k` misconceptions the offline evidence ranks likeliest (a record keeps them in
    that order; records made when only three were asked hold three)."""
    return max(list(record["pitfalls"].values())[:k], default=0.0)


def _columns(records: list[dict], top_k: int | None) -> np.ndarray:
    return np.array([[r["offline"], r["kp_mean"], mis_max(r, top_k)] for r in records])


def fit(records: list[dict], top_k: int | None) -> CombinedParams:
    rows = [r for r in records if not r.get("ruled")]
    x, y = _columns(rows, top_k), np.array([r["gold"] for r in rows])
    mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / std
    beta = np.linalg.solve(z.T @ z + RIDGE * np.eye(3), z.T @ (y - y.mean()))
    coef = beta / std
    negatives = np.sort([mis_max(r, top_k) for r in rows if r["tier"] in MIS_NEGATIVE])
    threshold = float(np.quantile(negatives, 1.0 - MIS_FALSE_ALARMS)) + 1e-6 if len(negatives) else 0.5
    return CombinedParams(
        coef=coef.tolist(),
        intercept=float(y.mean() - coef @ mean),
        misconception_at=max(0.5, threshold),
        top_k=top_k,
    )


def predict(records: list[dict], params: CombinedParams) -> list[float]:
    return [
        0.0 if r.get("ruled") else params.score(r["offline"], r["kp_mean"], mis_max(r, params.top_k)) for r in records
    ]


def cross_validated(records: list[dict], top_k: int | None) -> tuple[list[float], list[bool]]:
    """Scores and "misconception stated" decisions, each made by a fit without the answer's question family."""
    preds, detected = [0.0] * len(records), [False] * len(records)
    for family in sorted({r["family"] for r in records}):
        params = fit([r for r in records if r["family"] != family], top_k)
        for i, r in enumerate(records):
            if r["family"] == family:
                preds[i] = predict([r], params)[0]
                detected[i] = not r.get("ruled") and mis_max(r, top_k) >= params.misconception_at
    return preds, detected


def compare_top_k(records: list[dict]) -> dict[str, dict]:
    """Per choice of how many misconceptions to ask: the blend's cross-validated MAE and Spearman, and how well
    max P(asserts) separates wrong answers (subtle_wrong, wrong) from correct ones (excellent, concise): AUC."""
    gold = [r["gold"] for r in records]
    table = {}
    for k in TOP_K_CHOICES:
        preds, _ = cross_validated(records, k)
        judged = [r for r in records if not r.get("ruled")]
        table[str(k or "all")] = {
            "mae": metrics.mae(preds, gold),
            "spearman": metrics.spearman(preds, gold),
            "misconception_auc": metrics.auc(
                [mis_max(r, k) for r in judged if r["tier"] in MIS_POSITIVE],
                [mis_max(r, k) for r in judged if r["tier"] in MIS_NEGATIVE],
            ),
        }
    return table


def choose_top_k(table: dict[str, dict]) -> int | None:
    """The choice with the lowest cross-validated error: asking more catches a misconception the offline ranking
    missed, and adds calls and false alarms."""
    best = min(table, key=lambda k: table[k]["mae"])
    return None if best == "all" else int(best)


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
    table = compare_top_k(records)
    top_k = choose_top_k(table)
    params = fit(records, top_k)
    cv, detected = cross_validated(records, top_k)
    fitted = {
        "model": spec,
        "command": f"interviewer calibrate --model {spec}",
        "n": len(records),
        "top_k": top_k,
        "top_k_cv": table,
        "cv": report(subset, cv, detected),
        "offline_cv_same_answers": report(subset, [r["offline"] for r in records]),
        "latency_ms_p50": float(np.median([r["latency_ms"] for r in records if "latency_ms" in r] or [0])),
        "decoded_tokens_mean": float(np.mean([r["decoded_tokens"] for r in records if "calls" in r] or [0])),
        "calls_mean": float(np.mean([r["calls"] for r in records if "calls" in r] or [0])),
    }
    params = params.model_copy(update={"fitted": fitted})
    params.save(out or params_path(spec))
    return fitted
