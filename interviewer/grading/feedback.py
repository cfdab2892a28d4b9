"""Korean feedback built from the judgments and the bank, for the offline grader."""

from ..bank import Question
from .schema import Feedback, GradeResult, Status


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def offline_feedback(q: Question, r: GradeResult) -> Feedback:
    covered = [j for j in r.key_points if j.status is Status.covered]
    partial = [j for j in r.key_points if j.status is Status.partial]
    missed = [j for j in r.key_points if j.status is Status.missed]
    wrong = [j for j in r.key_points if j.status is Status.contradicted]
    if r.off_topic:
        good = "답변 내용이 이 질문이 아닌 다른 주제에 가깝습니다."
    elif r.dont_know:
        good = "모르는 것을 솔직히 말한 것은 좋습니다. 아래 모범 답안으로 핵심을 정리해 보세요."
    elif "restates_question" in r.flags:  # its words match the key points, but they are the question's words
        good = "질문을 되풀이했을 뿐 답한 내용이 없습니다. 아래 모범 답안으로 핵심을 정리해 보세요."
    elif covered:
        good = "; ".join(j.point for j in covered)  # every renderer labels this field 잘한 점 already
    elif partial:
        good = "방향은 맞습니다: " + "; ".join(j.point for j in partial) + " (더 구체적으로 설명하면 좋습니다)"
    else:
        good = "참고 답안의 핵심 포인트와 일치하는 내용을 찾지 못했습니다."
    lines = []
    for j in wrong:
        pit = next((p for i, p in enumerate(q.pitfalls) if f"{q.id}:pitfall:{i}" in j.support_ids), None)
        fix = f" → {pit.correction}" if pit and pit.correction else ""
        lines.append(f"틀린 부분: \"{_short(j.evidence or '', 80)}\"{fix}")
    if missed or partial:
        lines.append("빠진 점: " + "; ".join(j.point for j in missed + partial))
    missing = "\n".join(lines) or "핵심 포인트를 모두 다뤘습니다."
    return Feedback(good=good, missing=missing, model_answer=_short(q.reference, 400))
