"""What the interviewer says, in Korean (default) or English, when no model phrases it: deterministic text
built from the bank (key points, their vocabulary, known misconceptions) so the offline mode runs a whole
interview."""

import re
import zlib

from ..bank import Pitfall, Question
from ..grading.schema import GradeResult, KeyPointJudgment, Status, score_from_judgments

HINT_CAPS = (5.0, 4.0, 3.0, 2.0)  # the best score still possible after 0, 1, 2, 3 hints
MAX_HINTS = len(HINT_CAPS) - 1

# Templates of one kind are interchangeable; one is picked per (question, key point) so that a session reads
# varied but the same situation always gets the same words (tests and replays stay deterministic).
# Variables never take a particle that changes with the last syllable (은/는, 이/가, 을/를): only 도, 까지, 의,
# 에서, 에 대해, or a closing quote followed by 라고/라는, which read right after any word.
_T = {
    "ko": {
        "welcome": "면접을 시작하겠습니다. 본 질문은 {n}개입니다{review}. 답이 막히면 '힌트', 넘어가려면 '패스', "
        "마치려면 '종료'라고 입력하세요.",
        "review": " (복습 모드: 복습할 때가 된 질문과 약했던 질문부터 드립니다)",
        "main": "질문 {i}/{n}. {text}",
        "sub": "꼬리질문. {text}",
        "follow_up": "추가 질문. {text}",
        "sub_skipped": "앞선 답변에서 이미 다루셨으니 이 꼬리질문은 건너뜁니다: “{text}”",
        "hint": "힌트 {k}/{m} (이제 이 질문은 최대 {cap:g}점입니다): {text}",
        "no_more_hints": "더 드릴 힌트가 없습니다. 아시는 만큼 답해 주세요.",
        "skipped": "네, 이 질문은 넘어가겠습니다.",
        "good": "좋습니다. 핵심을 잘 짚으셨습니다.",
        "fair": "네, 방향은 맞습니다. 빠진 부분은 피드백에서 확인해 보세요.",
        "weak": "조금 아쉽습니다. 피드백과 모범 답안을 함께 살펴보시죠.",
        "mixed": "네, 맞게 설명하신 부분도 있지만 사실과 다른 내용이 섞여 있습니다.",
        "wrong": "사실과 다르게 알고 계신 부분이 있습니다.",
        "dont_know": "괜찮습니다. 모르는 것을 모른다고 말하는 것도 중요합니다. 핵심을 정리해 드릴게요: {model}",
        "off_topic": "질문과는 다른 내용에 가까운 답변입니다. 질문을 다시 한번 보시죠: {text}",
        "unscored": "이번 답변은 채점하지 못했습니다 ({reason}). 답변은 기록해 두었으니 다음으로 넘어가겠습니다.",
        "challenge_quote": (
            "방금 “{quote}”라고 하셨는데, 정말 그럴까요? 그렇게 보신 근거를 설명해 주시겠어요?",
            "“{quote}”라고 하신 부분을 조금 더 여쭤보겠습니다. {topic}까지 생각해 보면 정말 그런지 다시 설명해 "
            "주시겠어요?",
            "“{quote}”라고 하셨는데, 확신하시나요? {topic}의 관점에서 그 부분을 다시 짚어 주시겠어요?",
        ),
        "challenge_claim": (
            "방금 답변은 ‘{claim}’라는 뜻으로 들렸는데요, 정말 그럴까요? 그렇게 보신 근거를 설명해 주시겠어요?"
        ),
        "challenge_topic": "{topic}에 대해 말씀하신 부분이 정확한지, 다시 한번 짚어 주시겠어요?",
        "probe_missed": (
            "{topic}도 이 질문과 관련이 있는데요, 어떤 관련이 있는지 설명해 주시겠어요?",
            "그렇다면 {topic}의 관점에서는 어떻게 설명하시겠어요?",
            "한 가지 더 여쭤보겠습니다. {topic}까지 생각하면 답변에 무엇을 더할 수 있을까요?",
        ),
        "hint_terms": "이런 개념을 떠올려 보세요: {terms}",
        "hint_point": "이 점을 다뤄 보세요: {point}",
        "hint_reference": "모범 답안은 이렇게 시작합니다: {sentence}",
        "follow_covered": "네, 바로 그 점이 핵심입니다.",
        "follow_partial": "네, 일부는 맞습니다. 정리하면 이렇습니다: {point}",
        "follow_missed": "이 부분은 이렇게 정리할 수 있습니다: {point}",
        "follow_corrected": "그 부분은 이렇게 바로잡을 수 있습니다: {point}",
        "end": "면접을 마치겠습니다. 채점된 답변 {n}개, 평균 {mean}점입니다. 수고하셨습니다.",
        "end_empty": "면접을 마치겠습니다. 채점된 답변이 없습니다.",
        "quit": "면접을 중단합니다.",
    },
    "en": {
        "welcome": "Let's begin. {n} main question(s){review}. Type 'hint' when stuck, 'skip' to move on, 'quit' to "
        "stop.",
        "review": " (review: questions that are due and your weakest first)",
        "main": "Question {i}/{n}. {text}",
        "sub": "Follow-up question. {text}",
        "follow_up": "One more thing. {text}",
        "sub_skipped": "You already covered it, so I will skip this sub-question: “{text}”",
        "hint": "Hint {k}/{m} (this question now scores at most {cap:g}): {text}",
        "no_more_hints": "No more hints for this one. Answer with what you know.",
        "skipped": "Sure, let's move on.",
        "good": "Good, you hit the key points.",
        "fair": "You are on the right track; see the feedback for what is missing.",
        "weak": "Not quite there; have a look at the feedback and the model answer.",
        "mixed": "Parts of that are right, but some of it is not correct.",
        "wrong": "Some of what you said is not correct.",
        "dont_know": "That's fine; saying you don't know is better than guessing. Here is the core of it: {model}",
        "off_topic": "That answer is about something else. The question was: {text}",
        "unscored": "I could not grade this answer ({reason}). It is saved; let's move on.",
        "challenge_quote": (
            "You said “{quote}”. Is that really so? What makes you think so?",
            "Let me push on “{quote}”. Thinking about {topic} as well, does it still hold? Please explain again.",
            "You said “{quote}”. Are you sure? Walk me through it in terms of {topic}.",
        ),
        "challenge_claim": "It sounded like you meant ‘{claim}’. Is that really so? What makes you think so?",
        "challenge_topic": "Are you sure about what you said on {topic}? Please go over it again.",
        "probe_missed": (
            "{topic} is also related to this question. How does it relate?",
            "Then how would you explain it in terms of {topic}?",
            "One more thing: if you also think about {topic}, what would you add to your answer?",
        ),
        "hint_terms": "Think about these concepts: {terms}",
        "hint_point": "Cover this point: {point}",
        "hint_reference": "The model answer starts with: {sentence}",
        "follow_covered": "Yes, that is the point.",
        "follow_partial": "Partly right. In short: {point}",
        "follow_missed": "Here is how to put it: {point}",
        "follow_corrected": "Here is the correction: {point}",
        "end": "That's the end of the interview: {n} graded answer(s), mean {mean}. Thank you.",
        "end_empty": "That's the end of the interview. Nothing was graded.",
        "quit": "Interview stopped.",
    },
}

