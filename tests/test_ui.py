"""The web UI: handlers without a browser, then the whole page in real headless Chromium."""

import re
import shutil
import socket
import threading
from pathlib import Path

import pytest

from interviewer.grading.answer import MAX_ANSWER_CHARS
from interviewer.service import Service
from interviewer.settings import Settings
from interviewer.ui.handlers import Handlers

from .conftest import ROOT

ARTIFACTS = ROOT / "artifacts"


@pytest.fixture()
def ui_service(full_service, tmp_path):
    """The session's index, a fresh sessions database."""
    data = tmp_path / "data"
    shutil.copytree(full_service.settings.data_dir / "index", data / "index")
    return Service(Settings(data_dir=data), embedder=full_service.embedder)


@pytest.fixture()
def handlers(ui_service):
    return Handlers(ui_service)


def test_start_answer_and_grade_panel(handlers):
    v = handlers.start(["activation"], 1, False, "offline", "ko")
    assert v.session_id and not v.message
    assert v.chat[-1]["role"] == "assistant" and "질문 1/1" in v.chat[-1]["content"]
    v = handlers.send(v.session_id, "시그모이드는 기울기 소실이 있고 ReLU는 양수에서 기울기가 1입니다.")
    assert "점수" in v.grade_md and "핵심 포인트" in v.grade_md and "모범 답안" in v.grade_md
    assert any(m["role"] == "user" for m in v.chat) and "/ 5`" in "".join(m["content"] for m in v.chat)
    assert v.passages_md.startswith("- `")


def test_over_long_and_empty_answers_are_refused_and_kept(handlers):
    v = handlers.start([], 1, False, "offline", "ko")
    before = handlers.resume(v.session_id).chat
    long = handlers.send(v.session_id, "가" * (MAX_ANSWER_CHARS + 1))
    assert "너무 깁니다" in long.message and long.keep_text and long.chat == before
    empty = handlers.send(v.session_id, "   ")
    assert "비어" in empty.message and empty.keep_text and empty.chat == before
    nosession = handlers.send(None, "답")
    assert "면접 시작" in nosession.message and nosession.keep_text


def test_commands_hint_skip_quit_and_report(handlers):
    v = handlers.start(["optimization"], 2, False, "offline", "en")
    v = handlers.send(v.session_id, "힌트")
    assert "Hint 1/3" in v.chat[-1]["content"]
    v = handlers.send(v.session_id, "패스")
    v = handlers.send(v.session_id, "종료")
    assert v.done and "stopped" in v.chat[-2]["content"].lower()
    report = handlers.report(v.session_id)
    rows = handlers.report_rows(report)
    assert rows and rows[0][5] == "건너뜀"
    md, js = handlers.report_files(report)
    assert Path(md).read_text(encoding="utf-8").startswith("# 면접 리포트") and Path(js).suffix == ".json"
    assert handlers.report_files(report) == (md, js)  # a second click rewrites the same files


def test_history_review_and_resume_after_a_server_restart(handlers, ui_service, full_service):
    v = handlers.start(["regularization"], 1, False, "offline", "ko")
    v = handlers.send(v.session_id, "잘 모르겠습니다.")
    rows = handlers.history_rows()
    assert rows[0][0] == v.session_id
    assert "약한 주제" in handlers.review_markdown()
    # A new process (a new service on the same data dir) finds the same conversation.
    again = Handlers(Service(Settings(data_dir=ui_service.settings.data_dir), embedder=full_service.embedder))
    assert again.resume(v.session_id).chat == v.chat
    frame = again.topic_frame(again.report(v.session_id))
    assert list(frame.columns) == ["topic", "mean", "questions"] and len(frame) >= 1
    assert again.resume("missing-session").message


def test_difficulty_filters_the_draw(handlers, ui_service):
    v = handlers.start([], 10, False, "offline", "ko", [3])
    asked = [ui_service.bank.get(q) for q in ui_service.interviews.values(v.session_id)["mains"]]
    assert asked and all(q.difficulty == 3 for q in asked)


