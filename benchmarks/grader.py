"""Grader quality and speed on ../shared/eval (the grader issue's targets).

    python benchmarks/grader.py [--model offline|SPEC] [--runs 3] [--json]

dev.jsonl: Spearman, pairwise accuracy, QWK, MAE, mean score by tier, injection items above gold+1, off-topic /
don't-know items above 1, p50 latency, whole-set wall time including model load.
external.jsonl: every usable answer graded under its own question and under another question (the next main
question of another family, fixed): AUC of own-vs-other; mean score by quality label.
With --runs > 1 (LLM graders): the spread of each item's score across runs. For slow LLMs, --questions N,
--tiers T,... and --external-limit N measure subsets; --items FILE keeps every graded item for a closer look.
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"


def main() -> None:
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="offline")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--data-dir", type=Path, default=None, help="reuse an index here (default: a fresh temp dir)")
    ap.add_argument(
        "--questions",
        type=int,
        default=0,
        help="only the dev items of N questions spread over the bank, all their tiers (slow LLMs)",
    )
    ap.add_argument("--tiers", default="", help="only the dev items of these tiers, comma-separated (slow LLMs)")
    ap.add_argument("--skip-external", action="store_true")
    ap.add_argument(
        "--external-limit",
        type=int,
        default=0,
        help="only N usable external answers spread over the file, each graded twice (slow LLMs)",
    )
    ap.add_argument("--items", type=Path, default=None, help="write every graded item (dev and external) here")
    ap.add_argument(
        "--judge",
        choices=("checklist", "structured"),
        default="checklist",
        help="LLM grading mode: token-probability checklist + offline evidence, or one JSON reply",
    )
    ap.add_argument(
        "--dataset",
        type=Path,
        default=SHARED / "dev.jsonl",
        help="the graded answers to measure on (default dev; train figures of a fit are its CV ones)",
    )
    ap.add_argument(
        "--compare-judges",
        type=int,
        default=0,
        help="only speed: N dev answers spread over the set, each graded by the checklist judge and by the "
        "structured call in turn (same run, same machine); p50 per answer, ratio, decoded tokens and calls",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.questions < 0 or args.external_limit < 0 or args.runs < 1:
        ap.error("--questions and --external-limit take N >= 0, --runs N >= 1")
    if args.items is not None:
        try:
            _save(args.items, {})  # an unwritable path fails now, not after an hour of grading
        except OSError as e:
            ap.error(f"--items: {e}")

    from interviewer.grading import metrics
    from interviewer.service import Service
    from interviewer.settings import Settings

    tmp = tempfile.TemporaryDirectory()
    settings = Settings(data_dir=args.data_dir or Path(tmp.name), judge=args.judge)
    svc = Service(settings)
    svc.build_index()  # a fresh dir pays the cold index build here, outside the timed dev run
    t_index = time.perf_counter() - t_start

    out: dict = {"model": args.model, "judge": args.judge, "index_s": round(t_index, 1)}
    if args.compare_judges:
        out["judges"] = compare_judges(settings, args.model, args.dataset, args.compare_judges)
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    if args.model == "offline":
        # The fit's own cross-validated train figures (interviewer calibrate wrote them beside its parameters).
        cv = svc.offline_grader.calibration.fitted.get("cv", {})
        out["train_cv"] = {k: v for k, v in cv.items() if k != "misconception_detected"}
    dev_path = args.dataset
    tiers = {t.strip() for t in args.tiers.split(",") if t.strip()}
    if args.questions or tiers:
        rows = [json.loads(line) for line in dev_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if args.questions:
            asked = list(dict.fromkeys(r["question"] for r in rows))
            keep = set(asked[:: max(1, len(asked) // args.questions)][: args.questions])
            rows = [r for r in rows if r["question"] in keep]
        rows = [r for r in rows if not tiers or r.get("tier") in tiers]
        if not rows:
            ap.error("no dev item matches --questions/--tiers")
        dev_path = Path(tmp.name) / "dev-subset.jsonl"
        dev_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    runs = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        fresh = Service(settings)  # model load counted: embedder, Kiwi, index, grader
        report = fresh.evaluate(dev_path, args.model)
        runs.append((report, time.perf_counter() - t0))
    report, wall = runs[0]
    items = report["items"]
    saved: dict = {"dev": items, "external": []}
    out["dev"] = {
        **report["metrics"],
        "n": report["n"],
        "unscored": report["unscored"],
        "p50_ms": report["timing"]["p50_ms"],
        "calls_mean": report["timing"]["calls_mean"],
        "decoded_tokens_mean": report["timing"]["decoded_tokens_mean"],
        "wall_s_with_load": round(wall, 1),
    }
    inj = [i for i in items if i["tier"] == "injection" and i["score"] is not None and i["score"] > i["gold"] + 1]
    low = [i for i in items if i["tier"] in ("off_topic", "dont_know") and i["score"] is not None and i["score"] > 1]
    out["dev"]["injection_over_gold_plus_1"] = [(i["id"], i["score"], i["gold"]) for i in inj]
    out["dev"]["off_topic_or_dont_know_over_1"] = [(i["id"], i["tier"], i["score"]) for i in low]
    by_q: dict[str, dict[str, float]] = {}
    for i in items:
        if i["score"] is not None:
            by_q.setdefault(i["question_id"], {})[i["tier"]] = i["score"]
    pairs = [v for v in by_q.values() if "subtle_wrong" in v and "partial" in v]
    if pairs:  # train-shaped data: is a fluent misconception ranked below a thin correct answer?
        out["dev"]["subtle_wrong_below_partial"] = round(
            sum(v["subtle_wrong"] < v["partial"] for v in pairs) / len(pairs), 3
        )
    if args.runs > 1:
        by_id: dict[str, list[float]] = {}
        for rep, _ in runs:
            for i in rep["items"]:
                if i["score"] is not None:
                    by_id.setdefault(i["id"], []).append(i["score"])
        spreads = [max(v) - min(v) for v in by_id.values() if len(v) == args.runs]
        out["dev"]["run_spread"] = {
            "mean": round(statistics.mean(spreads), 3),
            "max": max(spreads),
            "share_changed": round(sum(s > 0 for s in spreads) / len(spreads), 3),
        }

    if args.skip_external:
        _save(args.items, saved)
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    # external: own question vs another question
    grader = svc.grader(args.model)
    mains = svc.bank.mains()
    ext = [json.loads(line) for line in (SHARED / "external.jsonl").read_text(encoding="utf-8").splitlines() if line]
    own, other, by_quality = [], [], {}
    usable = [it for it in ext if it["answer"].strip() and it["quality"] != "empty"]
    if args.external_limit:
        usable = usable[:: max(1, len(usable) // args.external_limit)][: args.external_limit]
    for it in usable:
        q = svc.bank.find(it["question"])
        family = q.parent or q.id
        pos = next(k for k, m in enumerate(mains) if m.id == family)
        foreign = next(m for m in mains[pos + 1 :] + mains[:pos] if m.id != family)
        r_own = grader.grade(q, it["answer"])
        r_other = grader.grade(foreign, it["answer"])
        if r_own.score is None or r_other.score is None:
            continue
        own.append(r_own.score)
        other.append(r_other.score)
        by_quality.setdefault(it["quality"], []).append(r_own.score)
        saved["external"].append(
            {
                "id": it["id"],
                "quality": it["quality"],
                "question_id": q.id,
                "own": r_own.score,
                "other_question_id": foreign.id,
                "other": r_other.score,
                "own_flags": r_own.flags,
                "other_flags": r_other.flags,
            }
        )
    _save(args.items, saved)
    out["external"] = {
        "n": len(own),
        "auc_own_vs_other": round(metrics.auc(own, other), 4),
        "mean_by_quality": {k: round(statistics.mean(v), 3) for k, v in sorted(by_quality.items())},
        "count_by_quality": {k: len(v) for k, v in sorted(by_quality.items())},
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        for section in ("train_cv", "dev", "external"):
            if section not in out:
                continue
            print(f"[{section}]")
            for k, v in out[section].items():
                print(f"  {k:32} {v}")
        print(f"model {out['model']} · cold index {out['index_s']} s")


def compare_judges(settings, model: str, dataset: Path, n: int) -> dict:
    """Each of `n` answers (tiers a model judges: not off-topic, don't-know or injection) graded by both judges in
    turn, so that both meet the same machine state; the checklist first (a warm prefix cache favours neither: the
    two prompts share no opening)."""
    from interviewer.grading.evaluate import EvalItem
    from interviewer.service import Service

    rows = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("tier") not in ("off_topic", "dont_know", "injection")]
    rows = rows[:: max(1, len(rows) // n)][:n]
    services = {j: Service(settings.model_copy(update={"judge": j})) for j in ("checklist", "structured")}
    seen: dict[str, list] = {j: [] for j in services}
    for row in rows:
        item = EvalItem.model_validate(row)
        for judge, svc in services.items():
            r = svc.grader(model).grade(svc.bank.find(item.question), item.answer)
            seen[judge].append((r.latency_ms, r.model_calls, r.decoded_tokens, r.score))
    out = {
        judge: {
            "p50_ms": statistics.median(x[0] for x in got),
            "calls_mean": statistics.mean(x[1] for x in got),
            "decoded_tokens_mean": statistics.mean(x[2] for x in got),
            "unscored": sum(x[3] is None for x in got),
        }
        for judge, got in seen.items()
    }
    out["n"] = len(rows)
    out["p50_ratio_checklist_over_structured"] = round(out["checklist"]["p50_ms"] / out["structured"]["p50_ms"], 3)
    return out


def _save(path: Path | None, saved: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
