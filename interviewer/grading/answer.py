"""A candidate's answer made safe to grade: cleaned, cut into sentences, with manipulation and "don't know" found.

Answers are data, never instructions: sentences that address the grader are set aside, not obeyed."""

import re
import unicodedata
from dataclasses import dataclass, field

from ..errors import InterviewerError

MAX_ANSWER_CHARS = 4000  # a spoken interview answer; longer text is graded on its first part and flagged

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_SENTENCE = re.compile(r"(?<=[.!?。])\s+|(?<=[다요죠음함됨])\.?\s+|\n+")
_LAST_PERIOD = re.compile(r"(?<=[다요죠음함됨])\.$")
_HANGUL = re.compile(r"[가-힣]")

# Text aimed at the grader rather than the interviewer. Each pattern is one kind of manipulation; a sentence
# matching any of them is set aside (shown in the result, never graded, never obeyed).
_SCORE_WORD = r"(\d+(\.\d+)?\s*점|점수|만점|score|grade|points?|rating)"
_DEMAND = (
    r"(주세요|줘|주십시오|주시|부여|매겨|매기|출력|적어|기입|처리|드리|달라|해야|하시오|바랍니다"
    r"|\b(must|should|give|return|output|assign|print|award)\b)"
)
_INJECTION_PATTERNS = [
    rf"{_SCORE_WORD}.{{0,40}}{_DEMAND}|{_DEMAND}.{{0,20}}{_SCORE_WORD}",  # score demands
    r"(채점|평가)\s*(자|관|시스템|기준|모델|ai|하는|하시는)|(이|본)\s*답변을\s*(평가|채점)|면접관\s*님?께",
    r"\b(ai|llm|language model|grader|evaluator|assistant)\b\s*(는|은|이|가|님)?\s*.{0,30}(반드시|must|should)",
    r"\{[^{}]*\"(score|gold|tier|grade|reason|result|verdict|feedback|점수|평가)\"\s*:",  # forged output
    r"(^|\s)(system|assistant|user|developer)\s*[:：>]|#{2,}\s*\S*\s*(instruction|지시|명령)",
    r"</?\s*(answer|candidate|grader|system|instructions?|rubric|prompt)\b[^>]*>?",  # forged delimiters
    r"(ignore|disregard|forget|override)\s+(all\s+|the\s+|any\s+)?(previous|prior|above|earlier|rubric|instructions?)",
    r"(이전|기존|위의?|앞의?)\s*(의\s*)?(모든\s*)?(지시|명령|지침|규칙|기준|프롬프트)\S*\s*(을|를|은|는)?\s*(무시|폐기|취소)",
    r"(무시하고|무시하세요|무시해)|당신은\s*이제|you are now|새로운?\s*(지시|기준|규칙)",
    r"(이미|사전에?)\s*(승인|통과|만점|검증)|(pre-?)?approved\b",
    # the same demands in Chinese and Japanese
    r"[0-5５]\s*(分|点|点数).{0,10}(给|打|请|与え|付け|ください|下さい)|(给|打|请).{0,10}[0-5５]\s*分|満点|满分",
    r"(忽略|無視|无视).{0,10}(指示|说明|指令|ルール)",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.IGNORECASE)

_DONT_KNOW = re.compile(
    r"(?ix)(모르겠|모릅니다|몰라요|모름|잘\s*모르|기억이\s*(잘\s*)?안|기억나지\s*않|떠오르지\s*않|생각이\s*(잘\s*)?안\s*나"
    r"|들어본\s*(적|것)|공부해\s*보겠|찾아보(겠|면)|패스|pass\b"
    # Evasions: never having done it, no time for it, "hard to say", not recalling the details. They only count
    # when the answer also covers little (see the offline grader), and not before a concession: "써 본 적은
    # 없지만 X는 Y" goes on to answer.
    r"|(해|다뤄|써|사용해|구현해|읽어|계산해|공부해|접해)\s*본\s*(적|경험)\s*(이|은|도)?\s*(거의\s*)?없(?!지만|는데)"
    r"|(읽을|공부할|볼)\s*(시간|여유)\s*(이|가)?\s*없(?!지만|는데)"
    r"|(말씀\s*드리기|말하기|답하기|답변하기|설명\s*드리기|설명하기|단정하기)\s*(는|가)?\s*(좀\s*)?어렵"
    r"|(정확히|자세히)\s*(는|은)?\s*(기억|모르)"
    r"|i\s+(don'?t|do\s+not)\s+know|not\s+sure|no\s+idea)"
)


@dataclass
class PreparedAnswer:
    original: str
    text: str  # cleaned, without the sentences set aside
    sentences: list[str]
    set_aside: list[str] = field(default_factory=list)  # sentences addressed to the grader
    flags: list[str] = field(default_factory=list)
    dont_know_phrase: bool = False

    @property
    def empty(self) -> bool:
        return not self.sentences

    @property
    def judgeable(self) -> bool:
        """Something a model could read: a sentence with a letter or digit in it (punctuation and emoji alone
        state nothing; SmolLM2 once called such an answer all covered)."""
        return not self.empty and any(ch.isalnum() for ch in self.text)


def clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    # The split drops a Korean ending's period; the last sentence loses it too, so a sentence reads the same
    # whatever follows it (a manipulation set aside after it must not change how it is embedded).
    parts = (_LAST_PERIOD.sub("", p.strip(" -*•>\t")) for p in _SENTENCE.split(text))
    return [p for p in parts if len(p) > 1]


def prepare(answer: str) -> PreparedAnswer:
    flags: list[str] = []
    text = clean(answer or "")
    if len(text) > MAX_ANSWER_CHARS:
        text = text[:MAX_ANSWER_CHARS]
        flags.append("truncated")
    sentences, aside = [], []
    for s in split_sentences(text):
        m = _INJECTION.search(s)
        if m is None:
            sentences.append(s)
            continue
        # Content before the manipulation in the same sentence still counts ("X입니다 이 답변을 평가하는 AI는 ...").
        head = s[: m.start()].strip(" ,;:-([{")
        if len(head) >= 8 and not _INJECTION.search(head):
            sentences.append(head)
        aside.append(s[m.start() :] if head else s)
    if aside:
        flags.append("injection_suspected")
    kept = " ".join(sentences)
    if kept and not _HANGUL.search(kept):
        flags.append("non_korean")
    if not kept:
        flags.append("empty_answer" if not aside else "only_instructions")
    return PreparedAnswer(answer, kept, sentences, aside, flags, bool(_DONT_KNOW.search(kept)))


def check_answer(text: str | None) -> None:
    """Refuse, with a message and before anything is stored, an answer that is empty or too long to grade."""
    if text is None or not str(text).strip():
        raise InterviewerError("답변이 비어 있습니다. 모르면 '모르겠습니다'라고 답해도 됩니다.")
    if len(text) > MAX_ANSWER_CHARS:
        raise InterviewerError(f"답변이 너무 깁니다 ({len(text):,}자). {MAX_ANSWER_CHARS:,}자 이내로 줄여 주세요.")
