"""The interview graph over the real bank and the real offline grader; LLM turns use langchain's fake chat model."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from interviewer.errors import InterviewerError
from interviewer.grading.llm import LLMGrader
from interviewer.interview import Interviews
from interviewer.interview.graph import question_scores
from interviewer.interview.phrasing import HINT_CAPS
from interviewer.interview.plan import choose_mains
from interviewer.interview.report import build_report, to_markdown
from interviewer.interview.schedule import EF_MIN, Card, replay, review_order

from .conftest import ROOT

MAIN = "relu-over-sigmoid"  # a main question with four sub-questions
Q = "weight-initialization"  # a main question without sub-questions


@pytest.fixture()
def interviews(full_service, tmp_path):
    iv = Interviews(
        full_service.bank,
        full_service._interview_grade,
        full_service.offline_grader.grade,
        tmp_path / "sessions.sqlite",
    )
    yield iv
    iv.close()


def excellent(bank, qid: str) -> str:
    return bank.get(qid).reference


def thin(bank, qid: str) -> str:
    """Only the first key point: a partial answer that misses the rest."""
    return bank.get(qid).key_points[0].point


def test_main_then_sub_questions_in_bank_order(interviews, full_service):
    bank = full_service.bank
    out = interviews.start(questions=[MAIN])
    assert out.waiting["question_id"] == MAIN and out.waiting["kind"] == "main"
    while not out.done:
        out = interviews.reply(out.session_id, excellent(bank, out.waiting["question_id"]))
    # Every sub-question is either asked or announced as skipped, in the bank's order.
    reached = [
        line["question_id"]
        for line in out.transcript
        if line["kind"] in ("question", "notice") and line.get("question_id")
    ]
    assert reached == [MAIN] + [s.id for s in bank.subs_of(MAIN)]
    assert all(t["status"] == "graded" and t["score"] >= 3.5 for t in out.turns)
    assert out.transcript[-1]["kind"] == "summary"


def test_sub_question_already_covered_is_skipped_and_said(interviews, full_service):
    bank = full_service.bank
    first_sub = bank.subs_of(MAIN)[0]
    out = interviews.start(questions=[MAIN])
    out = interviews.reply(out.session_id, excellent(bank, MAIN) + "\n" + excellent(bank, first_sub.id))
    notices = [line for line in out.new if line["kind"] == "notice"]
    assert any(first_sub.question in line["text"] and "건너뜁니다" in line["text"] for line in notices)
    assert out.waiting["question_id"] in [s.id for s in bank.subs_of(MAIN)[1:]]


def test_sub_question_not_covered_is_asked(interviews, full_service):
    bank = full_service.bank
    out = interviews.start(questions=[MAIN])
    out = interviews.reply(out.session_id, thin(bank, MAIN))
    if out.waiting["kind"] == "follow_up":
        out = interviews.reply(out.session_id, "패스")
    assert out.waiting["question_id"] == bank.subs_of(MAIN)[0].id
    assert not any(line["kind"] == "notice" and "건너뜁니다" in line["text"] for line in out.transcript)


def test_missed_key_point_earns_one_follow_up_that_can_recover_credit(interviews, full_service):
    bank = full_service.bank
    q = bank.get(Q)
    out = interviews.start(questions=[Q])
    out = interviews.reply(out.session_id, thin(bank, Q))
    main_turn = out.last_turn
    assert out.waiting["kind"] == "follow_up" and out.waiting["question_id"] == Q
    values = interviews.values(out.session_id)
    target = values["current"]["target"]
    missed = [j for j in main_turn["grade"]["key_points"] if j["status"] in ("missed", "contradicted")]
    assert target == missed[0]["index"]
    assert q.key_points[target].point not in out.waiting["question"]  # the question does not give the point away
    out = interviews.reply(out.session_id, q.key_points[target].point + " " + " ".join(q.key_points[target].terms))
    follow = out.last_turn
    assert follow["kind"] == "follow_up" and follow["gain"] > 0
    assert question_scores(out.turns)[Q] == pytest.approx(min(5, main_turn["score"] + follow["gain"]))
    # At most one follow-up per question: the next item is not another follow-up on dropout.
    assert not out.waiting or out.waiting["kind"] != "follow_up"


def test_hints_cap_the_score_and_the_ladder_ends(interviews, full_service):
    bank = full_service.bank
    out = interviews.start(questions=[Q])
    sid = out.session_id
    out = interviews.reply(sid, "힌트")
    assert "힌트 1/3" in out.new[-1]["text"]
    out = interviews.reply(sid, "hint")
    assert "힌트 2/3" in out.new[-1]["text"] and out.waiting["hints"] == 2
    out = interviews.reply(sid, excellent(bank, Q))
    turn = out.last_turn
    assert turn["hints"] == 2 and turn["grade"]["score"] > HINT_CAPS[2]
    assert turn["score"] == HINT_CAPS[2] and "hint_cap:2" in turn["grade"]["flags"]


def test_hint_ladder_has_an_end(interviews):
    out = interviews.start(questions=[Q])
    for _ in range(3):
        out = interviews.reply(out.session_id, "힌트")
    out = interviews.reply(out.session_id, "힌트")
    assert "더 드릴 힌트가 없습니다" in out.new[-1]["text"] and out.waiting["hints"] == 3


def test_dont_know_gets_a_kind_reply_with_the_model_answer_and_no_praise(interviews, full_service):
    out = interviews.start(questions=[Q, MAIN])
    out = interviews.reply(out.session_id, "잘 모르겠습니다.")
    reaction = next(line for line in out.new if line["kind"] == "reaction")
    assert "괜찮습니다" in reaction["text"] and "좋습니다" not in reaction["text"]
    assert full_service.bank.get(Q).reference.split()[0] in reaction["text"]
    assert out.last_turn["grade"]["dont_know"] and out.waiting["question_id"] == MAIN  # no follow-up


def test_skip_and_quit_commands(interviews):
    out = interviews.start(questions=[Q, MAIN])
    out = interviews.reply(out.session_id, "패스")
    assert out.last_turn["status"] == "skipped" and out.last_turn["score"] is None
    assert out.waiting["question_id"] == MAIN
    out = interviews.reply(out.session_id, "quit")
    assert out.done and out.waiting is None
    assert interviews.meta(out.session_id)["status"] == "stopped"
    with pytest.raises(InterviewerError, match="끝난"):
        interviews.reply(out.session_id, "답")


@pytest.mark.parametrize("text, message", [("", "비어"), ("   \n", "비어"), ("가" * 4001, "너무 깁니다")])
def test_unusable_answer_is_refused_and_the_session_is_unchanged(interviews, text, message):
    out = interviews.start(questions=[Q])
    before = interviews.values(out.session_id)
    with pytest.raises(InterviewerError, match=message):
        interviews.reply(out.session_id, text)
    assert interviews.values(out.session_id) == before
    assert interviews.resume(out.session_id).waiting["question_id"] == Q


def test_binary_and_emoji_answers_are_graded_not_crashed(interviews):
    out = interviews.start(questions=[Q, MAIN])
    out = interviews.reply(out.session_id, "\x00\x01\x02 🙂🙂 드롭아웃 \ufffd")
    assert out.last_turn["status"] in ("graded", "unscored")


def test_unknown_session_is_a_clear_error(interviews):
    with pytest.raises(InterviewerError, match="세션을 찾을 수 없습니다"):
        interviews.resume("nope")


def _llm_turn(n: int, statuses: list[str], follow_up: str) -> dict:
    return {
        "key_points": [{"status": s, "evidence": ""} for s in statuses[:n]],
        "off_topic": False,
        "dont_know": False,
        "wrong_claims": [],
        "feedback_good": "핵심 하나를 설명했습니다.",
        "feedback_missing": "나머지가 빠졌습니다.",
        "follow_up_question": follow_up,
    }


def test_llm_mode_one_call_per_turn_gives_grade_and_follow_up(full_service, tmp_path, fake_llm):
    bank = full_service.bank
    n = len(bank.get(Q).key_points)
    statuses = ["covered"] + ["missed"] * (n - 1)
    model = fake_llm(
        _llm_turn(n, statuses, "앙상블 관점에서는 어떻게 해석할 수 있을까요?"), _llm_turn(n, ["covered"] * n, "")
    )
    grader = LLMGrader(model, "fake", full_service.offline_grader, full_service.settings.prompts_dir)
    calls = []

    def grade(q, answer, spec, follow_up, on_text, progress):
        calls.append(follow_up)
        return grader.grade(q, answer, follow_up=follow_up, on_text=on_text, progress=progress)

    iv = Interviews(bank, grade, full_service.offline_grader.grade, tmp_path / "s.sqlite")
    out = iv.start(questions=[Q], model="fake")
    out = iv.reply(out.session_id, thin(bank, Q))
    assert out.last_turn["grade"]["grader"] == "fake" and calls == [True]
    assert out.waiting["kind"] == "follow_up" and "앙상블 관점" in out.waiting["question"]
    out = iv.reply(out.session_id, "여러 서브네트워크를 평균하는 앙상블 효과가 있습니다.")
    assert calls == [True, False] and out.last_turn["gain"] > 0 and out.done


def test_llm_turn_streams_the_interviewers_words(full_service, tmp_path, fake_llm):
    bank = full_service.bank
    n = len(bank.get(Q).key_points)
    follow = "대칭성이 깨지지 않으면 어떤 일이 생길까요?"
    model = fake_llm(_llm_turn(n, ["covered"] + ["missed"] * (n - 1), follow))
    grader = LLMGrader(model, "fake", full_service.offline_grader, full_service.settings.prompts_dir)
    iv = Interviews(
        bank,
        lambda q, a, s, f, cb, pg: grader.grade(q, a, follow_up=f, on_text=cb),
        full_service.offline_grader.grade,
        tmp_path / "s.sqlite",
    )
    out = iv.start(questions=[Q], model="fake")
    events = list(iv.reply_stream(out.session_id, thin(bank, Q)))
    drafts, final = events[:-1], events[-1]
    assert len(drafts) >= 3 and all(isinstance(d, str) for d in drafts)
    assert all(len(a) <= len(b) for a, b in zip(drafts, drafts[1:]))  # each draft extends the last
    assert drafts[-1].endswith(follow) and "핵심 하나를 설명했습니다." in drafts[0] + drafts[-1]
    assert final.waiting["kind"] == "follow_up" and follow in final.waiting["question"]


def test_grader_failure_is_unscored_and_the_interview_goes_on(full_service, tmp_path, fake_llm):
    bank = full_service.bank
    grader = LLMGrader(
        fake_llm(httpx.ConnectError("server down")),
        "fake",
        full_service.offline_grader,
        full_service.settings.prompts_dir,
    )
    iv = Interviews(
        bank,
        lambda q, a, s, f, cb, pg: grader.grade(q, a, follow_up=f, on_text=cb),
        full_service.offline_grader.grade,
        tmp_path / "s.sqlite",
    )
    out = iv.start(questions=[Q, MAIN], model="fake")
    out = iv.reply(out.session_id, thin(bank, Q))
    assert out.last_turn["status"] == "unscored" and out.last_turn["score"] is None
    assert "채점하지 못했습니다" in out.new[-2]["text"] and out.waiting["question_id"] == MAIN
    assert Q not in question_scores(out.turns)  # never a fake 0


_KILLED_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from interviewer.service import Service
    from interviewer.settings import Settings
    svc = Service(Settings(data_dir=Path(sys.argv[1])))
    out = svc.interviews.start(questions=["weight-initialization", "{main}"])
    out = svc.interviews.reply(out.session_id, svc.bank.get("weight-initialization").reference)
    print(out.session_id, flush=True)
    time.sleep(600)
""").replace("{main}", MAIN)


