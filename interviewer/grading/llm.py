"""The LLM grader: one structured call per answer; the model judges key points, code computes the score."""

import contextlib
import hashlib
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.utils.json import parse_partial_json
from pydantic import BaseModel, Field, ValidationError

from ..bank import Question
from ..prompts import render
from ..providers import CALL_ERRORS, describe_call_error
from .answer import prepare
from .feedback import _short, build_feedback
from .offline import OfflineGrader
from .schema import GradeResult, KeyPointJudgment, Passage, Progress, Status, score_from_judgments

MAX_REASKS = 2
DISAGREEMENT = 2.0
SAME_QUOTE_POINTS = 3  # one identical quote given as the evidence of this many key points (and of most): no judgment
CALL_FAILED = "call_failed"  # the provider did not answer (after the client's own retries on 429/5xx)
_NOT_OPENAI = "모델 서버의 응답을 해석할 수 없습니다 (OpenAI 호환 응답이 아님): AttributeError: "
_HANGUL = re.compile(r"[가-힣]")
_TAG = re.compile(r"</?answer-[0-9a-f]+>")  # our delimiter; the answer cannot contain it (escaped)


class LLMKeyPoint(BaseModel):
    """The i-th item judges the i-th key point, so a model cannot skip or repeat one."""

    status: Literal["covered", "partial", "missed", "contradicted"]
    evidence: str = Field("", max_length=160)


class LLMGrade(BaseModel):
    """What the model returns. String fields are bounded: small models otherwise loop."""

    key_points: list[LLMKeyPoint] = Field(max_length=8)
    off_topic: bool
    dont_know: bool
    wrong_claims: list[Annotated[str, Field(max_length=160)]] = Field(default_factory=list, max_length=5)
    feedback_good: str = Field(max_length=240)
    feedback_missing: str = Field(max_length=360)


class LLMTurn(LLMGrade):
    """In an interview the same call also phrases the follow-up question (one model call per turn)."""

    follow_up_question: str = Field("", max_length=200)


def one_quote_for_most(reply: LLMGrade) -> bool:
    """The model offered one quote (often the whole answer, or just our delimiter) as the evidence of most key
    points: it did not judge them one by one. On 43 dev answers the bundled 1.5B did this 11 times, 5 of them more
    than a point above gold (up to 3.1). Re-asking with the error did not help: it repeated it all 11 times."""
    quotes = Counter(
        " ".join(kp.evidence.split())
        for kp in reply.key_points
        if kp.status in ("covered", "partial") and kp.evidence.strip()
    )
    times = max(quotes.values(), default=0)
    return times >= SAME_QUOTE_POINTS and times * 2 > len(reply.key_points)


def _quoted(evidence: str, answer: str) -> str | None:
    """The model's evidence only if the candidate said it: an invented quote is never shown as theirs."""
    quote = " ".join(_TAG.sub("", evidence).split())
    return quote if quote and quote in " ".join(answer.split()) else None


class GradeReplyError(ValueError):
    pass


class NotKorean(GradeReplyError):
    pass


def check_reply(reply: LLMGrade, n_key_points: int) -> None:
    if len(reply.key_points) != n_key_points:
        raise GradeReplyError(
            f"key_points must have exactly {n_key_points} items, one per key point in order; "
            f"got {len(reply.key_points)}"
        )
    for name in ("feedback_good", "feedback_missing", "follow_up_question"):
        text = getattr(reply, name, "")
        if text.strip() and not _HANGUL.search(text):
            raise NotKorean(f"{name} must be written in Korean (한국어로 쓰세요)")


# A compact description for providers that cannot constrain decoding (the schema itself is sent where they can).
_SHAPE = (
    '{"key_points": [{"status": "covered|partial|missed|contradicted", "evidence": "<quote>"}, ...one per key '
    'point...], "off_topic": false, "dont_know": false, "wrong_claims": ["..."], '
    '"feedback_good": "<한국어>", "feedback_missing": "<한국어>"}'
)
_TURN_SHAPE = _SHAPE[:-1] + ', "follow_up_question": "<한국어 질문 또는 빈 문자열>"}'


def _draft(text: str) -> str:
    """What the interviewer has said so far in a partial JSON reply (its free-text fields, in order)."""
    try:
        partial = parse_partial_json(text) if text.lstrip().startswith("{") else None
    except ValueError:  # not JSON yet, or not JSON at all: nothing to show
        return ""
    if not isinstance(partial, dict):
        return ""
    parts = [str(partial.get(k) or "").strip() for k in ("feedback_good", "feedback_missing", "follow_up_question")]
    return "\n".join(p for p in parts if p)


