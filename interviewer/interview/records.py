"""The records an interview keeps in its state: the items waiting to be asked, the turns (one asked question each,
with what became of it) and the transcript's lines.

They are TypedDicts, not classes: LangGraph checkpoints them as plain dicts, so a session saved by an older version
loads as the same dicts it always did, and the keys every reader relies on are written down once, here."""

from typing import Literal, NotRequired, TypedDict

from ..grading.schema import GradeResult

Kind = Literal["main", "sub", "follow_up"]
TurnStatus = Literal["graded", "unscored", "skipped"]
LineKind = Literal["notice", "question", "answer", "hint", "reaction", "summary"]


class Item(TypedDict):
    """A question waiting to be asked (`pending`) or being asked (`current`)."""

    kind: Kind
    question_id: str
    target: int | None  # the key point a follow-up asks about; None for main and sub-questions
    text: str  # the interviewer's words, as asked
    correction: NotRequired[str | None]  # a follow-up that challenges a claim: the correction its reaction shows


class Waiting(TypedDict):
    """The question `ask` waits on, as the caller sees it (the interrupt's value)."""

    question: str
    kind: Kind
    question_id: str
    hints: int  # hints used so far


class Turn(TypedDict):
    """One asked question and what became of it."""

    no: int  # 1-based position in `turns`; a reaction line's `turn` names it
    kind: Kind
    question_id: str
    question: str  # the interviewer's words, as asked
    target: int | None
    answer: str | None
    status: TurnStatus
    hints: int
    cap: float  # the highest score the hints used allow
    score: float | None  # the score that counts (hint-capped); for a follow-up, how well it answered its target
    gain: float  # for a follow-up, what it adds to its question's score
    grade: dict | None  # GradeResult.model_dump(mode="json"), None when skipped; read it with `turn_grade`
    at: str


class Line(TypedDict):
    """One line of the transcript."""

    role: Literal["interviewer", "candidate"]
    text: str
    kind: LineKind
    at: str
    question_id: NotRequired[str]
    question_kind: NotRequired[Kind]  # on a question line
    turn: NotRequired[int]  # on a reaction line: the `no` of the turn it reacts to


def turn_grade(turn: Turn | None) -> GradeResult | None:
    """The grader's result a turn holds; None for a skipped turn or no turn. A turn stores it as JSON, so that
    checkpoints hold plain data; this is the one place it becomes a GradeResult again."""
    return GradeResult.model_validate(turn["grade"]) if turn and turn.get("grade") else None