def test_session_survives_a_killed_process(full_service, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_CHILD, str(full_service.settings.data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        sid = child.stdout.readline().strip()
        assert sid, "the child did not start a session"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    iv = full_service.interviews
    out = iv.resume(sid)
    assert [t["question_id"] for t in out.turns] == [Q] and out.turns[0]["status"] == "graded"
    assert not out.done and out.waiting is not None
    out = iv.reply(sid, "패스")
    assert len(out.turns) == 2


def test_sessions_are_listed_reported_and_deleted(interviews, full_service):
    bank = full_service.bank
    out = interviews.start(questions=[Q])
    out = interviews.reply(out.session_id, excellent(bank, Q))
    sid = out.session_id
    row = interviews.meta(sid)
    assert row["graded"] == 1 and row["mean"] == out.turns[0]["score"]
    report = build_report(row, interviews.values(sid), bank)
    assert report["questions"][0]["question_id"] == Q
    assert report["questions"][0]["key_points"] and report["questions"][0]["model_answer"]
    assert {t["topic"] for t in report["topics"]} == set(bank.get(Q).topics)
    md = to_markdown(report)
    assert "## 주제별 평균" in md and bank.get(Q).question in md
    interviews.delete(sid)
    assert sid not in [r["id"] for r in interviews.list_sessions()]
    assert Q not in interviews.cards()
    with pytest.raises(InterviewerError):
        interviews.resume(sid)


def test_concurrent_sessions_never_mix(interviews, full_service):
    bank = full_service.bank
    qids = [q.id for q in bank.mains() if q.gradable][:20]
    results: dict[str, object] = {}

    def run(qid):
        out = interviews.start(questions=[qid])
        out = interviews.reply(out.session_id, f"{qid} " + excellent(bank, qid)[:200])
        results[qid] = out

    threads = [threading.Thread(target=run, args=(q,)) for q in qids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({o.session_id for o in results.values()}) == 20
    for qid, out in results.items():
        values = interviews.values(out.session_id)
        assert values["turns"][0]["question_id"] == qid and values["turns"][0]["answer"].startswith(qid)


# -- spaced repetition --------------------------------------------------------------------------------------------
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_sm2_intervals_grow_with_good_recall():
    c = Card("q")
    intervals, efs = [], []
    for day in range(3):
        c = c.review(5, T0 + timedelta(days=day))
        intervals.append(c.interval)
        efs.append(c.ef)
    assert intervals == [1, 6, round(6 * 2.7)] and efs == [2.6, 2.7, 2.8]
    assert c.due == T0 + timedelta(days=2 + 16)


def test_sm2_failure_resets_and_easiness_has_a_floor():
    c = Card("q").review(5, T0).review(4, T0 + timedelta(days=1))
    assert c.reps == 2 and c.interval == 6
    c = c.review(1, T0 + timedelta(days=7))
    assert c.reps == 0 and c.interval == 1
    for i in range(10):
        c = c.review(0, T0 + timedelta(days=8 + i))
    assert c.ef == EF_MIN


def test_review_orders_due_and_weakest_first(full_service):
    now = T0 + timedelta(days=3)
    cards = replay(
        [
            ("overfitting", 4.0, T0),
            ("dropout", 1.0, T0),
            ("optimizers", 0.5, T0 + timedelta(days=3)),
            ("dl-vs-ml", 5.0, T0),
            ("dl-vs-ml", 5.0, T0 + timedelta(days=1)),
        ]
    )
    order = [c.question_id for c in review_order(cards, now)]
    assert order[:2] == ["dropout", "overfitting"]  # due now, weaker first
    assert order[2:] == ["optimizers", "dl-vs-ml"]  # not yet due, weaker first
    mains = choose_mains(full_service.bank, count=4, review=cards, now=now, seed=1)
    # dropout is a sub-question of batch-normalization, so that main question comes first
    assert mains == ["batch-normalization", "overfitting", "optimizers", "dl-vs-ml"]
    with pytest.raises(InterviewerError, match="복습할 기록"):
        choose_mains(full_service.bank, review={})


def test_unknown_topic_and_empty_selection_are_clear(full_service):
    with pytest.raises(InterviewerError, match="없는 주제"):
        choose_mains(full_service.bank, topics=["quantum"])


# -- follow-ups by priority ---------------------------------------------------------------------------------------
BN = "batch-normalization"
WRONG_BN = "BN은 학습 파라미터가 없는 전처리라서 입력을 평균 0, 분산 1로 고정해 버립니다"


def _scripted(bank, judged: dict[str, dict[int, tuple]]):
    """A grade function that returns scripted judgments per answer, {key point: (status, evidence, support_ids)}
    (the rest missed), and reports its progress like a checklist judge."""
    from interviewer.grading.feedback import build_feedback
    from interviewer.grading.schema import GradeResult, KeyPointJudgment, Status, score_from_judgments

    def grade(q, answer, spec, follow_up, on_text, progress):
        script = judged.get(answer, {})
        judgments = []
        for i, kp in enumerate(q.key_points):
            status, evidence, support = script.get(i, ("missed", None, []))
            judgments.append(
                KeyPointJudgment(index=i, point=kp.point, status=Status(status), evidence=evidence, support_ids=support)
            )
            if progress:
                progress(f"핵심 포인트 {i + 1}/{len(q.key_points)} 확인 중")
        return GradeResult(
            question_id=q.id,
            score=score_from_judgments(judgments),
            key_points=judgments,
            feedback=build_feedback(q, judgments),
            grader="scripted",
        )

    return grade


@pytest.fixture()
def scripted(full_service, tmp_path):
    def make(judged):
        return Interviews(
            full_service.bank,
            _scripted(full_service.bank, judged),
            full_service.offline_grader.grade,
            tmp_path / "scripted.sqlite",
        )

    return make


def _bn_pitfall(bank) -> tuple[int, int]:
    """(misconception, the key point it contradicts) of batch-normalization: one written against a later point, so
    an earlier point can be missed."""
    q = bank.get(BN)
    return next((j, p.key_point) for j, p in enumerate(q.pitfalls) if p.key_point and p.correction)


def _wrong_bn(bank) -> dict:
    """The wrong answer's script: the contradicted point, the one before it missed, a later one covered."""
    j, kp = _bn_pitfall(bank)
    return {
        WRONG_BN: {
            kp: ("contradicted", WRONG_BN, [f"{BN}:pitfall:{j}", f"{BN}:correction:{j}"]),
            kp + 1: ("covered", "학습이 빨라집니다", []),
        }
    }


def test_a_contradicted_point_is_challenged_before_a_missed_one(scripted, full_service):
    q = full_service.bank.get(BN)
    j, kp = _bn_pitfall(full_service.bank)
    correction_answer = "정규화한 뒤 학습 가능한 값으로 다시 변환합니다."
    iv = scripted({**_wrong_bn(full_service.bank), correction_answer: {kp: ("covered", correction_answer, [])}})
    out = iv.start(questions=[BN])
    out = iv.reply(out.session_id, WRONG_BN)
    assert out.waiting["kind"] == "follow_up"
    item = iv.values(out.session_id)["current"]
    assert item["target"] == kp  # the contradicted point, although an earlier, more important one was missed
    text = out.waiting["question"]
    assert WRONG_BN in text and "정말" in text  # the claim is challenged in the candidate's own words ...
    assert q.pitfalls[j].correction not in text and q.key_points[kp].point not in text  # ... without the answer
    assert "언급하지 않으셨는데요" not in text
    reaction = next(line for line in out.new if line["kind"] == "reaction")["text"]
    assert "좋습니다" not in reaction and "사실과 다" in reaction  # a wrong claim is never praised
    # The follow-up's answer is graded against the point it targets; a recovered point adds to the score.
    out = iv.reply(out.session_id, correction_answer)
    follow = out.last_turn
    assert follow["kind"] == "follow_up" and follow["target"] == kp and follow["score"] == 5.0 and follow["gain"] > 0
    assert not out.waiting or out.waiting["kind"] != "follow_up"  # at most one follow-up per main question


def test_a_wrong_claim_not_recovered_gets_its_correction(scripted, full_service):
    q = full_service.bank.get(BN)
    j, _ = _bn_pitfall(full_service.bank)
    iv = scripted(_wrong_bn(full_service.bank))
    out = iv.start(questions=[BN])
    out = iv.reply(out.session_id, WRONG_BN)
    out = iv.reply(out.session_id, "잘 모르겠습니다")
    reaction = next(line for line in out.new if line["kind"] == "reaction")["text"]
    assert q.pitfalls[j].correction in reaction and "바로잡" in reaction


def test_a_missed_point_is_asked_as_a_natural_question(scripted, full_service):
    from interviewer.interview.phrasing import topic_words

    q = full_service.bank.get(BN)
    iv = scripted({"BN은 배치 단위로 정규화합니다.": {0: ("covered", "배치 단위로 정규화합니다", [])}})
    out = iv.start(questions=[BN])
    out = iv.reply(out.session_id, "BN은 배치 단위로 정규화합니다.")
    text = out.waiting["question"]
    assert iv.values(out.session_id)["current"]["target"] == 1  # the most important missed point
    assert topic_words(q, 1) in text and text.rstrip().endswith("?")
    assert "쪽은 언급하지 않으셨는데요" not in text and q.key_points[1].point not in text


def test_a_key_points_topic_is_named_by_its_vocabulary_not_twice(full_service):
    from interviewer.bank import KeyPoint
    from interviewer.interview.phrasing import topic_words

    q = full_service.bank.get(BN).model_copy(
        update={
            "key_points": [
                KeyPoint(point="더 큰 학습률을 쓸 수 있다.", terms=["큰 학습률", "learning rate", "빠른 수렴"]),
                KeyPoint(point="평균과 분산으로 정규화한다.", terms=["미니배치 평균", "분산"]),
                KeyPoint(point="용어가 없는 핵심 포인트입니다", terms=[]),
            ]
        }
    )
    assert topic_words(q, 0) == "큰 학습률"  # a term and its translation are not both named
    assert topic_words(q, 1) == "미니배치 평균·분산"
    assert topic_words(q, 2) == "용어가 없는 핵심 포인트입니다"


def test_offline_follow_up_wording_is_deterministic_and_varied(full_service):
    from interviewer.grading.schema import GradeResult, KeyPointJudgment, Status
    from interviewer.interview.phrasing import offline_follow_up

    used = set()
    for q in [q for q in full_service.bank if q.gradable][:12]:
        judgments = [
            KeyPointJudgment(index=i, point=kp.point, status=Status.missed) for i, kp in enumerate(q.key_points)
        ]
        r = GradeResult(question_id=q.id, score=0.5, key_points=judgments, grader="t")
        first = offline_follow_up("ko", q, r, 0)
        assert first == offline_follow_up("ko", q, r, 0)
        assert q.key_points[0].point not in first
        assert "언급하지 않으셨는데요" not in first and first.endswith("?")
        used |= {
            mark for mark in ("도 이 질문과 관련이", "의 관점에서는", "한 가지 더 여쭤보겠습니다") if mark in first
        }
    assert len(used) >= 2  # more than one template is in use


def test_a_challenge_without_the_candidates_words_uses_the_banks_misconception(full_service):
    from interviewer.grading.schema import GradeResult, KeyPointJudgment, Status
    from interviewer.interview.phrasing import offline_follow_up

    q = full_service.bank.get(BN)
    long_sentence = "제가 알기로는 " + "정말로 " * 30 + "BN에는 학습 파라미터가 없습니다"
    for evidence in (None, long_sentence):
        j = KeyPointJudgment(
            index=0,
            point=q.key_points[0].point,
            status=Status.contradicted,
            evidence=evidence,
            support_ids=[f"{BN}:pitfall:0"],
        )
        text = offline_follow_up("ko", q, GradeResult(question_id=BN, score=0.0, key_points=[j], grader="t"), 0)
        assert q.pitfalls[0].claim.rstrip(".") in text and q.pitfalls[0].correction not in text


# -- progress while grading ---------------------------------------------------------------------------------------
def test_reply_stream_reports_the_graders_progress_before_the_result(scripted, full_service):
    from interviewer.interview import GradingStatus, TurnOutput

    n = len(full_service.bank.get(BN).key_points)
    iv = scripted({})
    out = iv.start(questions=[BN])
    events = list(iv.reply_stream(out.session_id, "BN은 정규화 기법입니다."))
    statuses = [e.text for e in events if isinstance(e, GradingStatus)]
    assert statuses == [f"핵심 포인트 {i}/{n} 확인 중" for i in range(1, n + 1)]
    assert isinstance(events[-1], TurnOutput) and all(not isinstance(e, TurnOutput) for e in events[:-1])


def test_the_service_passes_progress_to_the_offline_grader(full_service, monkeypatch):
    seen = []
    real = full_service.offline_grader.grade

    def spy(q, answer, *, progress=None):
        seen.append(progress)
        return real(q, answer)

    monkeypatch.setattr(full_service.offline_grader, "grade", spy)
    marks = []
    full_service._interview_grade(full_service.bank.get(Q), "드롭아웃", "offline", True, None, marks.append)
    assert seen and seen[0] is not None
    seen[0]("핵심 포인트 1/4 확인 중")
    assert marks == ["핵심 포인트 1/4 확인 중"]


# -- owners and ids -----------------------------------------------------------------------------------------------
def test_sessions_belong_to_their_owner(interviews, full_service):
    bank = full_service.bank
    alice = interviews.start(questions=[Q], owner="alice")
    interviews.reply(alice.session_id, excellent(bank, Q), owner="alice")
    bob = interviews.start(questions=[MAIN], owner="bob")
    local = interviews.start(questions=[MAIN])
    assert [r["id"] for r in interviews.list_sessions("alice")] == [alice.session_id]
    assert [r["id"] for r in interviews.list_sessions("bob")] == [bob.session_id]
    assert {r["id"] for r in interviews.list_sessions()} == {alice.session_id, bob.session_id, local.session_id}
    for call in (
        lambda: interviews.resume(alice.session_id, owner="bob"),
        lambda: interviews.values(alice.session_id, owner="bob"),
        lambda: interviews.meta(alice.session_id, owner="bob"),
        lambda: interviews.reply(alice.session_id, "패스", owner="bob"),
        lambda: interviews.delete(alice.session_id, owner="bob"),
        lambda: interviews.resume(local.session_id, owner="bob"),
    ):
        with pytest.raises(InterviewerError, match="세션을 찾을 수 없습니다"):
            call()
    assert interviews.resume(alice.session_id, owner="alice").turns  # the owner (and a local run) still can
    assert interviews.resume(alice.session_id).turns
    assert Q in interviews.cards("alice") and Q not in interviews.cards("bob") and Q in interviews.cards()
    assert interviews.weak_topics("bob") == []


def test_session_ids_carry_96_random_bits(interviews):
    import re as _re

    ids = [interviews.start(questions=[Q]).session_id for _ in range(3)]
    assert len(set(ids)) == 3
    for sid in ids:
        assert _re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{24}", sid)
    # Two sessions started in the same second share nothing past the time stamp.
    assert len({sid.rsplit("-", 1)[1][:6] for sid in ids}) == 3


def test_a_database_from_before_owners_is_upgraded(full_service, tmp_path):
    import sqlite3

    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript("""
        CREATE TABLE iv_sessions (id TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL,
          model TEXT NOT NULL, lang TEXT NOT NULL, options TEXT NOT NULL, status TEXT NOT NULL,
          graded INTEGER NOT NULL DEFAULT 0, mean REAL);
        INSERT INTO iv_sessions VALUES ('20250101-000000-abcdef', '2025-01-01T00:00:00+00:00',
          '2025-01-01T00:00:00+00:00', 'offline', 'ko', '{"topics": [], "count": 1, "difficulty": [], "review": false,
          "mains": ["dropout"]}', 'finished', 0, NULL);
    """)
    conn.close()
    iv = Interviews(full_service.bank, full_service._interview_grade, full_service.offline_grader.grade, db)
    try:
        assert [r["owner"] for r in iv.list_sessions()] == [None]
        assert iv.list_sessions("alice") == []  # an ownerless old session is nobody's on an authenticated server
        out = iv.start(questions=[Q], owner="alice")
        assert [r["id"] for r in iv.list_sessions("alice")] == [out.session_id]
    finally:
        iv.close()


# -- the report ---------------------------------------------------------------------------------------------------
def test_report_lists_what_to_review_next_and_renders_feedback_sections(scripted, full_service):
    from interviewer.grading.feedback import feedback_sections
    from interviewer.grading.schema import Feedback

    q = full_service.bank.get(BN)
    j, kp = _bn_pitfall(full_service.bank)
    iv = scripted(_wrong_bn(full_service.bank))
    out = iv.start(questions=[BN, Q])
    out = iv.reply(out.session_id, WRONG_BN)
    while not out.done:  # the follow-up, the sub-questions and the next question are passed over
        out = iv.reply(out.session_id, "패스")
    report = build_report(iv.meta(out.session_id), iv.values(out.session_id), full_service.bank)
    nxt = report["review_next"]
    assert 1 <= len(nxt) <= 5
    assert nxt[0]["status"] == "contradicted" and nxt[0]["point"] == q.key_points[kp].point
    assert nxt[0]["correction"] == q.pitfalls[j].correction
    assert nxt[1]["status"] == "missed" and nxt[1]["point"] == q.key_points[0].point
    assert json.loads(json.dumps(report))["review_next"] == nxt  # in the JSON download as it is
    md = to_markdown(report)
    top, rest = md.index("## 다음에 복습할 것"), md.index("## 질문별 결과")
    assert top < rest and q.key_points[kp].point in md[top:rest] and q.pitfalls[j].correction in md[top:rest]
    fb = Feedback.model_validate(report["questions"][0]["feedback"])
    assert fb.wrong and fb.wrong[0].correction == q.pitfalls[j].correction  # structured in the JSON
    labels = [label for label, _ in feedback_sections(fb)]
    positions = [md.index(f"**{label}**", rest) for label in labels]
    assert positions == sorted(positions) and "보완할 점" not in md
    for line in fb.missing:
        assert f"- {line}\n" in md  # one line a missed point, in full


def test_report_of_an_old_session_converts_its_feedback(interviews, full_service):
    out = interviews.start(questions=[Q])
    out = interviews.reply(out.session_id, thin(full_service.bank, Q))
    values = interviews.values(out.session_id)
    turn = values["turns"][0]
    turn["grade"]["feedback"] = {
        "good": "첫째를 설명했습니다.",
        "missing": "둘째가 빠졌습니다.\n셋째가 빠졌습니다.",
        "model_answer": "모범",
    }
    report = build_report(interviews.meta(out.session_id), values, full_service.bank)
    assert report["questions"][0]["feedback"]["missing"] == ["둘째가 빠졌습니다.", "셋째가 빠졌습니다."]
    md = to_markdown(report)
    assert "- 둘째가 빠졌습니다.\n- 셋째가 빠졌습니다." in md
