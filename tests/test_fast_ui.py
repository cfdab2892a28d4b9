"""The web UI's handlers on the fast tier (no browser, no e5): what the page shows after each action."""

from pathlib import Path

from interviewer.ui.handlers import Handlers

from .fakes import full_answer


def test_start_answer_hint_skip_quit_report_and_history(fast_service):
    ui = Handlers(fast_service)
    bank = fast_service.bank
    v = ui.start([], len(bank.mains()), False, "offline", "ko")
    assert v.session_id and not v.message
    asked = bank.get(fast_service.interviews.resume(v.session_id).waiting["question_id"])
    assert asked.is_main and asked.question in v.chat[-1]["content"]

    v = ui.send(v.session_id, full_answer(asked))
    assert "5.0 / 5" in v.grade_md and "/ 5`" in "".join(m["content"] for m in v.chat)
    v = ui.send(v.session_id, "힌트")
    assert "힌트 1/" in v.chat[-1]["content"]
    v = ui.send(v.session_id, "패스")
    v = ui.send(v.session_id, "종료")
    assert v.done

    report = ui.report(v.session_id)
    rows = ui.report_rows(report)
    assert rows[0][3] == 5.0 and rows[-1][5] == "건너뜀"
    md, js = ui.report_files(report)
    assert Path(md).read_text(encoding="utf-8").startswith("# 면접 리포트") and Path(js).suffix == ".json"
    history = ui.history_rows()
    assert [row[0] for row in history] == [v.session_id] and history[0][4] == 1


def test_refused_answers_keep_their_text_and_change_nothing(fast_service):
    ui = Handlers(fast_service)
    v = ui.start([], 1, False, "offline", "ko")
    before = ui.resume(v.session_id).chat
    empty = ui.send(v.session_id, "   ")
    assert "비어" in empty.message and empty.keep_text and empty.chat == before
    unknown = ui.start(["no-such-topic"], 1, False, "offline", "ko")
    assert unknown.session_id is None and "없는 주제" in unknown.message
