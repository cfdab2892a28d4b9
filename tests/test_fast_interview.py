"""The interview through the service on the fast tier: the graph, sessions, review and report run for real; the grader
is the stub (a key point counts when the answer holds its cue) and the index is built with the fake embedder."""

from typing import TypedDict

import httpx
import openai
import pytest
from langgraph.graph import START, StateGraph
from langgraph.types import interrupt

from interviewer.errors import InterviewerError
from interviewer.grading.schema import kp_weight
from interviewer.interview.phrasing import HINT_CAPS
from interviewer.interview.report import build_report, to_markdown
from interviewer.ui.handlers import chat_messages, grade_markdown

from .conftest import fast_service_for
from .fakes import StubGrader, full_answer

MAIN = "relu-over-sigmoid"  # a main question with sub-questions in the small bank
PLAIN = "dl-vs-ml"  # a main question without any


def cues(q, indices) -> str:
    return " ".join(StubGrader.cue(q, i) for i in indices) + " 입니다."


def test_main_follow_up_then_sub_questions_in_bank_order_and_the_report(fast_service):
    bank = fast_service.bank
    q = bank.get(MAIN)
    n = len(q.key_points)
    out = fast_service.start_interview(questions=[MAIN])
    assert (out.waiting["question_id"], out.waiting["kind"]) == (MAIN, "main")

    # Key points 1 and 2 missed: the score stays below 4, so the interviewer asks about the first missed one.
    out = fast_service.interviews.reply(out.session_id, cues(q, [0] + list(range(3, n))))
    main_turn = out.last_turn
    assert main_turn["status"] == "graded" and main_turn["score"] < 4
    assert [j["status"] for j in main_turn["grade"]["key_points"]][:3] == ["covered", "missed", "missed"]
    assert (out.waiting["question_id"], out.waiting["kind"]) == (MAIN, "follow_up")

    # Recovering key point 1 adds half its weight to the question's score.
    out = fast_service.interviews.reply(out.session_id, cues(q, [1]))
    follow = out.last_turn
    weights = [kp_weight(i) for i in range(n)]
    assert follow["kind"] == "follow_up" and follow["target"] == 1
    assert follow["gain"] == round(5 * 0.5 * weights[1] / sum(weights), 2)

    # Then every gradable sub-question in bank order ("모르겠습니다" earns no follow-up).
    asked = []
    while out.waiting:
        asked.append(out.waiting["question_id"])
        out = fast_service.interviews.reply(out.session_id, "잘 모르겠습니다.")
    assert asked == [s.id for s in bank.subs_of(MAIN) if s.gradable]
    assert out.done

    iv = fast_service.interviews
    report = build_report(iv.meta(out.session_id), iv.values(out.session_id), bank)
    main_row = report["questions"][0]
    assert main_row["question_id"] == MAIN
    assert main_row["score"] == round(min(5.0, main_turn["score"] + follow["gain"]), 2)
    assert [r["score"] for r in report["questions"][1:]] == [0.0] * len(asked)
    assert report["graded"] == 1 + len(asked) and report["status"] == "finished"
    assert report["mean"] == round((main_row["score"] + 0.0 * len(asked)) / (1 + len(asked)), 2)
    assert {t["topic"] for t in report["topics"]} >= set(q.topics)
    md = to_markdown(report)
    assert md.startswith(f"# 면접 리포트 {out.session_id}") and q.question in md


def test_a_sub_question_the_block_already_covers_is_skipped_and_said(fast_service):
    bank = fast_service.bank
    subs = [s for s in bank.subs_of(MAIN) if s.gradable]
    out = fast_service.start_interview(questions=[MAIN])
    out = fast_service.interviews.reply(out.session_id, full_answer(bank.get(MAIN)) + " " + full_answer(subs[0]))
    assert out.last_turn["score"] == 5.0  # nothing missed: no follow-up
    notices = [line["text"] for line in out.new if line["kind"] == "notice"]
    assert any(subs[0].question in text for text in notices)
    assert out.waiting["question_id"] == subs[1].id


