"""`interviewer calibrate --model SPEC`: fit how a checklist judge's probabilities combine with the offline grade.

The judge's probabilities are collected once per train answer (cached in a JSONL: a slow model's hour is not spent
twice), the offline score of each answer is its cross-validated one (fitted without the answer's family, so the
blend does not learn to trust an offline score that saw the answer), and the blend is cross-validated by family.
The cache is keyed by answer id: after the bank's key points or misconceptions change, start a new one. It also holds
each question's anchor (the judgments of its reference answer, id `anchor:QUESTION`), kept while the question's
digest holds."""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import metrics
from .checklist import ChecklistJudge
from .combined import (
    Anchor,
    CombinedParams,
    blend_features,
    judge_anchor,
    kp_mean,
    likely_misconceptions,
    max_excess,
    params_path,
    question_digest,
)
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
    done = _read(cache)
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
    _rewrite(cache, done)
    return records


def collect_anchors(questions: list, judge: ChecklistJudge | None, cache: Path) -> dict[str, Anchor]:
    """Each question's anchor, judged unless the cache holds one for the question as it is now."""
    done, anchors = _read(cache), {}
    with cache.open("a", encoding="utf-8") as out:
        for q in questions:
            key, digest = f"anchor:{q.id}", question_digest(q)
            if done.get(key, {}).get("digest") != digest:
                done[key] = {"id": key} | judge_anchor(judge, q).model_dump()
                out.write(json.dumps(done[key], ensure_ascii=False) + "\n")
                out.flush()
            anchors[q.id] = Anchor.model_validate(done[key])
    _rewrite(cache, done)
    return anchors


def _read(cache: Path) -> dict[str, dict]:
    if not cache.exists():
        return {}
    return {r["id"]: r for r in map(json.loads, cache.read_text(encoding="utf-8").splitlines()) if r}


def _rewrite(cache: Path, done: dict[str, dict]) -> None:
    # Appending keeps every judgment if a run is cut off; a record judged again replaces its old line here.
    cache.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in done.values()), encoding="utf-8")


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
        "kp_mean": kp_mean(res),
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


def asked(record: dict, k: int | None) -> dict[int, float]:
    """Bank index -> P(asserts) of the `k` misconceptions the offline evidence ranks likeliest."""
    return {int(j): p for j, p in list(record["pitfalls"].items())[:k]}


def anchor_of(record: dict, anchors: dict[str, Anchor]) -> list[float]:
    """The anchor's P(asserts) for the record's question (none asserted when no anchor was judged)."""
    found = anchors.get(record.get("question_id", ""))
    return found.pitfalls if found else [0.0] * (1 + max(map(int, record["pitfalls"]), default=0))


def excess(record: dict, k: int | None, anchors: dict[str, Anchor]) -> float:
    return max_excess(asked(record, k), anchor_of(record, anchors))


def _columns(records: list[dict], top_k: int | None, anchors: dict[str, Anchor]) -> np.ndarray:
    return np.array(
        [blend_features(r["offline"], r["kp_mean"], asked(r, top_k), anchor_of(r, anchors)) for r in records]
    )


def fit(records: list[dict], top_k: int | None, anchors: dict[str, Anchor]) -> CombinedParams:
    """Ridge on standardised features; the misconception threshold lets MIS_FALSE_ALARMS of the correct answers
    through."""
    rows = [r for r in records if not r.get("ruled")]
    x, y = _columns(rows, top_k, anchors), np.array([r["gold"] for r in rows])
    mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / std
    beta = np.linalg.solve(z.T @ z + RIDGE * np.eye(x.shape[1]), z.T @ (y - y.mean()))
    coef = beta / std
    negatives = np.sort([excess(r, top_k, anchors) for r in rows if r["tier"] in MIS_NEGATIVE])
    threshold = float(np.quantile(negatives, 1.0 - MIS_FALSE_ALARMS)) + 1e-6 if len(negatives) else 0.5
    return CombinedParams(
        coef=coef.tolist(),
        intercept=float(y.mean() - coef @ mean),
        misconception_at=max(0.0, threshold),  # at least more than the reference answer gets
        top_k=top_k,
        anchors={qid: a for qid, a in anchors.items() if qid in {r.get("question_id") for r in records}},
    )


def predict(records: list[dict], params: CombinedParams) -> list[float]:
    anchors = params.anchors
    return [
        0.0
        if r.get("ruled")
        else params.score(blend_features(r["offline"], r["kp_mean"], asked(r, params.top_k), anchor_of(r, anchors)))
        for r in records
    ]


def cross_validated(
    records: list[dict], top_k: int | None, anchors: dict[str, Anchor]
) -> tuple[list[float], list[bool]]:
    """Scores and "misconception stated" decisions, each made by a fit without the answer's question family (an
    anchor is the question's own, judged without any graded answer)."""
    preds, detected = [0.0] * len(records), [False] * len(records)
    for family in sorted({r["family"] for r in records}):
        params = fit([r for r in records if r["family"] != family], top_k, anchors)
        params = params.model_copy(update={"anchors": anchors})
        for i, r in enumerate(records):
            if r["family"] == family:
                preds[i] = predict([r], params)[0]
                detected[i] = not r.get("ruled") and excess(r, top_k, anchors) >= params.misconception_at
    return preds, detected


def compare_top_k(records: list[dict], anchors: dict[str, Anchor]) -> dict[str, dict]:
    """Per choice of how many misconceptions to ask: the blend's cross-validated MAE and Spearman, and how well the
    largest excess over the anchor (and, for comparison, the largest bare P(asserts)) separates wrong answers
    (subtle_wrong, wrong) from correct ones (excellent, concise): AUC."""
    gold = [r["gold"] for r in records]
    judged = [r for r in records if not r.get("ruled")]
    table = {}
    for k in TOP_K_CHOICES:
        preds, _ = cross_validated(records, k, anchors)
        table[str(k or "all")] = {
            "mae": metrics.mae(preds, gold),
            "spearman": metrics.spearman(preds, gold),
            "misconception_auc": _mis_auc(judged, [excess(r, k, anchors) for r in judged]),
            "misconception_auc_unanchored": _mis_auc(judged, [mis_max(r, k) for r in judged]),
        }
    return table


def _mis_auc(records: list[dict], values: list[float]) -> float | None:
    return metrics.auc(
        [v for v, r in zip(values, records) if r["tier"] in MIS_POSITIVE],
        [v for v, r in zip(values, records) if r["tier"] in MIS_NEGATIVE],
    )


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
    anchors = collect_anchors(list({it.question.id: it.question for it in items}.values()), judge, cache)
    by_id = {it.id: it for it in items}
    subset = [by_id[r["id"]] for r in records]
    table = compare_top_k(records, anchors)
    top_k = choose_top_k(table)
    params = fit(records, top_k, anchors)
    cv, detected = cross_validated(records, top_k, anchors)
    fitted = {
        "model": spec,
        "command": f"interviewer calibrate --model {spec}",
        "n": len(records),
        "anchors": len(params.anchors),
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
