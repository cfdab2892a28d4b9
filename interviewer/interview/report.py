"""A session's report: what to review next; per question the score, key points, evidence, feedback and model
answer; per topic the mean; the timeline. JSON is the data; Markdown is rendered from it.

Feedback is rendered by `feedback_markdown` from `grading.feedback.feedback_sections`, the one ordering of its
sections, so the report, the UI's grade panel and the terminal show the same thing."""

from ..bank import Bank
from ..grading.feedback import LABELS, feedback_sections
from ..grading.schema import STATUS_KO, Feedback, mean_score
from .graph import InterviewState, question_scores
from .records import Turn, turn_grade

# What the candidate should look at again, at most this many points: a short list is one that gets read.
REVIEW_LIMIT = 5
# Worst first: a wrong belief outranks a gap, a gap outranks a question passed over, which outranks a half answer.
_REVIEW_RANK = {"contradicted": 0, "missed": 1, "skipped": 2, "partial": 3}
SESSION_STATUS_KO = {"active": "진행 중", "finished": "완료", "stopped": "중단"}
_REVIEW_LABEL = {"contradicted": "잘못 답함", "missed": "빠뜨림", "partial": "부족함", "skipped": "건너뜀"}


def markdown_cell(text) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def feedback_markdown(feedback: Feedback | dict | None, lang: str = "ko") -> list[str]:
    """Markdown lines of a feedback's sections: a bold label, then one bullet a line (the model answer and a note
    as a paragraph)."""
    if not feedback:
        return []
    fb = feedback if isinstance(feedback, Feedback) else Feedback.model_validate(feedback)
    keys = {label: key for key, label in LABELS.get(lang, LABELS["ko"]).items()}
    out: list[str] = []
    for label, lines in feedback_sections(fb, lang):
        if keys.get(label) in ("note", "model_answer"):
            out += [f"**{label}** {' '.join(lines)}", ""]
        else:
            out += [f"**{label}**", *(f"- {line}" for line in lines), ""]
    return out[:-1]


def _follow_ups(turns: list[Turn], qid: str) -> list[dict]:
    out = []
    for f in turns:
        if f["kind"] != "follow_up" or f["question_id"] != qid:
            continue
        g = turn_grade(f)
        after = next((j.status.value for j in (g.key_points if g else []) if j.index == f["target"]), None)
        out.append(
            {
                "question": f["question"],
                "answer": f["answer"],
                "target": f["target"],
                "score": f["score"],
                "gain": f["gain"],
                "status": f["status"],
                "target_status": after,
            }
        )
    return out


def _question(t: Turn, bank: Bank, scores: dict[str, float], turns: list[Turn]) -> dict:
    q = bank.get(t["question_id"])
    g = turn_grade(t)
    return {
        "question_id": q.id,
        "kind": t["kind"],
        "question": q.question,
        "topics": q.topics,
        "status": t["status"],
        "score": scores.get(q.id),
        "answer_score": t["score"],
        "hints": t["hints"],
        "answer": t["answer"],
        "unscored_reason": g.unscored_reason if g else None,
        "key_points": [
            {
                "index": j.index,
                "point": j.point,
                "status": j.status.value,
                "evidence": j.evidence,
                "correction": j.correction,
            }
            for j in (g.key_points if g else [])
        ],
        "feedback": g.feedback.model_dump(mode="json") if g and g.feedback else None,
        "model_answer": q.reference.strip(),
        "flags": g.flags if g else [],
        "follow_ups": _follow_ups(turns, q.id),
    }


def review_next(questions: list[dict], bank: Bank, limit: int = REVIEW_LIMIT) -> list[dict]:
    """The weakest points of the session, worst first: each with its question and the key point's full text (for
    a wrong claim, the correction). A point a follow-up recovered is not listed; a skipped question is listed as
    a whole."""
    items = []
    for q in questions:
        if q["status"] == "skipped":
            items.append(
                {
                    "question_id": q["question_id"],
                    "question": q["question"],
                    "status": "skipped",
                    "point": None,
                    "correction": None,
                    "score": None,
                }
            )
            continue
        after = {f["target"]: f["target_status"] for f in q["follow_ups"] if f["target_status"]}
        for k in q["key_points"]:
            status = after.get(k["index"], k["status"]) if k["status"] != "covered" else "covered"
            if status not in _REVIEW_RANK:
                continue
            correction = None
            if "contradicted" in (k["status"], status):
                correction = k.get("correction") or _bank_correction(bank, q["question_id"], k["index"])
            items.append(
                {
                    "question_id": q["question_id"],
                    "question": q["question"],
                    "status": status,
                    "point": k["point"],
                    "correction": correction,
                    "score": q["score"],
                }
            )
    items.sort(key=lambda i: (_REVIEW_RANK[i["status"]], i["score"] if i["score"] is not None else -1))
    return items[:limit]