def test_hints_cap_the_score_and_the_cap_is_flagged(fast_service):
    q = fast_service.bank.get(PLAIN)
    out = fast_service.start_interview(questions=[PLAIN])
    for _ in range(2):
        out = fast_service.interviews.reply(out.session_id, "힌트")
    assert [line["kind"] for line in out.transcript].count("hint") == 2
    out = fast_service.interviews.reply(out.session_id, full_answer(q))
    assert out.last_turn["score"] == HINT_CAPS[2] and out.last_turn["hints"] == 2
    assert "hint_cap:2" in out.last_turn["grade"]["flags"]


def test_a_provider_failure_costs_the_turn_its_score_not_the_session(fast_template, tmp_path):
    class Unreachable(StubGrader):
        def grade(self, q, answer, **kw):
            if "BOOM" in answer:
                raise openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1"))
            return super().grade(q, answer, **kw)

    svc = fast_service_for(fast_template, tmp_path / "data", Unreachable())
    out = svc.start_interview(questions=[PLAIN, MAIN])
    out = svc.interviews.reply(out.session_id, "BOOM 답변")
    assert out.last_turn["status"] == "unscored" and out.last_turn["score"] is None
    assert "연결할 수 없습니다" in out.last_turn["grade"]["unscored_reason"]
    assert out.waiting["question_id"] == MAIN and not out.done


def test_skip_quit_resume_after_a_restart_list_and_delete(fast_template, fast_service, tmp_path):
    out = fast_service.start_interview(questions=[PLAIN, MAIN])
    sid = out.session_id
    out = fast_service.interviews.reply(sid, "패스")
    assert out.last_turn["status"] == "skipped" and out.waiting["question_id"] == MAIN

    # Another process on the same data folder finds the session where it was.
    again = fast_service_for(fast_template, fast_service.settings.data_dir, StubGrader())
    assert again.interviews.resume(sid).waiting["question_id"] == MAIN
    out = again.interviews.reply(sid, "종료")
    assert out.done and again.interviews.meta(sid)["status"] == "stopped"
    with pytest.raises(InterviewerError, match="끝난"):
        again.interviews.reply(sid, "답")

    rows = again.interviews.list_sessions()
    assert [(r["id"], r["graded"], r["mean"]) for r in rows] == [(sid, 0, None)]
    again.interviews.delete(sid)
    assert again.interviews.list_sessions() == []
    with pytest.raises(InterviewerError, match="세션을 찾을 수 없습니다"):
        again.interviews.resume(sid)


def test_review_asks_the_weakest_question_first(fast_service):
    bank = fast_service.bank
    mains = [q.id for q in bank.mains() if q.gradable]
    weak, strong = mains[0], mains[1]
    out = fast_service.start_interview(questions=[weak, strong])
    out = fast_service.interviews.reply(out.session_id, "잘 모르겠습니다.")
    while out.waiting and out.waiting["question_id"] != strong:  # the weak question's sub-questions, if any
        out = fast_service.interviews.reply(out.session_id, "패스")
    fast_service.interviews.reply(out.session_id, full_answer(bank.get(strong)))
    review = fast_service.start_interview(review=True, count=1)
    assert review.waiting["question_id"] == weak


def test_a_bug_in_the_grader_raises_instead_of_becoming_an_unscored_turn(fast_template, tmp_path):
    class Broken(StubGrader):
        def grade(self, q, answer, **kw):
            raise KeyError("a bug of ours, not the model server's")

    svc = fast_service_for(fast_template, tmp_path / "data", Broken())
    out = svc.start_interview(questions=[PLAIN])
    with pytest.raises(KeyError):
        svc.interviews.reply(out.session_id, "답변")


