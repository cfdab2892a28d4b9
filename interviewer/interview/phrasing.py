"""What the interviewer says, in Korean (default) or English, when no model phrases it: deterministic text
built from the bank's key points so the offline mode runs a whole interview."""

from ..bank import Question
from ..grading.feedback import _short
from ..grading.schema import GradeResult, Status

HINT_CAPS = (5.0, 4.0, 3.0, 2.0)  # the best score still possible after 0, 1, 2, 3 hints
MAX_HINTS = len(HINT_CAPS) - 1

_T = {
    "ko": {
        "welcome": "면접을 시작하겠습니다. 본 질문 {n}개{review}. 답변 중 '힌트', '패스', '종료'를 쓸 수 있습니다.",
        "review": " (복습: 복습할 때가 된 질문과 약한 질문부터)",
        "main": "질문 {i}/{n}. {text}",
        "sub": "꼬리질문. {text}",
        "follow_up": "추가 질문. {text}",
        "sub_skipped": "앞 답변에서 이미 다루셨으니 꼬리질문 “{text}”은 건너뜁니다.",
        "hint": "힌트 {k}/{m} (이 질문은 최대 {cap:g}점): {text}",
        "no_more_hints": "더 드릴 힌트가 없습니다. 아는 만큼 답해 주세요.",
        "skipped": "네, 이 질문은 넘어가겠습니다.",
        "good": "좋습니다. 핵심을 잘 짚으셨습니다.",
        "fair": "네, 방향은 맞습니다. 빠진 부분은 피드백을 참고하세요.",
        "weak": "조금 아쉽습니다. 피드백과 모범 답안을 함께 보시죠.",
        "dont_know": "괜찮습니다. 모르는 것은 모른다고 말하는 것도 중요합니다. 핵심을 정리해 드릴게요: {model}",
        "off_topic": "질문과 다른 내용에 가까운 답변입니다. 질문을 다시 보시면: {text}",
        "unscored": "이번 답변은 채점하지 못했습니다 ({reason}). 답변은 기록해 두었고, 다음으로 넘어가겠습니다.",
        "follow_terms": "방금 답변에서 ‘{terms}’ 쪽은 언급하지 않으셨는데요, 이 질문과 어떤 관련이 있는지 설명해 주시겠어요?",
        "follow_wrong": "“{evidence}”라고 하셨는데, 정말 그런지 다시 한번 설명해 주시겠어요?",
        "hint_terms": "이런 개념을 떠올려 보세요 — {terms}",
        "hint_point": "이 점을 다뤄 보세요 — {point}",
        "hint_reference": "참고 답안의 첫 문장 — {sentence}",
        "follow_covered": "네, 그 점이 핵심입니다.",
        "follow_partial": "네, 일부는 맞습니다. 정리하면: {point}",
        "follow_missed": "이 부분은 이렇게 정리할 수 있습니다: {point}",
        "end": "면접을 마치겠습니다. 답변 {n}개, 평균 {mean}. 수고하셨습니다.",
        "end_empty": "면접을 마치겠습니다. 채점된 답변이 없습니다.",
        "quit": "면접을 중단합니다.",
    },
    "en": {
        "welcome": "Let's begin. {n} main question(s){review}. You can type 'hint', 'skip' or 'quit' at any time.",
        "review": " (review: due and weakest questions first)",
        "main": "Question {i}/{n}. {text}",
        "sub": "Follow-up question. {text}",
        "follow_up": "One more thing. {text}",
        "sub_skipped": "You already covered it, so I will skip the sub-question “{text}”.",
        "hint": "Hint {k}/{m} (this question now scores at most {cap:g}): {text}",
        "no_more_hints": "No more hints for this one. Answer with what you know.",
        "skipped": "Sure, let's move on.",
        "good": "Good, you hit the key points.",
        "fair": "You are on the right track; see the feedback for what is missing.",
        "weak": "Not quite there; have a look at the feedback and the model answer.",
        "dont_know": "That's fine; saying you don't know is better than guessing. Here is the core of it: {model}",
        "off_topic": "That answer is about something else. The question was: {text}",
        "unscored": "I could not grade this answer ({reason}). It is saved; let's move on.",
        "follow_terms": "You did not mention ‘{terms}’. How does it relate to this question?",
        "follow_wrong": "You said “{evidence}”. Are you sure? Please explain again.",
        "hint_terms": "Think about these concepts — {terms}",
        "hint_point": "Cover this point — {point}",
        "hint_reference": "The reference answer starts with — {sentence}",
        "follow_covered": "Yes, that is the point.",
        "follow_partial": "Partly right. In short: {point}",
        "follow_missed": "Here is how to put it: {point}",
        "end": "That's the end of the interview: {n} graded answer(s), mean {mean}. Thank you.",
        "end_empty": "That's the end of the interview. Nothing was graded.",
        "quit": "Interview stopped.",
    },
}

LANGS = tuple(_T)


def say(lang: str, key: str, **kw) -> str:
    return _T.get(lang, _T["ko"])[key].format(**kw)


def reaction(lang: str, q: Question, r: GradeResult, target: int | None = None) -> str:
    """What the interviewer says after an answer; after a follow-up, about the one key point it targeted."""
    if r.score is None:
        return say(lang, "unscored", reason=_short(r.unscored_reason or "", 120))
    if target is not None:
        status = next((j.status for j in r.key_points if j.index == target), Status.missed)
        key = {Status.covered: "follow_covered", Status.partial: "follow_partial"}.get(status, "follow_missed")
        return say(lang, key, point=q.key_points[target].point)
    if r.dont_know:
        return say(lang, "dont_know", model=_short(q.reference, 300))
    if r.off_topic:
        return say(lang, "off_topic", text=q.question)
    return say(lang, "good" if r.score >= 4 else "fair" if r.score >= 2.5 else "weak")


def follow_up_target(r: GradeResult, *, below: float = 4.0) -> int | None:
    """The most important key point worth one follow-up: contradicted first, then missed."""
    if r.score is None or r.dont_know or r.off_topic or r.score >= below:
        return None
    for status in (Status.contradicted, Status.missed):
        for j in r.key_points:
            if j.status is status:
                return j.index
    return None


def offline_follow_up(lang: str, q: Question, r: GradeResult, target: int) -> str:
    """Asks about a missed point by its vocabulary, not its statement, so the question does not give it away."""
    j = next(j for j in r.key_points if j.index == target)
    if j.status is Status.contradicted and j.evidence:
        return say(lang, "follow_wrong", evidence=_short(j.evidence, 80))
    terms = q.key_points[target].terms[:2] or [q.key_points[target].point[:20]]
    return say(lang, "follow_terms", terms=", ".join(terms))


def hint(lang: str, q: Question, target: int | None, k: int) -> str:
    """The k-th hint (1-based): vocabulary, then a key point, then the start of the reference."""
    kps = [q.key_points[target]] if target is not None else q.key_points
    if k == 1:
        return say(lang, "hint_terms", terms=", ".join(dict.fromkeys(kp.terms[0] for kp in kps if kp.terms)))
    if k == 2:
        return say(lang, "hint_point", point=kps[0].point)
    sentence = q.reference.strip().split(". ")[0].split("\n")[0]
    return say(lang, "hint_reference", sentence=_short(sentence, 200))