def test_unknown_topic_is_a_message_not_a_crash(handlers):
    v = handlers.start(["quantum"], 1, False, "offline", "ko")
    assert v.session_id is None and "quantum" in v.message


def test_twenty_concurrent_sessions_never_mix(handlers, ui_service):
    mains = [q for q in ui_service.bank.mains() if q.gradable][:20]
    views = {}

    def run(q):
        v = handlers.start([q.topics[0]], 1, False, "offline", "ko")
        answer = f"[{q.id}] " + q.key_points[0].point
        views[q.id] = (v.session_id, handlers.send(v.session_id, answer))

    threads = [threading.Thread(target=run, args=(q,)) for q in mains]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({sid for sid, _ in views.values()}) == 20
    for qid, (sid, _) in views.items():
        users = [m["content"] for m in handlers.resume(sid).chat if m["role"] == "user"]
        assert users == [f"[{qid}] " + ui_service.bank.get(qid).key_points[0].point]


# -- a real browser ------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def app_url(ui_service):
    from interviewer.ui.app import launch

    port = _free_port()
    demo = launch(ui_service, port=port, block=False)
    yield f"http://127.0.0.1:{port}"
    demo.close()


@pytest.mark.browser
def test_interview_in_headless_chromium(app_url):
    from playwright.sync_api import expect, sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is required (scripts/test.sh installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.get_by_label("activation").check()
        page.locator("#start").click()
        chat = page.locator("#chat")
        expect(chat).to_contain_text("질문 1/", timeout=60_000)
        page.locator("#answer textarea").fill(
            "시그모이드는 기울기 소실이 있고 ReLU는 양수 구간의 기울기가 1이라 깊은 망에서도 학습이 잘 됩니다."
        )
        page.locator("#send").click()
        expect(page.locator("#grade-panel")).to_contain_text("점수", timeout=60_000)
        expect(page.locator("#grade-panel")).to_contain_text("핵심 포인트")
        expect(chat).to_contain_text("/ 5")
        expect(chat).to_contain_text(re.compile(r"질문 2/|꼬리질문\.|추가 질문\."), timeout=10_000)  # what comes next
        page.screenshot(path=str(ARTIFACTS / "graded-chat.png"), full_page=True)
        # An over-long answer is refused with a message and stays in the box.
        page.locator("#answer textarea").fill("가" * (MAX_ANSWER_CHARS + 1))
        page.locator("#send").click()
        expect(page.locator("#message")).to_contain_text("너무 깁니다", timeout=30_000)
        assert len(page.locator("#answer textarea").input_value()) == MAX_ANSWER_CHARS + 1
        page.locator("#answer textarea").fill("")
        page.locator("#hint").click()
        expect(chat).to_contain_text("힌트 1/3", timeout=30_000)
        page.locator("#quit").click()
        expect(chat).to_contain_text("면접을 마치겠습니다", timeout=30_000)
        page.get_by_role("tab", name="리포트 (Report)").click()
        expect(page.locator("#report-summary")).to_contain_text("평균", timeout=30_000)
        expect(page.locator("#report-table")).to_contain_text("본 질문")
        expect(page.locator("#topic-plot canvas, #topic-plot svg").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        session = page.locator("#report-summary").inner_text().split("세션")[1].split()[0]
        # Reload: the browser finds its session again, and the history lists it.
        page.reload()
        expect(chat).to_contain_text("면접을 마치겠습니다", timeout=60_000)
        page.get_by_role("tab", name="기록 (History)").click()
        expect(page.locator("#history-table")).to_contain_text(session, timeout=30_000)
        expect(page.locator("#review")).to_contain_text("약한 주제")
        browser.close()


def _use_grader(svc, name: str, grader, monkeypatch) -> None:
    """The service hands out `grader` for the model spec `name` (and its own graders for every other spec)."""
    own = svc.grader
    monkeypatch.setattr(svc, "grader", lambda model=None: grader if model == name else own(model))


def test_send_stream_shows_drafts_before_the_final_view(ui_service, fake_llm, monkeypatch):
    from interviewer.grading.llm import LLMGrader

    q = ui_service.bank.get("weight-initialization")
    n = len(q.key_points)
    reply = {
        "key_points": [{"status": "covered", "evidence": ""}] + [{"status": "missed", "evidence": ""}] * (n - 1),
        "off_topic": False,
        "dont_know": False,
        "wrong_claims": [],
        "feedback_good": "대칭성 깨기를 설명했습니다.",
        "feedback_missing": "분산 유지가 빠졌습니다.",
        "follow_up_question": "층마다 분산은 어떻게 될까요?",
    }
    _use_grader(
        ui_service,
        "fake",
        LLMGrader(fake_llm(reply), "fake", ui_service.offline_grader, ui_service.settings.prompts_dir),
        monkeypatch,
    )
    h = Handlers(ui_service)
    out = h.svc.interviews.start(questions=[q.id], model="fake")
    views = list(h.send_stream(out.session_id, q.key_points[0].point))
    waiting, final = views[:-1], views[-1]
    # First the answer with "채점 중…" in the interviewer's place, then the model's words as they stream.
    assert waiting[0].chat[-1]["content"].startswith("_채점 중…")
    drafts = [v for v in waiting if v.chat[-1]["content"].endswith("▌")]
    assert len(drafts) >= 2 and waiting.index(drafts[0]) >= 1
    assert all(v.chat[-2] == {"role": "user", "content": q.key_points[0].point} for v in waiting)
    assert "층마다 분산은 어떻게 될까요?" in final.chat[-1]["content"] and "점수" in final.grade_md


class ScriptedGrader:
    """A slow model's stand-in: it reports each key point it checks, as the checklist judge does."""

    def __init__(self, offline):
        self.offline = offline

    def grade(self, q, answer, *, follow_up=False, on_text=None, progress=None):
        for i in range(len(q.key_points)):
            if progress:
                progress(f"핵심 포인트 {i + 1}/{len(q.key_points)} 확인 중")
        return self.offline.grade(q, answer)


def test_send_stream_shows_the_graders_progress(ui_service, monkeypatch):
    _use_grader(ui_service, "scripted", ScriptedGrader(ui_service.offline_grader), monkeypatch)
    h = Handlers(ui_service)
    v = h.start([], 1, False, "scripted", "ko")
    n = len(ui_service.bank.get(ui_service.interviews.values(v.session_id)["mains"][0]).key_points)
    views = list(h.send_stream(v.session_id, "잘 모르겠습니다만 정규화와 관련이 있습니다."))
    shown = [view.chat[-1]["content"] for view in views[:-1]]
    assert shown[0] == "_채점 중…_"
    assert [f"_채점 중… 핵심 포인트 {i}/{n} 확인 중_" for i in range(1, n + 1)] == [t for t in shown if "포인트" in t]
    assert "채점 중" not in views[-1].chat[-1]["content"] and "점수" in views[-1].grade_md
    # A command is not graded: no "채점 중…" for it.
    assert all("채점 중" not in m["content"] for view in h.send_stream(v.session_id, "종료") for m in view.chat[-1:])


def test_grade_panel_shows_the_feedback_sections_in_order(handlers, ui_service):
    from interviewer.grading.feedback import feedback_sections
    from interviewer.interview.records import turn_grade

    v = handlers.start(["activation"], 1, False, "offline", "ko")
    v = handlers.send(v.session_id, "시그모이드는 기울기 소실이 있고 ReLU는 양수에서 기울기가 1입니다.")
    turn = ui_service.interviews.values(v.session_id)["turns"][-1]
    fb = turn_grade(turn).feedback
    sections = feedback_sections(fb)
    positions = [v.grade_md.index(f"**{label}**") for label, _ in sections]
    assert len(sections) >= 2 and positions == sorted(positions)
    for label, lines in sections:
        if label not in ("참고", "모범 답안"):
            assert all(f"- {line}" in v.grade_md for line in lines)  # one line an item, never glued with ";"
    assert "보완할 점" not in v.grade_md and ".;" not in v.grade_md


def test_report_rows_keep_every_missed_point_in_full_and_the_chart_frame_is_typed(handlers, ui_service):
    v = handlers.start(["normalization"], 1, False, "offline", "ko")
    v = handlers.send(v.session_id, "잘 모르겠습니다.")
    report = handlers.report(v.session_id)
    q = report["questions"][0]
    cell = handlers.report_rows(report)[0][-1]
    missed = [k["point"] for k in q["key_points"] if k["status"] in ("missed", "contradicted")]
    assert missed and cell.split("\n") == [f"✘ 빠짐: {p}" for p in missed]  # full text, one line a point
    frame = handlers.topic_frame(report)
    assert frame["mean"].tolist() == [0.0] * len(frame) and str(frame["mean"].dtype) == "float64"
    empty = handlers.topic_frame(None)
    assert empty.empty and str(empty["mean"].dtype) == "float64"  # typed even without rows (see topic_frame)
    summary = handlers.report_summary(report)
    assert "다음에 복습할 것" in summary and missed[0] in summary


# -- sessions belong to their owner, over real HTTP ----------------------------------------------------------------
@pytest.fixture()
def auth_url(ui_service):
    from interviewer.ui.app import launch

    port = _free_port()
    demo = launch(ui_service, port=port, block=False, auth=[("alice", "pw-alice"), ("bob", "pw-bob")])
    yield f"http://127.0.0.1:{port}"
    demo.close()


def test_two_users_see_only_their_own_sessions_over_http(auth_url, ui_service):
    import httpx
    from gradio_client import Client

    assert httpx.get(auth_url + "/config").status_code in (401, 403)  # nothing without a login
    alice = Client(auth_url, auth=("alice", "pw-alice"), verbose=False)
    started = alice.predict([], 1, False, "offline", "ko", [], api_name="/start")
    alice.predict("잘 모르겠습니다.", api_name="/send")
    alice_sid = ui_service.interviews.list_sessions("alice")[0]["id"]
    assert alice_sid in str(started)
    rows, _ = alice.predict(api_name="/history")
    assert [r[0] for r in rows["data"]] == [alice_sid]
    local = ui_service.interviews.start(questions=["dropout"])  # a session from a local run: nobody's

    bob = Client(auth_url, auth=("bob", "pw-bob"), verbose=False)
    rows, review = bob.predict(api_name="/history")
    assert rows["data"] == [] or all(r[0] not in (alice_sid, local.session_id) for r in rows["data"])
    assert "약한 주제" in review and "지금 복습할 질문이 없습니다" in review  # alice's scores are not bob's
    resumed = bob.predict(alice_sid, api_name="/resume")
    chat, message = resumed[1], resumed[4]
    assert not chat and "세션을 찾을 수 없습니다" in message
    summary = bob.predict(api_name="/report")[0]
    assert alice_sid not in summary
    # Bob's own session is his alone; alice can still continue hers.
    bob.predict([], 1, False, "offline", "ko", [], api_name="/start")
    bob_sid = ui_service.interviews.list_sessions("bob")[0]["id"]
    assert alice.predict(bob_sid, api_name="/resume")[4]
    assert not alice.predict(alice_sid, api_name="/resume")[4]
    assert {r["owner"] for r in ui_service.interviews.list_sessions()} == {"alice", "bob", None}


# -- the defects, in a real browser ------------------------------------------------------------------------
WRONG_BN = "BN은 가중치를 정규화하는 기법입니다. BN을 쓰면 학습이 불안정해지므로 학습률을 더 작게 해야 합니다."


def _browser(p):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is required (scripts/test.sh installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    return browser, browser.new_page(viewport={"width": 1400, "height": 1000})


def _resume_in_page(page, sid: str):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="기록 (History)").click()
    page.locator("#pick input, #pick textarea").first.fill(sid)
    page.locator("#resume").click()
    expect(page.locator("#chat")).to_contain_text("질문 1/1", timeout=60_000)


@pytest.mark.browser
def test_wrong_answer_is_challenged_and_corrected_and_the_report_keeps_full_points(app_url, ui_service):
    from playwright.sync_api import expect, sync_playwright

    from interviewer.interview.records import turn_grade

    sid = ui_service.start_interview(questions=["batch-normalization"]).session_id
    with sync_playwright() as p:
        browser, page = _browser(p)
        page.goto(app_url)
        _resume_in_page(page, sid)
        chat, panel = page.locator("#chat"), page.locator("#grade-panel")
        page.locator("#answer textarea").fill(WRONG_BN)
        page.locator("#send").click()
        expect(chat).to_contain_text("추가 질문.", timeout=60_000)
        values = ui_service.interviews.values(sid)
        grade = turn_grade(values["turns"][0])
        target = values["current"]["target"]
        judged = next(j for j in grade.key_points if j.index == target)
        assert judged.status.value == "contradicted", "the grader should judge the wrong claim contradicted"
        # The follow-up challenges the wrong claim, by the candidate's words or the bank's wording of it ...
        follow_up = values["current"]["text"]
        claim = judged.evidence.rstrip(". ")[:20]
        assert claim in follow_up or any(
            pit.claim.rstrip(".")[:20] in follow_up for pit in ui_service.bank.get("batch-normalization").pitfalls
        )
        expect(chat).to_contain_text(follow_up.split(". ", 1)[1][:40])
        # ... and the feedback names the correction.
        expect(panel).to_contain_text("틀린 점")
        expect(panel).to_contain_text(grade.feedback.wrong[0].correction[:60])
        page.screenshot(path=str(ARTIFACTS / "wrong-answer-follow-up.png"), full_page=True)
        page.locator("#quit").click()
        expect(chat).to_contain_text("면접을 마치겠습니다", timeout=30_000)
        page.get_by_role("tab", name="리포트 (Report)").click()
        summary, table = page.locator("#report-summary"), page.locator("#report-table")
        expect(summary).to_contain_text("다음에 복습할 것", timeout=30_000)
        longest = max((j.point for j in grade.key_points if j.status.value in ("missed", "contradicted")), key=len)
        expect(table).to_contain_text(longest)  # the whole point, not its first 30 characters
        # ... and shown whole, one line a point: no visible cell clips its text (Gradio's hidden sizing rows aside).
        cells = page.evaluate("""() => [...document.querySelectorAll('#report-table .body-cell, #report-table td')]
            .filter(c => c.clientHeight > 0)
            .map(c => [c.scrollWidth <= c.clientWidth + 1 && c.scrollHeight <= c.clientHeight + 1, c.innerText])""")
        assert cells and all(fits for fits, _ in cells)
        assert any(longest in text.split("\n")[-1] or f": {longest}" in text for _, text in cells)
        page.screenshot(path=str(ARTIFACTS / "report-full-points.png"), full_page=True)
        browser.close()


@pytest.mark.browser
def test_an_all_zero_report_keeps_its_0_to_5_axis(app_url, ui_service):
    from playwright.sync_api import expect, sync_playwright

    q = next(q for q in ui_service.bank.mains() if q.gradable and len(q.topics) == 1)  # a single topic, too
    sid = ui_service.start_interview(questions=[q.id]).session_id
    with sync_playwright() as p:
        browser, page = _browser(p)
        page.goto(app_url)
        _resume_in_page(page, sid)
        page.locator("#answer textarea").fill("잘 모르겠습니다.")
        page.locator("#send").click()
        expect(page.locator("#grade-panel")).to_contain_text("0.0 / 5", timeout=60_000)
        page.locator("#quit").click()
        expect(page.locator("#chat")).to_contain_text("면접을 마치겠습니다", timeout=30_000)
        page.get_by_role("tab", name="리포트 (Report)").click()
        y_axis = page.locator('#topic-plot [aria-roledescription="axis"][aria-label^="Y-axis"]')
        expect(y_axis).to_have_attribute(
            "aria-label", re.compile(r"linear scale with values from 0 to 5$"), timeout=30_000
        )
        ticks = y_axis.locator(".role-axis-label text").all_text_contents()
        assert ticks[0] == "0" and ticks[-1] == "5", ticks
        bars = page.locator("#topic-plot .role-mark path, #topic-plot .mark-rect path")
        assert bars.count() == 1  # one topic, one bar (of height 0)
        page.screenshot(path=str(ARTIFACTS / "report-all-zero-axis.png"), full_page=True)
        browser.close()