def _escape(answer: str) -> str:
    # Forged delimiters inside the answer cannot close our block: angle brackets become look-alikes.
    return answer.replace("<", "‹").replace(">", "›")


class LLMGrader:
    def __init__(
        self,
        model: BaseChatModel,
        name: str,
        offline: OfflineGrader,
        prompts_dir,
        *,
        max_reasks: int = MAX_REASKS,
        slots: threading.BoundedSemaphore | None = None,
        reuse_prefix: Callable[[list[list[dict]]], dict] | None = None,
    ):
        self.model = model
        # The decoding slots of a server that has few (the in-process local one): every caller (grade, eval,
        # interview turns) waits for one around its model call.
        self._slots = slots or contextlib.nullcontext()
        # A server that can restore a saved prompt prefix (the in-process one): given the prompt's fixed openings,
        # it loads their state and returns the request fields that reuse it.
        self._reuse_prefix = reuse_prefix
        self.name = name
        self.offline = offline
        self.prompts_dir = prompts_dir
        self.max_reasks = max_reasks
        self.parsers = {
            False: PydanticOutputParser(pydantic_object=LLMGrade),
            True: PydanticOutputParser(pydantic_object=LLMTurn),
        }

    def _bind_schema(self, n_key_points: int, follow_up: bool = False):
        """Ask the provider to constrain decoding to the schema where it can (OpenAI-compatible json_schema),
        with exactly one judgment per key point."""
        from langchain_openai import ChatOpenAI

        if not isinstance(self.model, ChatOpenAI):
            return self.model
        schema = (LLMTurn if follow_up else LLMGrade).model_json_schema()
        schema["properties"]["key_points"].update(minItems=n_key_points, maxItems=n_key_points)
        return self.model.bind(
            response_format={"type": "json_schema", "json_schema": {"name": "grade", "schema": schema, "strict": False}}
        )

    def messages(self, q: Question, answer: str, related: list[str], nonce: str, follow_up: bool = False) -> list:
        # The key points are the rubric; the reference answer itself is not sent. It was a third of the prompt
        # (~575 of ~1,700 tokens) and the bundled 1.5B graded worse with it: 43 dev items, pairwise .83 vs .90,
        # 38 s vs 26 s per answer (benchmarks/grader.py). The candidate still sees it as the model answer.
        # Fixed parts first (instructions, then the question's rubric), what depends on the answer last: a server
        # can then reuse the fixed parts' work from one answer to the next (see `prefixes`).
        system, rubric = self._fixed(q, follow_up)
        user = render(
            self.prompts_dir,
            "grade.user.j2",
            key_points=q.key_points,
            related=related,
            nonce=nonce,
            answer=_escape(answer),
            follow_up=follow_up,
        )
        return [SystemMessage(system), HumanMessage(rubric + user)]

    def _fixed(self, q: Question, follow_up: bool) -> tuple[str, str]:
        system = render(self.prompts_dir, "grade.system.j2", shape=_TURN_SHAPE if follow_up else _SHAPE)
        rubric = render(
            self.prompts_dir,
            "grade.rubric.j2",
            question_id=q.id,
            question=q.question,
            context=q.context,
            key_points=[kp.point for kp in q.key_points],
            pitfalls=[p.claim for p in q.pitfalls],
        )
        return system, rubric

    def prefixes(self, q: Question, follow_up: bool = False) -> list[list[dict]]:
        """The openings every grading prompt of this question shares: the instructions, then with the rubric."""
        system, rubric = self._fixed(q, follow_up)
        return [
            [{"role": "system", "content": system}],
            [{"role": "system", "content": system}, {"role": "user", "content": rubric}],
        ]

    def _invoke(self, runnable, msgs, on_text: Callable[[str], None] | None, prefixes: list[list[dict]]):
        """One model call; with `on_text`, streamed, and the interviewer's words are passed on as they grow."""
        with self._slots:
            extra = {"extra_body": self._reuse_prefix(prefixes)} if self._reuse_prefix else {}
            return self._call(runnable, msgs, on_text, **extra)

    @staticmethod
    def _call(runnable, msgs, on_text: Callable[[str], None] | None, **kwargs):
        if on_text is None:
            return runnable.invoke(msgs, **kwargs)
        acc, shown = None, ""
        for chunk in runnable.stream(msgs, **kwargs):
            acc = chunk if acc is None else acc + chunk
            draft = _draft(acc.content if isinstance(acc.content, str) else "")
            if draft and draft != shown:
                on_text(draft)
                shown = draft
        if acc is None:
            raise GradeReplyError("the model returned nothing")
        return acc

    def grade(
        self,
        question: Question,
        answer: str,
        *,
        follow_up: bool = False,
        on_text: Callable[[str], None] | None = None,
        progress: Progress | None = None,
    ) -> GradeResult:
        """`follow_up`: also phrase the interview's follow-up question in the same call. `on_text`: stream.
        `progress`: told what the grader is doing."""
        start = time.perf_counter()
        offline = self.offline.grade(question, answer, progress=progress)
        prepared = prepare(answer)
        flags = [f for f in offline.flags if f in ("truncated", "injection_suspected", "non_korean", "empty_answer")]
        if offline.unscored_reason or not prepared.judgeable:
            offline.grader, offline.offline_score = self.name, offline.score
            return offline  # nothing for a model to judge: no reference, or no word in the answer
        if progress:
            progress("모델 채점 중")
        msgs = self._first_messages(question, answer, prepared, offline, follow_up)
        usage = Usage()
        reply, error = self._ask(question, msgs, follow_up, on_text, flags, usage)
        latency = round((time.perf_counter() - start) * 1000, 1)
        if reply is None:
            return GradeResult(
                question_id=question.id,
                grader=self.name,
                latency_ms=latency,
                model_calls=usage.calls,
                decoded_tokens=usage.decoded,
                flags=flags,
                unscored_reason=(
                    f"모델 호출 실패로 채점하지 못했습니다: {error}"
                    if CALL_FAILED in flags
                    else f"모델 출력이 올바르지 않아 채점하지 못했습니다: {error}"
                ),
                offline_score=offline.score,
                passages=offline.passages,
            )
        result = self._result(question, prepared, offline, reply, flags, latency)
        result.model_calls, result.decoded_tokens = usage.calls, usage.decoded
        return result

    def _first_messages(self, question: Question, answer: str, prepared, offline: GradeResult, follow_up: bool):
        related = [_short(p.text, 160) for p in offline.passages if p.question_id != question.id][:2]
        # Sentences that address the grader never reach the model; it is only told that some were removed.
        text = prepared.text
        if prepared.set_aside:
            text += f"\n[채점 지시로 보이는 문장 {len(prepared.set_aside)}개는 제거되었습니다]"
        # The tag's code comes from the answer itself, not from a random draw: the same answer must meet the same
        # prompt, or a small model grades it differently run to run. Forging the tag is impossible either way
        # (angle brackets in the answer are escaped).
        nonce = hashlib.sha256(f"{question.id}\n{answer}".encode("utf-8", "replace")).hexdigest()[:8]
        return self.messages(question, text, related, nonce, follow_up)

    def _reask(self, msgs: list, question: Question, error: str, flags: list[str], attempt: int, reply_text=None):
        flags.append(f"reask:{attempt + 1}")
        said = [AIMessage(reply_text)] if reply_text is not None else []
        return (
            msgs
            + said
            + [HumanMessage(render(self.prompts_dir, "reask.j2", error=error, n_key_points=len(question.key_points)))]
        )

    def _ask(self, question: Question, msgs: list, follow_up: bool, on_text, flags: list[str], usage: "Usage"):
        """The model's valid reply (re-asked with the error a bounded number of times) or None, and the last error."""
        reply, error, korean_only = None, None, None
        runnable = self._bind_schema(len(question.key_points), follow_up)
        parser = self.parsers[follow_up]
        prefixes = self.prefixes(question, follow_up) if self._reuse_prefix else []
        for attempt in range(self.max_reasks + 1):
            try:
                raw = self._invoke(runnable, msgs, on_text, prefixes)
            # Server down, timeout, context overflow: unscored, session intact. langchain-openai raises
            # AttributeError for a reply body that is a bare string (a proxy's garbage), so it counts here too,
            # for the model call alone.
            except (*CALL_ERRORS, AttributeError) as e:
                if type(e).__name__ != "LengthFinishReasonError":
                    error = describe_call_error(e) if not isinstance(e, AttributeError) else _NOT_OPENAI + str(e)
                    flags.append(CALL_FAILED)
                    break
                # The model answered but ran past the token limit (small models loop): ask again, shorter. The
                # last time it is an invalid output, not a failed call (which would stop an eval run early).
                error = "the reply was cut at the length limit; keep every string short"
                if attempt < self.max_reasks:
                    msgs = self._reask(msgs, question, error, flags, attempt)
                continue
            usage.add(raw)
            text = raw.content if isinstance(raw.content, str) else str(raw.content)
            try:
                reply = parser.parse(text)
                check_reply(reply, len(question.key_points))
                return reply, None
            except (OutputParserException, ValidationError, GradeReplyError) as e:
                # Judgments that are valid but come with English feedback are kept in reserve.
                korean_only = reply if isinstance(e, NotKorean) else korean_only
                reply, error = None, _short(str(e), 400)
                if attempt < self.max_reasks:
                    msgs = self._reask(msgs, question, error, flags, attempt, text)
        if korean_only is not None:
            # Only the language of the feedback kept failing: the judgments stand (feedback is built from them).
            flags.append("feedback_fallback")
            return korean_only, None
        return None, error

    def _result(
        self, question: Question, prepared, offline: GradeResult, reply, flags: list[str], latency: float
    ) -> GradeResult:
        judgments = [
            KeyPointJudgment(
                index=i,
                point=question.key_points[i].point,
                status=Status(kp.status),
                evidence=_quoted(kp.evidence, prepared.original),
                support_ids=[f"{question.id}:key_point:{i}"],
            )
            for i, kp in enumerate(reply.key_points)
        ]
        score = score_from_judgments(
            judgments,
            off_topic=reply.off_topic,
            dont_know=reply.dont_know,
            wrong_share=min(1.0, 0.2 * len(reply.wrong_claims)),
        )
        score = _guarded(score, offline, reply, flags)
        off_topic = reply.off_topic or "capped_off_topic" in flags
        if "capped_off_topic" in flags:
            flags += [f for f in offline.flags if f.startswith("closer_to:")]
        if offline.score is not None and abs(score - offline.score) > DISAGREEMENT:
            flags.append("grader_disagreement")
        # Feedback is built from the judgments, never from the model's prose: it cannot praise what was not said.
        note = "off_topic" if off_topic else "dont_know" if reply.dont_know else None
        feedback = build_feedback(question, judgments, note_key=note)
        return GradeResult(
            question_id=question.id,
            score=score,
            key_points=judgments,
            off_topic=off_topic,
            dont_know=reply.dont_know,
            feedback=feedback,
            grader=self.name,
            latency_ms=latency,
            flags=flags,
            offline_score=offline.score,
            passages=[Passage(**p.model_dump()) for p in offline.passages],
            follow_up_question=(getattr(reply, "follow_up_question", "") or "").strip() or None,
        )