LANGS = tuple(_T)
QUOTE_MAX = 80  # a longer wrong sentence is challenged through the bank's wording of the misconception
_HANGUL = re.compile(r"[가-힣]")


def say(lang: str, key: str, *, pick: str | None = None, **kw) -> str:
    """A template filled in; for a kind with several templates, `pick` chooses one deterministically."""
    template = _T.get(lang, _T["ko"])[key]
    if isinstance(template, tuple):
        template = template[zlib.crc32((pick or "").encode("utf-8")) % len(template)]
    return template.format(**kw)


def shorten(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _bare(sentence: str) -> str:
    """A sentence quoted inside another loses its closing punctuation."""
    return sentence.strip().rstrip(".!?。 ")


def topic_words(q: Question, index: int) -> str:
    """A key point's subject in a few words of its vocabulary, not its statement, so naming it does not give the
    answer away. Two terms at most, and not a term and its translation (큰 학습률 / learning rate)."""
    kp = q.key_points[index]
    terms = [t for t in kp.terms if t.strip()][:2]
    if len(terms) == 2 and bool(_HANGUL.search(terms[0])) != bool(_HANGUL.search(terms[1])):
        terms = terms[:1]
    return "·".join(terms) if terms else shorten(kp.point, 20)


def pitfall_of(q: Question, j: KeyPointJudgment) -> Pitfall | None:
    """The bank's misconception behind a contradicted judgment: the one the grader cited, else the one written
    against that key point."""
    for sid in j.support_ids:
        qid, _, rest = sid.partition(":pitfall:")
        if qid == q.id and rest.isdigit() and int(rest) < len(q.pitfalls):
            return q.pitfalls[int(rest)]
    return next((p for p in q.pitfalls if p.key_point == j.index), None)


def correction_of(q: Question, j: KeyPointJudgment) -> str:
    """What is right instead of a contradicted point: the grader's correction, the bank's, else the point."""
    pit = pitfall_of(q, j)
    return j.correction or (pit.correction if pit and pit.correction else "") or q.key_points[j.index].point


def reaction(
    lang: str, q: Question, r: GradeResult, target: int | None = None, *, correction: str | None = None
) -> str:
    """What the interviewer says after an answer; after a follow-up, about the one key point it targeted (after a
    challenged wrong claim, its `correction`). A wrong claim is never met with praise."""
    if r.score is None:
        return say(lang, "unscored", reason=shorten(r.unscored_reason or "", 120))
    if target is not None:
        status = next((j.status for j in r.key_points if j.index == target), Status.missed)
        point = correction or q.key_points[target].point
        if status is Status.covered:
            return say(lang, "follow_covered")
        if status is Status.partial:
            return say(lang, "follow_partial", point=point)
        return say(lang, "follow_corrected" if correction else "follow_missed", point=point)
    if r.dont_know:
        return say(lang, "dont_know", model=shorten(q.reference, 300))
    if r.off_topic:
        return say(lang, "off_topic", text=q.question)
    if any(j.status is Status.contradicted for j in r.key_points):
        return say(lang, "mixed" if r.score >= 2.5 else "wrong")
    return say(lang, "good" if r.score >= 4 else "fair" if r.score >= 2.5 else "weak")


def follow_up_target(r: GradeResult, *, below: float = 4.0) -> int | None:
    """The key point worth the one follow-up: a contradicted one first (a wrong claim is challenged whatever the
    score), else the most important missed one (key points are listed by importance) when the answer is not
    already good. "Good" needs both the grade and the key points' statuses alone (the project's scoring rule) at
    `below` or more: a calibrated grade can be high for an answer that states one key point of eight well, and
    such an answer still earns the question about what it left out."""
    if r.score is None or r.dont_know or r.off_topic:
        return None
    wrong = [j.index for j in r.key_points if j.status is Status.contradicted]
    if wrong:
        return wrong[0]
    if min(r.score, score_from_judgments(r.key_points)) >= below:
        return None
    return next((j.index for j in r.key_points if j.status is Status.missed), None)


def offline_follow_up(lang: str, q: Question, r: GradeResult, target: int) -> str:
    """The follow-up without a model. A contradicted point is challenged: the candidate's own words (or the bank's
    wording of the misconception) are questioned, never answered. A missed point is asked about through its
    vocabulary, not its statement, so the question does not give it away."""
    j = next(j for j in r.key_points if j.index == target)
    topic, pick = topic_words(q, target), f"{q.id}:{target}"
    if j.status is not Status.contradicted:
        return say(lang, "probe_missed", pick=pick, topic=topic)
    quote = _bare(j.evidence or "")
    pit = pitfall_of(q, j)
    if quote and (len(quote) <= QUOTE_MAX or pit is None):
        return say(lang, "challenge_quote", pick=pick, quote=shorten(quote, QUOTE_MAX), topic=topic)
    if pit is not None:
        return say(lang, "challenge_claim", claim=_bare(pit.claim))
    return say(lang, "challenge_topic", topic=topic)


def hint(lang: str, q: Question, target: int | None, k: int) -> str:
    """The k-th hint (1-based): vocabulary, then a key point, then the start of the model answer."""
    kps = [q.key_points[target]] if target is not None else q.key_points
    if k == 1:
        return say(lang, "hint_terms", terms=", ".join(dict.fromkeys(kp.terms[0] for kp in kps if kp.terms)))
    if k == 2:
        return say(lang, "hint_point", point=kps[0].point)
    sentence = q.reference.strip().split(". ")[0].split("\n")[0]
    return say(lang, "hint_reference", sentence=shorten(sentence, 200))
