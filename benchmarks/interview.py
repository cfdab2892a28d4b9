"""Interview turn latency on the offline model: what a user waits for after pressing 보내기.

    python benchmarks/interview.py [--sessions 5] [--data-dir DIR] [--json]

Each session asks 3 main questions drawn with a fixed seed; the candidate answers with the dev set's answers when
`../shared/eval/dev.jsonl` is there (else with each question's first key point) and passes on follow-ups. Reports
p50 / p95 seconds per graded reply (grade + checkpoint + next question) and per session start.
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
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from interviewer.service import Service
    from interviewer.settings import Settings

    tmp = tempfile.TemporaryDirectory()
    svc = Service(Settings(data_dir=args.data_dir or Path(tmp.name)))
    svc.build_index()
    answers: dict[str, str] = {}
    if DEV.exists():
        for line in DEV.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            answers.setdefault(svc.bank.find(row["question"]).id, row["answer"])
    starts, replies = [], []
    for seed in range(args.sessions):
        t0 = time.perf_counter()
        out = svc.start_interview(count=3, seed=seed)
        starts.append(time.perf_counter() - t0)
        while not out.done:
            w = out.waiting
            text = (
                "패스"
                if w["kind"] == "follow_up"
                else answers.get(w["question_id"]) or svc.bank.get(w["question_id"]).key_points[0].point
            )
            t0 = time.perf_counter()
            out = svc.interviews.reply(out.session_id, text)
            if text != "패스":
                replies.append(time.perf_counter() - t0)
    replies.sort()
    res = {
        "sessions": args.sessions,
        "graded_replies": len(replies),
        "reply_s_p50": round(statistics.median(replies), 3),
        "reply_s_p95": round(replies[int(0.95 * (len(replies) - 1))], 3),
        "start_s_p50": round(statistics.median(starts), 3),
    }
    print(json.dumps(res) if args.json else "\n".join(f"{k:16s} {v}" for k, v in res.items()))


if __name__ == "__main__":
    main()
