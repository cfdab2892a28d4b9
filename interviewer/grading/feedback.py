"""Feedback built from the judgments and the bank (every grader), and its one rendering for UI, CLI and report."""

from ..bank import Question
from .schema import Feedback, KeyPointJudgment, Status, WrongClaim

LABELS = {
    "ko": {
        "note": "참고",
        "good": "잘한 점",
        "wrong": "틀린 점",
        "missing": "빠진 점",
        "model_answer": "모범 답안",
        "partial": "더 구체적으로",
    },
    "en": {
        "note": "Note",
        "good": "What you got right",
        "wrong": "What is wrong",
        "missing": "What is missing",
        "model_answer": "Model answer",
        "partial": "be more specific",
    },
}
NOTES = {
    "off_topic": "답변 내용이 이 질문이 아닌 다른 주제에 가깝습니다.",
    "dont_know": "모르는 것을 솔직히 말한 것은 좋습니다. 아래 모범 답안으로 핵심을 정리해 보세요.",
    "restates_question": "질문을 되풀이했을 뿐 답한 내용이 없습니다. 아래 모범 답안으로 핵심을 정리해 보세요.",
    "nothing_matched": "참고 답안의 핵심 포인트와 일치하는 내용을 찾지 못했습니다.",
}


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _correction(q: Question, j: KeyPointJudgment) -> str:
    if j.correction:
        return j.correction
    pit = next((p for i, p in enumerate(q.pitfalls) if f"{q.id}:pitfall:{i}" in j.support_ids), None)
    return pit.correction if pit and pit.correction else j.point


def build_feedback(
    q: Question,
    judgments: list[KeyPointJudgment],
    *,
    note_key: str | None = None,
    extra_wrong: list[WrongClaim] | None = None,
) -> Feedback:
    """Praise only points judged stated and not contradicted, quoting the candidate; a sentence judged to state a
    misconception is never the quote of a praised point (if it was the only evidence, the point is not praised)."""
    wrong = [
        WrongClaim(quote=_short(j.evidence or "", 160), correction=_correction(q, j), point=j.point)
        for j in judgments
        if j.status is Status.contradicted
    ]
    wrong += extra_wrong or []
    wrong_quotes = {" ".join(w.quote.split()) for w in wrong}
    good = []
    for j in judgments:
        if j.status is Status.covered and j.evidence and " ".join(_short(j.evidence, 160).split()) not in wrong_quotes:
            good.append(f"{j.point} — “{_short(j.evidence, 120)}”")
    missing = [j.point for j in judgments if j.status is Status.missed]
    missing += [f"{j.point} ({LABELS['ko']['partial']})" for j in judgments if j.status is Status.partial]
    note = NOTES[note_key] if note_key else ("" if good or wrong else NOTES["nothing_matched"])
    if note_key in ("off_topic", "dont_know", "restates_question"):
        good = []
    return Feedback(note=note, good=good, wrong=wrong, missing=missing, model_answer=_short(q.reference, 400))


def feedback_sections(fb: Feedback, lang: str = "ko") -> list[tuple[str, list[str]]]:
    """The sections every renderer shows, in order, as (label, lines); empty sections are left out."""
    labels = LABELS.get(lang, LABELS["ko"])
    sections = [
        ("note", [fb.note] if fb.note else []),
        ("good", fb.good),
        ("wrong", [f"“{w.quote}” → {w.correction}" for w in fb.wrong]),
        ("missing", fb.missing),
        ("model_answer", [fb.model_answer] if fb.model_answer else []),
    ]
    return [(labels[key], lines) for key, lines in sections if lines]
