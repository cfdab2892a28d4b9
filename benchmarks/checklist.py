"""The checklist judge on fit data: does P(asserts a misconception) separate subtly wrong answers from right ones,
does P(states a key point) follow the tiers, and what does it cost per answer.

    python benchmarks/checklist.py --out benchmarks/results/checklist-train.jsonl [--model local] [--questions 8]
        [--every 6] [--resume] [--json]

Reads ../shared/eval/train.jsonl only (the data graders are fitted on; dev.jsonl is for reports). Questions: every
--every-th question of the bank, in bank order, that has train answers, the first --questions of them; per question
its concise (gold 4), partial (2), subtle_wrong (1) and wrong (0) answers. Prints (a) the AUC of the largest
P(asserts) over a question's misconceptions, subtle_wrong against concise and against partial, for the yes/no and
the forced-choice forms; (b) the mean key-point P by tier; (c) p50 latency, decoded tokens and calls per answer.
Writes one JSON record per answer to --out as it goes, for fitting the scoring model on; --resume keeps the records
of an interrupted run that still hold (same model, prompts, key points and misconceptions). Then judges the first
answer again and reports whether its numbers repeat exactly.
"""

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT.parent / "shared" / "eval" / "train.jsonl"
TIERS = ("concise", "partial", "subtle_wrong", "wrong")


def pick(bank, rows: list[dict], every: int, count: int, tiers: tuple[str, ...]) -> list[tuple]:
    """(question, row) pairs: every `every`-th bank question with train answers, its answers of `tiers` in order."""
    by_question: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_question.setdefault(bank.find(row["question"]).id, {})[row["tier"]] = row
    ids = [q.id for q in bank if q.id in by_question][::every][:count]
    return [(bank.get(qid), by_question[qid][t]) for qid in ids for t in tiers if t in by_question[qid]]


def prompts_digest(prompts_dir: Path) -> str:
    """Which prompt wording produced the records: a fit is only valid for it."""
    digest = hashlib.sha256()
    for path in sorted(prompts_dir.glob("checklist*.j2")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def record(q, row: dict, r, model: str, digest: str) -> dict:
    return {
        "id": row["id"],
        "question_id": q.id,
        "tier": row["tier"],
        "gold": row["gold"],
        "model": model,
        "prompts": digest,
        "key_points": r.key_points,
        "pitfalls": r.pitfalls,
        "pitfalls_choice": r.pitfalls_choice,
        "key_point_texts": [kp.point for kp in q.key_points],
        "pitfall_claims": [p.claim for p in q.pitfalls],
        "pitfall_key_points": [p.key_point for p in q.pitfalls],
        "calls": r.calls,
        "decoded_tokens": r.decoded_tokens,
        "latency_ms": r.latency_ms,
        "prompt_tokens": r.prompt_tokens,
        "cached_tokens": r.cached_tokens,
        "unlabelled": r.unlabelled,
    }


def kept(path: Path, items: list[tuple], model: str, digest: str) -> dict[str, dict]:
    """Records of an interrupted run that still hold: the same model, prompt wording, key points and misconceptions
    (the judge is deterministic, so judging them again would give the same numbers)."""
    if not path.exists():
        return {}
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows[json.loads(line)["id"]] = json.loads(line)
        except (ValueError, KeyError, TypeError):  # a line cut by the interruption, or a blank one
            continue
    held = {}
    for q, row in items:
        r = rows.get(row["id"])
        if (
            r
            and r["model"] == model
            and r["prompts"] == digest
            and r["key_point_texts"] == [kp.point for kp in q.key_points]
            and r["pitfall_claims"] == [p.claim for p in q.pitfalls]
        ):
            held[row["id"]] = r
    return held


def run(judge, items: list[tuple], out_path: Path, done: dict[str, dict], model: str, digest: str) -> list[dict]:
    """Judge every item not in `done`, writing each record as it comes; the records in the order of `items`."""
    records = []
    with out_path.open("w", encoding="utf-8") as out:
        for k, (q, row) in enumerate(items, 1):
            if row["id"] in done:
                records.append(done[row["id"]])
            else:
                r = judge.judge(q, row["answer"])
                records.append(record(q, row, r, model, digest))
                print(
                    f"[{k}/{len(items)}] {row['id']} {q.id} {row['tier']}: {r.latency_ms / 1000:.1f} s, "
                    f"{r.calls} calls",
                    file=sys.stderr,
                    flush=True,
                )
            out.write(json.dumps(records[-1], ensure_ascii=False) + "\n")
            out.flush()
    return records


def summarise(records: list[dict]) -> dict:
    from interviewer.grading.metrics import auc

    def values(tier: str, key: str, agg) -> list[float]:
        return [agg(r[key]) for r in records if r["tier"] == tier and r[key]]

    out: dict = {"answers": len(records), "questions": len({r["question_id"] for r in records})}
    forms = {"yes_no": "pitfalls", "choice": "pitfalls_choice"}
    for form, key in forms.items():
        if not any(r[key] for r in records):
            continue
        out[f"auc_max_pitfall_{form}"] = {
            f"subtle_wrong_vs_{neg}": _round(auc(values("subtle_wrong", key, max), values(neg, key, max)))
            for neg in ("concise", "partial", "wrong")
        }
        out[f"mean_max_pitfall_{form}_by_tier"] = {t: _round(_mean(values(t, key, max))) for t in TIERS}
        out[f"paired_max_pitfall_{form}"] = {
            f"subtle_wrong_over_{neg}": _round(paired(records, key, neg)) for neg in ("concise", "partial")
        }
    out["mean_key_point_p_by_tier"] = {t: _round(_mean(values(t, "key_points", _mean))) for t in TIERS}
    out["auc_mean_key_point"] = {
        f"concise_vs_{neg}": _round(auc(values("concise", "key_points", _mean), values(neg, "key_points", _mean)))
        for neg in ("partial", "subtle_wrong", "wrong")
    }
    per = {
        k: [r[k] for r in records]
        for k in ("latency_ms", "decoded_tokens", "calls", "prompt_tokens", "cached_tokens", "unlabelled")
    }
    per["computed_prompt_tokens"] = [p - c for p, c in zip(per["prompt_tokens"], per["cached_tokens"])]
    out["p50_latency_ms_per_answer"] = _round(statistics.median(per["latency_ms"]), 1)
    out["per_answer_mean"] = {k: _round(_mean(v), 1) for k, v in per.items() if k != "latency_ms"}
    return out


def paired(records: list[dict], key: str, neg: str) -> float | None:
    """Within each question: the share where the subtle_wrong answer's largest P(asserts) is above the `neg`
    answer's (ties count half). Unlike the pooled AUC, a question whose claims all read high cannot help."""
    by_q: dict[str, dict[str, float]] = {}
    for r in records:
        if r[key]:
            by_q.setdefault(r["question_id"], {})[r["tier"]] = max(r[key])
    pairs = [(t["subtle_wrong"], t[neg]) for t in by_q.values() if "subtle_wrong" in t and neg in t]
    return _mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs])


