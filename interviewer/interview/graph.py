"""The interview as a LangGraph graph: next → ask (interrupt for the answer) → grade → next … → finish.

Grading happens in its own node, so once `grade` has finished its result is in a checkpoint: a process killed
afterwards resumes at the following question and no graded turn is lost. `ask` only waits and routes, because a
node that is resumed runs again from its start."""

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from ..bank import Bank, Question
from ..models import describe_call_error
from ..grading.schema import CREDIT, GradeResult, Status
from . import phrasing
from .phrasing import HINT_CAPS, MAX_HINTS, say

Kind = Literal["main", "sub", "follow_up"]
# Sub-question skip rule: the block's answers already cover it, as judged by the deterministic grader.
SKIP_COVERED_SHARE, SKIP_MIN_SCORE = 0.75, 4.0
# A key point recovered only when asked again counts half: it needed prompting.
FOLLOW_UP_WEIGHT = 0.5

COMMANDS = {"hint": {"힌트", "hint", "/hint"}, "skip": {"패스", "skip", "pass", "/skip"},
            "quit": {"종료", "quit", "exit", "/quit"}}


def command_of(text: str) -> str | None:
    word = text.strip().lower().rstrip(".!")
    return next((c for c, words in COMMANDS.items() if word in words), None)


class InterviewState(TypedDict, total=False):
    session_id: str
    model: str
    lang: str
    mains: list[str]
    main_pos: int
    pending: list[dict]       # items still to ask in this main question's block
    current: dict | None      # {"kind", "question_id", "target", "text"}
    hints: int
    answer: str | None
    block_answers: list[str]  # answers given in the current main block (for the sub-question skip rule)
    turns: list[dict]
    transcript: list[dict]
    done: bool
    quit: bool


# (question, answer, model spec, want a follow-up phrased, stream callback for the interviewer's words or None)
Grade = Callable[[Question, str, str, bool, Callable[[str], None] | None], GradeResult]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _line(role: str, text: str, kind: str, **extra) -> dict:
    return {"role": role, "text": text, "kind": kind, "at": _now(), **extra}


def question_scores(turns: list[dict]) -> dict[str, float]:
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
    weights = [max(0.6, 1.0 - 0.1 * j.index) for j in original.key_points]
    delta = CREDIT[after] - CREDIT[before]
    return round(max(0.0, 5 * FOLLOW_UP_WEIGHT * weights[target] * delta / sum(weights)), 2)