def test_each_step_adds_its_own_lines_and_turns_once_in_order(fast_service):
    """`turns` and `transcript` grow through reducers: a step's new lines are exactly what it said (nothing before
    it comes again), the stored state holds each line once, and a turn's `no` is its place in `turns`."""
    bank, iv = fast_service.bank, fast_service.interviews
    q, plain = bank.get(MAIN), bank.get(PLAIN)
    n = len(q.key_points)
    out = fast_service.start_interview(questions=[MAIN, PLAIN])
    sid = out.session_id
    assert [line["kind"] for line in out.transcript] == ["notice", "question"]
    steps = [
        ("힌트", ["answer", "hint"]),
        (cues(q, [0] + list(range(3, n))), ["answer", "reaction", "question"]),  # then the follow-up on point 1
        (cues(q, [1]), ["answer", "reaction", "question"]),  # then the first sub-question
    ]
    skipped_subs = 0
    while True:
        text, kinds = steps.pop(0) if steps else ("패스", ["answer", "notice", "question"])
        earlier = out.transcript
        out = iv.reply(sid, text)
        assert [line["kind"] for line in out.new] == kinds
        assert out.transcript == earlier + out.new
        skipped_subs += text == "패스"
        if out.waiting["question_id"] == PLAIN:
            break
    assert skipped_subs == len([s for s in bank.subs_of(MAIN) if s.gradable])
    out = iv.reply(sid, full_answer(plain))
    assert [line["kind"] for line in out.new] == ["answer", "reaction", "summary"] and out.done

    assert iv.values(sid)["transcript"] == out.transcript
    assert len(out.transcript) == 2 + 2 + 3 + 3 + 3 * skipped_subs + 3
    turns = out.turns
    assert [t["no"] for t in turns] == list(range(1, len(turns) + 1))
    assert [(t["kind"], t["status"]) for t in turns] == [
        ("main", "graded"),
        ("follow_up", "graded"),
        *[("sub", "skipped")] * skipped_subs,
        ("main", "graded"),
    ]
    reactions = [line for line in out.transcript if line["kind"] == "reaction"]
    assert [turns[line["turn"] - 1]["question_id"] for line in reactions] == [MAIN, MAIN, PLAIN]


class _StateBeforeReducers(TypedDict, total=False):
    """The interview state as versions before the reducers declared it: every key holds the last value written."""

    session_id: str
    model: str
    lang: str
    mains: list[str]
    main_pos: int
    pending: list[dict]
    current: dict | None
    hints: int
    answer: str | None
    block_answers: list[str]
    turns: list[dict]
    transcript: list[dict]
    done: bool
    quit: bool


def _checkpoint_as_before_reducers(saver, sid: str, values: dict) -> None:
    """Checkpoint `values` the way an older version did: its nodes returned the whole transcript copied, and `ask`
    waited for the answer (the one place a session is saved mid-interview)."""

    def ask(state):
        item = state["current"]
        interrupt({"question": item["text"], "kind": item["kind"], "question_id": item["question_id"], "hints": 0})

    g = StateGraph(_StateBeforeReducers)
    g.add_node("next", lambda state: {"transcript": list(state["transcript"])})
    g.add_node("ask", ask)
    g.add_node("finish", lambda state: {"done": True})
    g.add_edge(START, "next")
    g.add_conditional_edges("next", lambda state: "ask", {"ask": "ask", "finish": "finish"})
    g.compile(checkpointer=saver).invoke(values, {"configurable": {"thread_id": sid}})


def test_a_session_saved_before_the_reducers_resumes_without_doubled_lines(fast_service):
    bank, iv = fast_service.bank, fast_service.interviews
    out = fast_service.start_interview(questions=[PLAIN, MAIN])
    sid = out.session_id
    out = iv.reply(sid, full_answer(bank.get(PLAIN)))
    saved = iv.values(sid)
    assert saved["current"]["question_id"] == MAIN and len(saved["turns"]) == 1
    iv.saver.delete_thread(sid)
    _checkpoint_as_before_reducers(iv.saver, sid, saved)

    resumed = iv.resume(sid)
    assert resumed.transcript == saved["transcript"] and resumed.turns == saved["turns"]
    assert resumed.waiting["question_id"] == MAIN
    out = iv.reply(sid, full_answer(bank.get(MAIN)))
    assert [line["kind"] for line in out.new][:2] == ["answer", "reaction"]
    assert out.transcript == saved["transcript"] + out.new
    assert out.turns[0] == saved["turns"][0] and [t["no"] for t in out.turns] == [1, 2]
    out = iv.reply(sid, "종료")
    assert [line["kind"] for line in out.new] == ["answer", "summary", "summary"] and out.done
    assert iv.values(sid)["transcript"] == out.transcript and len(iv.values(sid)["turns"]) == 2

    # The old turns render everywhere a turn is read.
    report = build_report(iv.meta(sid), iv.values(sid), bank)
    assert [r["question_id"] for r in report["questions"]] == [PLAIN, MAIN] and report["graded"] == 2
    assert to_markdown(report).count("\n### ") == 2
    assert grade_markdown(out.turns[0]).startswith(f"**{saved['turns'][0]['question']}**")
    assert len(chat_messages(out.transcript, out.turns)) == len(out.transcript)