class Usage:
    """Requests sent and tokens decoded over one grade's calls (read from each reply's usage metadata)."""

    def __init__(self) -> None:
        self.calls = self.decoded = 0

    def add(self, reply) -> None:
        self.calls += 1
        self.decoded += int((getattr(reply, "usage_metadata", None) or {}).get("output_tokens", 0))


def _guarded(score: float, offline: GradeResult, reply, flags: list[str]) -> float:
    """Where a model is known to be fooled, the deterministic grade bounds its score (each guard that holds it
    down is added to `flags`)."""
    guards = {
        # A manipulation we could not fully strip must not buy points: no more than the grade that cannot be
        # talked to. (With + 1 of slack, the bundled 1.5B put 2 of 10 dev injection answers above gold + 1.)
        "capped_after_manipulation": ("injection_suspected" in flags, 0.0),
        # The retrieval-grounded rule found an answer to another question (closer to it, and covering it better).
        # That rule flagged no excellent, good, partial or ok answer in either eval set, while the bundled 1.5B
        # model gave such answers up to 5 points: the model's miss must not score them.
        "capped_off_topic": (offline.off_topic and not reply.off_topic, 1.0),
        # An evasion ("no time to read papers lately") with nothing the references support: the bundled 1.5B
        # called every key point of such a dev answer covered (5.0). The same + 1 as for off-topic.
        "capped_dont_know": (offline.dont_know and not reply.dont_know, 1.0),
        # Judgments without their own evidence (one quote for most key points) prove nothing point by point: the
        # same + 1 as for a missed off-topic answer.
        "capped_one_quote": (one_quote_for_most(reply), 1.0),
    }
    if offline.score is not None:
        # Every guard that holds the model's score down is named, whatever the order of the table.
        held = {
            flag: round(offline.score + slack, 2)
            for flag, (applies, slack) in guards.items()
            if applies and score > offline.score + slack
        }
        flags += list(held)
        score = min([score, *held.values()])
    return score
