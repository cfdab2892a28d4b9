"""The knowledge bank's data model: one question (main or sub) with what a grader checks."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AnswerSource = Literal["seed", "written", "imported", "missing"]
# imported: answer text brought by `bank import`, not yet split into key points; missing: no answer at all.
UNGRADED_SOURCES = ("imported", "missing")
# Key points are atoms: one claim each, so a half-right answer loses only the half it got wrong.
MIN_KEY_POINTS, MAX_KEY_POINTS = 3, 8


class KeyPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    point: str = Field(min_length=1)
    terms: list[str] = Field(default_factory=list)


class Pitfall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim: str = Field(min_length=1)
    correction: str = ""
    # The key point this misconception contradicts (0-based), so a grader that detects the claim knows which point
    # to mark wrong and which correction to show; None when it contradicts none of them.
    key_point: int | None = Field(default=None, ge=0)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)
    question: str = Field(min_length=1)
    parent: str | None
    context: str | None = None
    topics: list[str] = Field(min_length=1)
    difficulty: int = Field(ge=1, le=3)
    answer_source: AnswerSource
    reference: str = ""
    key_points: list[KeyPoint] = Field(default_factory=list)
    pitfalls: list[Pitfall] = Field(default_factory=list)
    seed_answer: str | None = None
    sources: list[str] = Field(default_factory=list)

    # Where the question was read from; not part of the file format.
    file: Path | None = Field(default=None, exclude=True)
    line: int = Field(default=0, exclude=True)
    field_lines: dict[str, int] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="after")
    def _gradable_questions_are_complete(self) -> "Question":
        if self.answer_source in UNGRADED_SOURCES:
            return self
        if not self.reference.strip():
            raise ValueError("reference: 참고 답안이 비어 있습니다 (answer_source가 imported/missing이 아니면 필수)")
        if not MIN_KEY_POINTS <= len(self.key_points) <= MAX_KEY_POINTS:
            raise ValueError(
                f"key_points: 핵심 포인트는 {MIN_KEY_POINTS}-{MAX_KEY_POINTS}개여야 합니다 "
                f"(현재 {len(self.key_points)}개)"
            )
        if not self.pitfalls:
            raise ValueError("pitfalls: 흔한 오해를 하나 이상 적어야 합니다")
        for i, p in enumerate(self.pitfalls):
            if p.key_point is not None and p.key_point >= len(self.key_points):
                raise ValueError(
                    f"pitfalls.{i}.key_point: {p.key_point}번 핵심 포인트가 없습니다 (0-{len(self.key_points) - 1})"
                )
        return self

    @property
    def is_main(self) -> bool:
        return self.parent is None

    @property
    def gradable(self) -> bool:
        return self.answer_source not in UNGRADED_SOURCES

    def field_line(self, name: str) -> int:
        return self.field_lines.get(name, self.line)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.file else self.id

    def to_public(self) -> dict:
        """The shape `bank list --json` prints."""
        return {
            "id": self.id,
            "question": self.question,
            "parent_id": self.parent,
            "topics": self.topics,
            "difficulty": self.difficulty,
            "reference": self.reference,
            "key_points": [kp.point for kp in self.key_points],
            "pitfalls": [p.claim for p in self.pitfalls],
        }
