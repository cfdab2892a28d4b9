"""LLM grading cost: our pipeline against a raw chat.completions call with the same prompt, tokens per turn, and
eval throughput at N requests in flight.

    python benchmarks/llm.py --model local:smollm2 [--items 4] [--throughput 8] [--data-dir DIR] [--json]

Overhead: for each item, the raw call (openai client, same messages, same response_format, temperature 0) and
`LLMGrader.grade` (offline grade alongside, parsing, validation, re-asks) are timed back to back; the ratio of total
times is reported (goal ≤ 1.10). Re-asks count against the pipeline: they are part of what a user waits for.
Throughput: `interviewer eval` over --throughput items of dev.jsonl with concurrency 1, 2, 4.
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="local:smollm2")
    ap.add_argument("--items", type=int, default=4)
    ap.add_argument("--throughput", type=int, default=8, help="items per concurrency level (0: skip)")
    ap.add_argument("--levels", default="1,2,4", help="concurrency levels for the throughput run")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import openai

    from interviewer.grading.llm import LLMGrade, LLMGrader
    from interviewer.service import Service
    from interviewer.settings import Settings

    tmp = tempfile.TemporaryDirectory()
    svc = Service(Settings(data_dir=args.data_dir or Path(tmp.name)))
    svc.build_index()
    grader: LLMGrader = svc.grader(args.model)
    llm = grader.model
    client = openai.OpenAI(
        base_url=str(llm.openai_api_base), api_key=llm.openai_api_key.get_secret_value(), timeout=600
    )
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = rows[:: max(1, len(rows) // args.items)][: args.items] if args.items else []
    grader.grade(svc.bank.find(rows[0]["question"]), rows[0]["answer"])  # warm-up: server start, caches

    raw_s, ours_s, tokens, reasks = [], [], [], 0
    for row in picked:
        q = svc.bank.find(row["question"])
        msgs = grader.messages(q, row["answer"], [], "n0nce")
        schema = LLMGrade.model_json_schema()
        schema["properties"]["key_points"].update(minItems=len(q.key_points), maxItems=len(q.key_points))
        t0 = time.perf_counter()
        resp = client.chat.completions.create(
            model=llm.model_name,
            temperature=0,
            max_tokens=llm.max_tokens,
            messages=[{"role": "system" if m.type == "system" else "user", "content": m.content} for m in msgs],
            response_format={"type": "json_schema", "json_schema": {"name": "grade", "schema": schema}},
        )
        raw_s.append(time.perf_counter() - t0)
        tokens.append((resp.usage.prompt_tokens, resp.usage.completion_tokens))
        t0 = time.perf_counter()
        result = grader.grade(q, row["answer"])
        ours_s.append(time.perf_counter() - t0)
        reasks += sum(f.startswith("reask") for f in result.flags)

    out = {"model": args.model, "items": len(picked)}
    if picked:
        out.update(
            {
                "raw_s_per_turn_p50": round(statistics.median(raw_s), 2),
                "pipeline_s_per_turn_p50": round(statistics.median(ours_s), 2),
                "pipeline_over_raw": round(sum(ours_s) / sum(raw_s), 3),
                "reasks": reasks,
                "prompt_tokens_mean": round(statistics.mean(t[0] for t in tokens)),
                "completion_tokens_mean": round(statistics.mean(t[1] for t in tokens)),
                "completion_tok_per_s": round(sum(t[1] for t in tokens) / sum(raw_s), 1),
            }
        )

    if args.throughput:
        subset = Path(tmp.name) / "throughput.jsonl"
        subset.write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows[: args.throughput]) + "\n", encoding="utf-8"
        )
        for n in (int(x) for x in args.levels.split(",")):
            t0 = time.perf_counter()
            report = svc.evaluate(subset, args.model, concurrency=n)
            wall = time.perf_counter() - t0
            out[f"throughput_n{n}_items_per_min"] = round(60 * report["n"] / wall, 2)
            out[f"throughput_n{n}_scored"] = report["scored"]

    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for k, v in out.items():
            print(f"{k:32s} {v}")


if __name__ == "__main__":
    main()