def _mean(xs) -> float | None:
    return statistics.fmean(xs) if xs else None


def _round(x, digits: int = 3):
    return None if x is None else round(x, digits)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="local")
    ap.add_argument("--out", type=Path, required=True, help="per-answer records, one JSON object a line")
    ap.add_argument("--questions", type=int, default=8)
    ap.add_argument("--every", type=int, default=6)
    ap.add_argument("--tiers", default=",".join(TIERS))
    ap.add_argument("--prompts-dir", type=Path, default=ROOT / "prompts")
    ap.add_argument("--no-choice", action="store_true", help="skip the forced-choice form")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="keep the records already in --out made with the same model and prompts; judge the rest",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.questions < 1 or args.every < 1:
        ap.error("--questions and --every take N >= 1")

    from interviewer.bank import load_bank
    from interviewer.grading.checklist import ChecklistJudge
    from interviewer.settings import Settings

    settings = Settings()
    bank = load_bank(settings.knowledge_dir)
    rows = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = pick(bank, rows, args.every, args.questions, tuple(t for t in args.tiers.split(",") if t))
    judge = ChecklistJudge.from_spec(args.model, settings.data_dir, args.prompts_dir, contrastive=not args.no_choice)
    judge.probe()  # a server without logprobs fails here, not after the first answer
    if judge.server is not None:  # llama.cpp: every label must be one token, or its first piece would be read
        print(f"label tokens: {judge.label_token_counts()}", file=sys.stderr, flush=True)
    digest = prompts_digest(args.prompts_dir)
    done = kept(args.out, items, args.model, digest) if args.resume else {}
    t0 = time.perf_counter()
    records = run(judge, items, args.out, done, args.model, digest)
    # The first answer once more, after all the others: a deterministic judge gives the same numbers.
    q, row = items[0]
    again = record(q, row, judge.judge(q, row["answer"]), args.model, digest)
    summary = summarise(records)
    summary["repeat_identical"] = all(again[k] == records[0][k] for k in ("key_points", "pitfalls", "pitfalls_choice"))
    summary["wall_s"] = round(time.perf_counter() - t0, 1)
    summary.update(model=args.model, prompts=digest, out=str(args.out))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    for key, value in summary.items():
        print(f"{key}: {json.dumps(value, ensure_ascii=False)}")


if __name__ == "__main__":
    main()