def _bank_correction(bank: Bank, qid: str, index: int) -> str | None:
    q = bank.get(qid)
    return next((p.correction for p in q.pitfalls if p.key_point == index and p.correction), None)


def build_report(meta: dict, values: InterviewState, bank: Bank) -> dict:
    turns = values.get("turns", [])
    scores = question_scores(turns)
    questions = [_question(t, bank, scores, turns) for t in turns if t["kind"] != "follow_up"]
    per_topic: dict[str, list[float]] = {}
    for qid, s in scores.items():
        for topic in bank.get(qid).topics:
            per_topic.setdefault(topic, []).append(s)
    topics = [{"topic": t, "mean": mean_score(v), "questions": len(v)} for t, v in sorted(per_topic.items())]
    return {
        "session_id": values["session_id"],
        "model": values["model"],
        "status": meta.get("status"),
        "created": meta.get("created"),
        "mean": mean_score(scores.values()),
        "graded": len(scores),
        "asked": len(questions),
        "review_next": review_next(questions, bank),
        "questions": questions,
        "topics": topics,
        "timeline": [
            {"at": line["at"], "role": line["role"], "kind": line["kind"], "text": line["text"]}
            for line in values.get("transcript", [])
        ],
    }


def _score(s) -> str:
    return "—" if s is None else f"{s:.1f}"


def review_markdown(items: list[dict]) -> list[str]:
    """The "다음에 복습할 것" list: one numbered line a point, with the correction under a wrong one."""
    if not items:
        return ["빠지거나 틀린 핵심 포인트가 없습니다."]
    out, shown = [], None
    for n, i in enumerate(items, 1):
        if i["status"] == "skipped":
            out.append(f"{n}. [{_REVIEW_LABEL['skipped']}] {i['question']}")
            continue
        where = f" — _{i['question']}_" if i["question_id"] != shown else ""  # the question once, not every line
        shown = i["question_id"]
        out.append(f"{n}. [{_REVIEW_LABEL[i['status']]}] {i['point']}{where}")
        if i.get("correction"):
            out.append(f"   - 바로잡기: {i['correction']}")
    return out


def _question_markdown(i: int, q: dict) -> list[str]:
    label = "꼬리질문" if q["kind"] == "sub" else "질문"
    status = {"skipped": " · 건너뜀", "unscored": f" · 채점하지 못함: {q['unscored_reason']}"}.get(q["status"], "")
    out = [
        f"### {i}. [{label}] {q['question']}",
        "",
        f"- 점수: {_score(q['score'])} / 5" + (f" (힌트 {q['hints']}개)" if q["hints"] else "") + status,
        f"- 답변: {q['answer'] or '—'}",
    ]
    if q["key_points"]:
        out += ["", "| 핵심 포인트 | 판정 | 답변 근거 |", "|---|---|---|"]
        out += [
            f"| {markdown_cell(k['point'])} | {STATUS_KO.get(k['status'], k['status'])} "
            f"| {markdown_cell(k['evidence'])} |"
            for k in q["key_points"]
        ]
    for f in q["follow_ups"]:
        out += ["", f"- 추가 질문: {f['question']}", f"  - 답변: {f['answer'] or '—'} (가산 {f['gain']:+.1f})"]
    if q["feedback"]:
        out += ["", *feedback_markdown(q["feedback"])]
    out += ["", "<details><summary>참고 답안 전문</summary>", "", q["model_answer"], "", "</details>", ""]
    return out


def to_markdown(r: dict) -> str:
    status = SESSION_STATUS_KO.get(r["status"], r["status"])
    out = [
        f"# 면접 리포트 {r['session_id']}",
        "",
        f"- 모델: {r['model']} · 상태: {status} · 시작: {r['created']}",
        f"- 평균: {_score(r['mean'])} / 5 (채점된 질문 {r['graded']}개 / 물어본 질문 {r['asked']}개)",
        "",
        "## 다음에 복습할 것",
        "",
        *review_markdown(r.get("review_next", [])),
        "",
    ]
    if r["topics"]:
        out += ["## 주제별 평균", "", "| 주제 | 평균 | 질문 수 |", "|---|---|---|"]
        out += [f"| {t['topic']} | {t['mean']:.1f} | {t['questions']} |" for t in r["topics"]]
        out.append("")
    out += ["## 질문별 결과", ""]
    for i, q in enumerate(r["questions"], 1):
        out += _question_markdown(i, q)
    out += ["## 진행 기록", ""]
    out += [
        f"- {t['at']} **{'면접관' if t['role'] == 'interviewer' else '지원자'}**: {t['text']}" for t in r["timeline"]
    ]
    return "\n".join(out) + "\n"
