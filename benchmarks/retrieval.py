"""Index build time (cold, warm), query latency and retrieval recall on ../shared/eval/dev.jsonl.

    python benchmarks/retrieval.py [--dev ../shared/eval/dev.jsonl] [--json]

Recall: each dev answer of tier excellent/good is used as a query; a hit is its own question among the top k
questions returned by `interviewer search`.
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from interviewer.service import Service
from interviewer.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", type=Path, default=ROOT.parent / "shared" / "eval" / "dev.jsonl")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        t0 = time.perf_counter()
        svc = Service(settings)
        cold = svc.build_index()
        cold_s = time.perf_counter() - t0  # includes loading the embedder and Kiwi
        t0 = time.perf_counter()
        warm = Service(settings).build_index()
        warm_s = time.perf_counter() - t0
        retriever = svc.retriever()

        items = [json.loads(line) for line in args.dev.read_text(encoding="utf-8").splitlines() if line.strip()]
        queries = [it for it in items if it["tier"] in ("excellent", "good")]
        latencies, r1, r3, misses = [], 0, 0, []
        for it in queries:
            expected = svc.bank.find(it["question"]).id
            t = time.perf_counter()
            hits = retriever.search(it["answer"], k=3)
            latencies.append((time.perf_counter() - t) * 1000)
            ids = [h.question_id for h in hits]
            r1 += ids[:1] == [expected]
            r3 += expected in ids
            if expected not in ids:
                misses.append({"id": it["id"], "expected": expected, "got": ids})

    n = len(queries)
    result = {
        "chunks": cold.embedded,
        "index_cold_s": round(cold_s, 2),
        "index_warm_s": round(warm_s, 2),
        "warm_over_cold": round(warm_s / cold_s, 3),
        "warm_embedded": warm.embedded,
        "query_p50_ms": round(statistics.median(latencies), 1),
        "query_p95_ms": round(percentile(latencies, 0.95), 1),
        "n_queries": n,
        "recall@1": round(r1 / n, 3),
        "recall@3": round(r3 / n, 3),
        "misses@3": misses,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        for k, v in result.items():
            print(f"{k:16} {v}")


if __name__ == "__main__":
    main()