def build_graph(bank: Bank, grade: Grade, offline_grade: Callable[[Question, str], GradeResult],
                checkpointer: Any):
    def next_item(state: InterviewState) -> dict:
        lang = state["lang"]
        pending, transcript = list(state.get("pending", [])), list(state["transcript"])
        main_pos, block = state.get("main_pos", 0), list(state.get("block_answers", []))
        while True:
            if state.get("quit"):
                return {"current": None, "transcript": transcript}
            if not pending:
                if main_pos >= len(state["mains"]):
                    return {"current": None, "transcript": transcript, "pending": [], "main_pos": main_pos}
                q = bank.get(state["mains"][main_pos])
                main_pos += 1
                block = []
                text = say(lang, "main", i=main_pos, n=len(state["mains"]), text=q.question)
                pending = [{"kind": "main", "question_id": q.id, "target": None, "text": text}]
            item = pending.pop(0)
            q = bank.get(item["question_id"])
            if item["kind"] == "sub" and block:
                covered = offline_grade(q, "\n".join(block))
                share = sum(j.status is Status.covered for j in covered.key_points) / max(1, len(covered.key_points))
                if (covered.score or 0) >= SKIP_MIN_SCORE and share >= SKIP_COVERED_SHARE and not any(
                        j.status is Status.contradicted for j in covered.key_points):
                    transcript.append(_line("interviewer", say(lang, "sub_skipped", text=q.question), "notice",
                                            question_id=q.id))
                    continue
            transcript.append(_line("interviewer", item["text"], "question", question_id=q.id,
                                    question_kind=item["kind"]))
            return {"current": item, "pending": pending, "main_pos": main_pos, "block_answers": block,
                    "hints": 0, "answer": None, "transcript": transcript}

    def route_next(state: InterviewState) -> str:
        return "ask" if state.get("current") else "finish"

    def ask(state: InterviewState) -> Command:
        item, lang = state["current"], state["lang"]
        reply = interrupt({"question": item["text"], "kind": item["kind"], "question_id": item["question_id"],
                           "hints": state.get("hints", 0)})
        transcript = list(state["transcript"])
        transcript.append(_line("candidate", reply, "answer", question_id=item["question_id"]))
        cmd = command_of(reply)
        if cmd == "hint":
            k = state.get("hints", 0) + 1
            if k > MAX_HINTS:
                transcript.append(_line("interviewer", say(lang, "no_more_hints"), "hint"))
                return Command(goto="ask", update={"transcript": transcript})
            text = phrasing.hint(lang, bank.get(item["question_id"]), item.get("target"), k)
            transcript.append(_line("interviewer", say(lang, "hint", k=k, m=MAX_HINTS, cap=HINT_CAPS[k], text=text),
                                    "hint", question_id=item["question_id"]))
            return Command(goto="ask", update={"hints": k, "transcript": transcript})
        if cmd == "skip":
            transcript.append(_line("interviewer", say(lang, "skipped"), "notice"))
            turns = state["turns"] + [_turn(state, item, None, "skipped")]
            return Command(goto="next", update={"turns": turns, "transcript": transcript})
        if cmd == "quit":
            return Command(goto="finish", update={"quit": True, "transcript": transcript})
        return Command(goto="grade", update={"answer": reply, "transcript": transcript})

    def _turn(state, item, result: GradeResult | None, status: str, score=None, cap=5.0, gain=0.0) -> dict:
        return {"no": len(state["turns"]) + 1, "kind": item["kind"], "question_id": item["question_id"],
                "question": item["text"], "target": item.get("target"), "answer": state.get("answer"),
                "status": status, "hints": state.get("hints", 0), "cap": cap, "score": score, "gain": gain,
                "grade": result.model_dump(mode="json") if result else None, "at": _now()}

    def grade_node(state: InterviewState) -> dict:
        item, lang, answer = state["current"], state["lang"], state["answer"]
        q = bank.get(item["question_id"])
        want_follow_up = item["kind"] != "follow_up"
        writer = get_stream_writer()
        try:
            result = grade(q, answer, state["model"], want_follow_up, lambda text: writer({"draft": text}))
        except Exception as e:  # a grader failure costs this turn its score, never the session
            result = GradeResult(question_id=q.id, grader=state["model"],
                                 unscored_reason=f"채점하지 못했습니다: {describe_call_error(e)}")
        cap = HINT_CAPS[min(state.get("hints", 0), MAX_HINTS)]
        transcript, pending = list(state["transcript"]), list(state.get("pending", []))
        block = list(state.get("block_answers", [])) + [answer]
        if result.score is None:
            turn = _turn(state, item, result, "unscored", cap=cap)
        elif item["kind"] == "follow_up":
            original = next(t for t in reversed(state["turns"])
                            if t["question_id"] == q.id and t["kind"] != "follow_up" and t["grade"])
            gain = _follow_up_gain(GradeResult.model_validate(original["grade"]), result, item["target"])
            # The turn's own score is how well the targeted key point was answered now (0-5).
            status = next((j.status for j in result.key_points if j.index == item["target"]), Status.missed)
            own = round(5 * max(0.0, CREDIT[status]), 2)
            turn = _turn(state, item, result, "graded", score=min(cap, own), cap=original["cap"], gain=gain)
        else:
            score = min(cap, result.score)
            if score < result.score:
                result.flags.append(f"hint_cap:{state.get('hints', 0)}")
            turn = _turn(state, item, result, "graded", score=score, cap=cap)
        transcript.append(_line("interviewer", phrasing.reaction(lang, q, result, item.get("target")), "reaction",
                                question_id=q.id, turn=turn["no"]))
        follow = []
        target = phrasing.follow_up_target(result) if want_follow_up else None
        if target is not None:
            text = result.follow_up_question or phrasing.offline_follow_up(lang, q, result, target)
            follow = [{"kind": "follow_up", "question_id": q.id, "target": target,
                       "text": say(lang, "follow_up", text=text)}]
        subs = []
        if item["kind"] == "main":
            subs = [{"kind": "sub", "question_id": s.id, "target": None, "text": say(lang, "sub", text=s.question)}
                    for s in bank.subs_of(q.id) if s.gradable]
        return {"turns": state["turns"] + [turn], "transcript": transcript, "pending": follow + subs + pending,
                "block_answers": block, "answer": None}

    def finish(state: InterviewState) -> dict:
        lang, transcript = state["lang"], list(state["transcript"])
        scores = question_scores(state["turns"])
        if state.get("quit"):
            transcript.append(_line("interviewer", say(lang, "quit"), "summary"))
        if scores:
            mean = sum(scores.values()) / len(scores)
            transcript.append(_line("interviewer", say(lang, "end", n=len(scores), mean=f"{mean:.1f}"), "summary"))
        else:
            transcript.append(_line("interviewer", say(lang, "end_empty"), "summary"))
        return {"done": True, "current": None, "transcript": transcript}

    g = StateGraph(InterviewState)
    g.add_node("next", next_item)
    g.add_node("ask", ask, destinations=("ask", "next", "grade", "finish"))
    g.add_node("grade", grade_node)
    g.add_node("finish", finish)
    g.add_edge(START, "next")
    g.add_conditional_edges("next", route_next, {"ask": "ask", "finish": "finish"})
    g.add_edge("grade", "next")
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer)
