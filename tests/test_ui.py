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
    for qid, (sid, v) in views.items():
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
        page.locator("#answer textarea").fill("시그모이드는 기울기 소실이 있고 ReLU는 양수 구간의 기울기가 1이라 깊은 망에서도 학습이 잘 됩니다.")
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


def test_send_stream_shows_drafts_before_the_final_view(ui_service, fake_llm):
    from interviewer.grading.llm import LLMGrader

    q = ui_service.bank.get("weight-initialization")
    n = len(q.key_points)
    reply = {"key_points": [{"status": "covered", "evidence": ""}] + [{"status": "missed", "evidence": ""}] * (n - 1),
             "off_topic": False, "dont_know": False, "wrong_claims": [], "feedback_good": "대칭성 깨기를 설명했습니다.",
             "feedback_missing": "분산 유지가 빠졌습니다.", "follow_up_question": "층마다 분산은 어떻게 될까요?"}
    ui_service._graders["fake"] = LLMGrader(fake_llm(reply), "fake", ui_service.offline_grader,
                                            ui_service.settings.prompts_dir)
    h = Handlers(ui_service)
    out = h.svc.interviews.start(questions=[q.id], model="fake")
    views = list(h.send_stream(out.session_id, q.key_points[0].point))
    drafts, final = views[:-1], views[-1]
    assert len(drafts) >= 2 and all(d.chat[-1]["content"].endswith("▌") for d in drafts)
    assert all(d.chat[-2] == {"role": "user", "content": q.key_points[0].point} for d in drafts)
    assert "층마다 분산은 어떻게 될까요?" in final.chat[-1]["content"] and "점수" in final.grade_md
