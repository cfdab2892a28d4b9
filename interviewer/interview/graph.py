"""The interview as a LangGraph graph: next → ask (interrupt for the answer) → grade → next … → finish.

Grading happens in its own node, so once `grade` has finished its result is in a checkpoint: a process killed
afterwards resumes at the following question and no graded turn is lost. `ask` only waits and routes, because a
node that is resumed runs again from its start.

`turns` and `transcript` only grow: a node returns the turns and lines it adds and LangGraph appends them (the
reducer), so no step copies the whole history. Returning the full list from a node would double it."""

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypedDict

import httpx
import openai
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from ..bank import Bank, Question
from ..errors import InterviewerError
from ..grading.schema import CREDIT, GradeResult, Progress, Status, kp_weight
from ..providers import describe_call_error
from . import phrasing
from .phrasing import HINT_CAPS, MAX_HINTS, say
from .records import Item, Line, Turn, TurnStatus, Waiting, turn_grade

# What a grader may raise when a model provider fails outside its own handling (at start-up, say): our typed errors
# and the transport's. Nothing broader: a ValueError or KeyError from our code must raise, not become a lost turn.
PROVIDER_ERRORS = (InterviewerError, openai.OpenAIError, httpx.HTTPError)

# Sub-question skip rule: the block's answers already cover it, as judged by the deterministic grader.
SKIP_COVERED_SHARE, SKIP_MIN_SCORE = 0.75, 4.0
# A key point recovered only when asked again counts half: it needed prompting.
FOLLOW_UP_WEIGHT = 0.5

COMMANDS = {
    "hint": {"힌트", "hint", "/hint"},
    "skip": {"패스", "skip", "pass", "/skip"},
    "quit": {"종료", "quit", "exit", "/quit"},
}


def command_of(text: str) -> str | None:
    word = text.strip().lower().rstrip(".!")
    return next((c for c, words in COMMANDS.items() if word in words), None)


class InterviewState(TypedDict, total=False):
    session_id: str
    model: str
    lang: str
    mains: list[str]
    main_pos: int
    pending: list[Item]  # items still to ask in this main question's block
    current: Item | None
    hints: int
    answer: str | None
    block_answers: list[str]  # answers given in the current main block (for the sub-question skip rule)
    turns: Annotated[list[Turn], operator.add]  # a node returns only the turns it adds
    transcript: Annotated[list[Line], operator.add]  # a node returns only the lines it adds
    done: bool
    quit: bool


# (question, answer, model spec, want a follow-up phrased, stream callback for the interviewer's words or None,
#  progress callback told in Korean what the grader is doing or None)
Grade = Callable[[Question, str, str, bool, Callable[[str], None] | None, Progress | None], GradeResult]


def now_iso() -> str:
    """The one clock of sessions and transcripts: UTC, to the second, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _line(role: str, text: str, kind: str, **extra) -> Line:
    return {"role": role, "text": text, "kind": kind, "at": now_iso(), **extra}


def question_scores(turns: list[Turn]) -> dict[str, float]:
    """Each asked question's final score: its own turn (hint cap included), raised by a follow-up that recovered
    the targeted key point. Skipped and unscored questions have none."""
    scores: dict[str, float] = {}
    for t in turns:
        if t["kind"] == "follow_up":
            if t["question_id"] in scores and t.get("gain"):
                scores[t["question_id"]] = round(min(t["cap"], scores[t["question_id"]] + t["gain"]), 2)
        elif t["score"] is not None:
            scores[t["question_id"]] = t["score"]
    return scores


def _follow_up_gain(original: GradeResult, follow: GradeResult, target: int) -> float:
    """Score points a follow-up adds: the target key point's credit change, weighted like score_from_judgments."""
    before = next(j for j in original.key_points if j.index == target).status
    after = next((j.status for j in follow.key_points if j.index == target), Status.missed)
    weights = [kp_weight(j.index) for j in original.key_points]
    delta = CREDIT[after] - CREDIT[before]
    return round(max(0.0, 5 * FOLLOW_UP_WEIGHT * weights[target] * delta / sum(weights)), 2)


