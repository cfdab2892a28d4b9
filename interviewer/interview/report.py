"""A session's report: per question the score, key points, evidence, feedback and model answer; per topic the
mean; the timeline. JSON is the data; Markdown is rendered from it."""

from ..bank import Bank
from .graph import question_scores

def _cell(text) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


_STATUS_KO = {"covered": "✔ 다룸", "partial": "△ 일부", "missed": "✘ 빠짐", "contradicted": "✘ 틀림"}


def build_report(meta: dict, values: dict, bank: Bank) -> dict:
    turns = values.get("turns", [])
    scores = question_scores(turns)
    questions = []
    for t in turns:
        if t["kind"] == "follow_up":
            continue
        q = bank.get(t["question_id"])
        g = t.get("grade") or {}
        follow = [f for f in turns if f["kind"] == "follow_up" and f["question_id"] == q.id]
        questions.append({
            "question_id": q.id, "kind": t["kind"], "question": q.question, "topics": q.topics,
            "status": t["status"], "score": scores.get(q.id), "answer_score": t["score"], "hints": t["hints"],
            "answer": t["answer"], "unscored_reason": g.get("unscored_reason"),
            "key_points": [{"point": j["point"], "status": j["status"], "evidence": j.get("evidence")}
                           for j in g.get("key_points", [])],
            "feedback": g.get("feedback"), "model_answer": q.reference.strip(), "flags": g.get("flags", []),
            "follow_ups": [{"question": f["question"], "answer": f["answer"], "target": f["target"],
                            "score": f["score"], "gain": f["gain"]} for f in follow],
        })
    per_topic: dict[str, list[float]] = {}
    for qid, s in scores.items():
        for topic in bank.get(qid).topics:
            per_topic.setdefault(topic, []).append(s)
    topics = [{"topic": t, "mean": round(sum(v) / len(v), 2), "questions": len(v)} for t, v in sorted(per_topic.items())]
    return {
        "session_id": values["session_id"], "model": values["model"], "status": meta.get("status"),
        "created": meta.get("created"), "mean": round(sum(scores.values()) / len(scores), 2) if scores else None,
        "graded": len(scores), "asked": len(questions),
        "questions": questions, "topics": topics,
        "timeline": [{"at": line["at"], "role": line["role"], "kind": line["kind"], "text": line["text"]}
                     for line in values.get("transcript", [])],
    }


def _score(s) -> str:
    return "—" if s is None else f"{s:.1f}"


def to_markdown(r: dict) -> str:
    out = [f"# 면접 리포트 {r['session_id']}", "",
           f"- 모델: {r['model']} · 상태: {r['status']} · 시작: {r['created']}",
           f"- 평균: {_score(r['mean'])} / 5 (채점된 질문 {r['graded']}개 / 물어본 질문 {r['asked']}개)", ""]
    if r["topics"]:
        out += ["## 주제별 평균", "", "| 주제 | 평균 | 질문 수 |", "|---|---|---|"]
        out += [f"| {t['topic']} | {t['mean']:.1f} | {t['questions']} |" for t in r["topics"]]
        out.append("")
    out += ["## 질문별 결과", ""]
    for i, q in enumerate(r["questions"], 1):
        label = "꼬리질문" if q["kind"] == "sub" else "질문"
        out += [f"### {i}. [{label}] {q['question']}", "",
                f"- 점수: {_score(q['score'])} / 5" + (f" (힌트 {q['hints']}개)" if q["hints"] else "")
                + {"skipped": " · 건너뜀", "unscored": f" · 채점 못 함: {q['unscored_reason']}"}.get(q["status"], ""),
                f"- 답변: {q['answer'] or '—'}"]
        if q["key_points"]:
            out += ["", "| 핵심 포인트 | 판정 | 답변 근거 |", "|---|---|---|"]
            out += [f"| {_cell(k['point'])} | {_STATUS_KO.get(k['status'], k['status'])} | {_cell(k['evidence'])} |"
                    for k in q["key_points"]]
        for f in q["follow_ups"]:
            out += ["", f"- 추가 질문: {f['question']}", f"  - 답변: {f['answer'] or '—'} (가산 {f['gain']:+.1f})"]
        if q["feedback"]:
            out += ["", f"- 잘한 점: {q['feedback']['good']}", f"- 보완할 점: {q['feedback']['missing']}"]
        out += ["", "<details><summary>모범 답안</summary>", "", q["model_answer"], "", "</details>", ""]
    out += ["## 진행 기록", ""]
    out += [f"- {t['at']} **{'면접관' if t['role'] == 'interviewer' else '지원자'}**: {t['text']}" for t in r["timeline"]]
    return "\n".join(out) + "\n"