class _Nodes:
    """The graph's nodes. Each returns the state update of one step; LangGraph checkpoints after every node."""

    def __init__(self, bank: Bank, grade: Grade, offline_grade: Callable[[Question, str], GradeResult]):
        self.bank, self.grade, self.offline_grade = bank, grade, offline_grade

    # -- next: the next item to ask ---------------------------------------------------------------------------
    def next_item(self, state: InterviewState) -> dict:
        lang = state["lang"]
        pending, added = list(state.get("pending", [])), []
        main_pos, block = state.get("main_pos", 0), list(state.get("block_answers", []))
        while True:
            if state.get("quit"):
                return {"current": None, "transcript": added}
            if not pending:
                if main_pos >= len(state["mains"]):
                    return {"current": None, "transcript": added, "pending": [], "main_pos": main_pos}
                q = self.bank.get(state["mains"][main_pos])
                main_pos += 1
                block = []
                text = say(lang, "main", i=main_pos, n=len(state["mains"]), text=q.question)
                pending = [Item(kind="main", question_id=q.id, target=None, text=text)]
            item = pending.pop(0)
            q = self.bank.get(item["question_id"])
            if item["kind"] == "sub" and block and self._already_covered(q, block):
                added.append(
                    _line("interviewer", say(lang, "sub_skipped", text=q.question), "notice", question_id=q.id)
                )
                continue
            added.append(_line("interviewer", item["text"], "question", question_id=q.id, question_kind=item["kind"]))
            return {
                "current": item,
                "pending": pending,
                "main_pos": main_pos,
                "block_answers": block,
                "hints": 0,
                "answer": None,
                "transcript": added,
            }

    def _already_covered(self, q: Question, block: list[str]) -> bool:
        """The sub-question skip rule: the block's answers cover it, as the deterministic grader judges them (the
        same rule with every model)."""
        covered = self.offline_grade(q, "\n".join(block))
        share = sum(j.status is Status.covered for j in covered.key_points) / max(1, len(covered.key_points))
        return (
            (covered.score or 0) >= SKIP_MIN_SCORE
            and share >= SKIP_COVERED_SHARE
            and not any(j.status is Status.contradicted for j in covered.key_points)
        )

    @staticmethod
    def route_next(state: InterviewState) -> str:
        return "ask" if state.get("current") else "finish"

    # -- ask: wait for the answer, serve hints and commands ---------------------------------------------------
    def ask(self, state: InterviewState) -> Command:
        item, lang = state["current"], state["lang"]
        reply = interrupt(
            Waiting(
                question=item["text"],
                kind=item["kind"],
                question_id=item["question_id"],
                hints=state.get("hints", 0),
            )
        )
        added = [_line("candidate", reply, "answer", question_id=item["question_id"])]
        cmd = command_of(reply)
        if cmd == "hint":
            k = state.get("hints", 0) + 1
            if k > MAX_HINTS:
                added.append(_line("interviewer", say(lang, "no_more_hints"), "hint"))
                return Command(goto="ask", update={"transcript": added})
            text = phrasing.hint(lang, self.bank.get(item["question_id"]), item.get("target"), k)
            added.append(
                _line(
                    "interviewer",
                    say(lang, "hint", k=k, m=MAX_HINTS, cap=HINT_CAPS[k], text=text),
                    "hint",
                    question_id=item["question_id"],
                )
            )
            return Command(goto="ask", update={"hints": k, "transcript": added})
        if cmd == "skip":
            added.append(_line("interviewer", say(lang, "skipped"), "notice"))
            return Command(goto="next", update={"turns": [_turn(state, item, None, "skipped")], "transcript": added})
        if cmd == "quit":
            return Command(goto="finish", update={"quit": True, "transcript": added})
        return Command(goto="grade", update={"answer": reply, "transcript": added})

    # -- grade: grade the answer, react, queue what follows ---------------------------------------------------
    def grade_node(self, state: InterviewState) -> dict:
        item, lang, answer = state["current"], state["lang"], state["answer"]
        q = self.bank.get(item["question_id"])
        want_follow_up = item["kind"] != "follow_up"
        result = self._grade(state, q, answer, want_follow_up)
        turn = self._scored_turn(state, item, result)
        reaction = _line(
            "interviewer",
            phrasing.reaction(lang, q, result, item.get("target"), correction=item.get("correction")),
            "reaction",
            question_id=q.id,
            turn=turn["no"],
        )
        follow = self._follow_up(lang, q, result) if want_follow_up else []
        subs = []
        if item["kind"] == "main":
            subs = [
                Item(kind="sub", question_id=s.id, target=None, text=say(lang, "sub", text=s.question))
                for s in self.bank.subs_of(q.id)
                if s.gradable
            ]
        return {
            "turns": [turn],
            "transcript": [reaction],
            "pending": follow + subs + list(state.get("pending", [])),
            "block_answers": list(state.get("block_answers", [])) + [answer],
            "answer": None,
        }

    def _grade(self, state: InterviewState, q: Question, answer: str, want_follow_up: bool) -> GradeResult:
        """The grader's result; the interviewer's words as they stream and the grader's progress go to the stream
        (`draft` and `progress` events) for whoever waits."""
        writer = get_stream_writer()
        try:
            return self.grade(
                q,
                answer,
                state["model"],
                want_follow_up,
                lambda text: writer({"draft": text}),
                lambda text: writer({"progress": text}),
            )
        except PROVIDER_ERRORS as e:  # a provider failure costs this turn its score, never the session
            # (Graders turn their own model errors into unscored results; a bug of ours raises.)
            return GradeResult(
                question_id=q.id,
                grader=state["model"],
                unscored_reason=f"채점하지 못했습니다: {describe_call_error(e)}",
            )

    @staticmethod
    def _scored_turn(state: InterviewState, item: Item, result: GradeResult) -> Turn:
        """The turn with the score that counts: capped by hints; a follow-up's own score is how well it answered
        the key point it targeted (0-5), and what it adds to its question's score."""
        cap = HINT_CAPS[min(state.get("hints", 0), MAX_HINTS)]
        if result.score is None:
            return _turn(state, item, result, "unscored", cap=cap)
        if item["kind"] == "follow_up":
            original = next(
                t
                for t in reversed(state["turns"])
                if t["question_id"] == item["question_id"] and t["kind"] != "follow_up" and t["grade"]
            )
            gain = _follow_up_gain(turn_grade(original), result, item["target"])
            status = next((j.status for j in result.key_points if j.index == item["target"]), Status.missed)
            own = round(5 * max(0.0, CREDIT[status]), 2)
            return _turn(state, item, result, "graded", score=min(cap, own), cap=original["cap"], gain=gain)
        score = min(cap, result.score)
        if score < result.score:
            result.flags.append(f"hint_cap:{state.get('hints', 0)}")
        return _turn(state, item, result, "graded", score=score, cap=cap)

    @staticmethod
    def _follow_up(lang: str, q: Question, result: GradeResult) -> list[Item]:
        """At most one follow-up, on the point `phrasing.follow_up_target` picks: the model's wording when it
        phrased one, else the offline challenge or probe. A challenged claim carries its correction for the
        reaction to the answer."""
        target = phrasing.follow_up_target(result)
        if target is None:
            return []
        judgment = next(j for j in result.key_points if j.index == target)
        text = result.follow_up_question or phrasing.offline_follow_up(lang, q, result, target)
        correction = phrasing.correction_of(q, judgment) if judgment.status is Status.contradicted else None
        return [
            Item(
                kind="follow_up",
                question_id=q.id,
                target=target,
                correction=correction,
                text=say(lang, "follow_up", text=text),
            )
        ]

    # -- finish -----------------------------------------------------------------------------------------------
    @staticmethod
    def finish(state: InterviewState) -> dict:
        lang, added = state["lang"], []
        scores = question_scores(state["turns"])
        if state.get("quit"):
            added.append(_line("interviewer", say(lang, "quit"), "summary"))
        if scores:
            mean = sum(scores.values()) / len(scores)
            added.append(_line("interviewer", say(lang, "end", n=len(scores), mean=f"{mean:.1f}"), "summary"))
        else:
            added.append(_line("interviewer", say(lang, "end_empty"), "summary"))
        return {"done": True, "current": None, "transcript": added}


def _turn(
    state: InterviewState, item: Item, result: GradeResult | None, status: TurnStatus, score=None, cap=5.0, gain=0.0
) -> Turn:
    return Turn(
        no=len(state["turns"]) + 1,
        kind=item["kind"],
        question_id=item["question_id"],
        question=item["text"],
        target=item.get("target"),
        answer=state.get("answer"),
        status=status,
        hints=state.get("hints", 0),
        cap=cap,
        score=score,
        gain=gain,
        grade=result.model_dump(mode="json") if result else None,
        at=now_iso(),
    )


def build_graph(bank: Bank, grade: Grade, offline_grade: Callable[[Question, str], GradeResult], checkpointer: Any):
    nodes = _Nodes(bank, grade, offline_grade)
    g = StateGraph(InterviewState)
    g.add_node("next", nodes.next_item)
    g.add_node("ask", nodes.ask, destinations=("ask", "next", "grade", "finish"))
    g.add_node("grade", nodes.grade_node)
    g.add_node("finish", nodes.finish)
    g.add_edge(START, "next")
    g.add_conditional_edges("next", nodes.route_next, {"ask": "ask", "finish": "finish"})
    g.add_edge("grade", "next")
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer)
