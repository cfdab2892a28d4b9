"""The page: gr.Blocks wired to `Handlers`. Layout and event wiring only.

Served with --auth, every event passes the logged-in user (`gr.Request.username`) to the handlers as the owner of
the sessions it may see; without auth it is None and every session is visible (a local, single-user run)."""

from types import SimpleNamespace

import gradio as gr

from ..grading.answer import MAX_ANSWER_CHARS
from ..service import Service
from .handlers import NO_REPORT, Handlers, View

CSS = """
#grade-panel table { font-size: 0.9em; }
#grade-panel td:nth-child(2) { white-space: nowrap; }
#report-table .cell-wrap, #report-table .cell-wrap span { white-space: pre-line; }
footer { display: none !important; }
"""
REPORT_HEADERS = ["#", "종류", "질문", "점수", "힌트", "상태", "틀린 점 · 빠진 점"]
HISTORY_HEADERS = ["세션", "시작", "모델", "상태", "채점 수", "평균", "주제"]
# The chart's y axis is the score scale, fixed whatever the data (all zeros, a single topic).
SCORE_AXIS = [0, 5]


def _owner(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


def _setup_column(h: Handlers, models: list[str], default_model: str) -> SimpleNamespace:
    c = SimpleNamespace()
    c.topics = gr.CheckboxGroup(h.topics(), label="주제 (Topics, 비우면 전체)", elem_id="topics")
    c.count = gr.Slider(1, 10, value=3, step=1, label="본 질문 수 (Main questions)")
    c.difficulty = gr.CheckboxGroup([("쉬움", 1), ("보통", 2), ("어려움", 3)], label="난이도 (Difficulty, 비우면 전체)")
    c.review = gr.Checkbox(False, label="복습 모드: 복습할 때가 된 질문부터 (Review)")
    c.model = gr.Dropdown(models, value=default_model, label="채점 모델 (Model)")
    c.lang = gr.Radio([("한국어", "ko"), ("English", "en")], value="ko", label="면접관 언어 (Language)")
    c.start = gr.Button("면접 시작 (Start)", variant="primary", elem_id="start")
    return c


def _interview_tab(h: Handlers, models: list[str], default_model: str) -> SimpleNamespace:
    with gr.Row():
        with gr.Column(scale=1, min_width=220):
            c = _setup_column(h, models, default_model)
        with gr.Column(scale=3):
            c.chatbot = gr.Chatbot(label="면접", height=520, elem_id="chat", buttons=["copy"])
            c.message = gr.Markdown("", elem_id="message")
            c.answer = gr.Textbox(
                label=f"답변 (Answer, 최대 {MAX_ANSWER_CHARS:,}자)",
                lines=4,
                placeholder="답변을 입력하고 '보내기'를 누르세요. 줄바꿈은 Shift+Enter입니다.",
                elem_id="answer",
            )
            with gr.Row():
                c.send = gr.Button("보내기 (Send)", variant="primary", elem_id="send")
                c.hint = gr.Button("힌트", elem_id="hint")
                c.skip = gr.Button("패스", elem_id="skip")
                c.quit = gr.Button("종료", variant="stop", elem_id="quit")
        with gr.Column(scale=2):
            gr.Markdown("#### 마지막 채점 (Last grade)")
            c.grade_md = gr.Markdown(h.resume(None).grade_md, elem_id="grade-panel")
            with gr.Accordion("근거 문단 (Supporting passages)", open=False):
                c.passages_md = gr.Markdown("", elem_id="passages")
    return c


def _report_tab(h: Handlers) -> SimpleNamespace:
    c = SimpleNamespace()
    c.summary = gr.Markdown(NO_REPORT, elem_id="report-summary")
    c.table = gr.Dataframe(
        headers=REPORT_HEADERS,
        interactive=False,
        wrap=True,
        elem_id="report-table",
        column_widths=["4%", "8%", "24%", "6%", "6%", "8%", "44%"],
    )
    c.plot = gr.BarPlot(
        h.topic_frame(None),
        x="topic",
        y="mean",
        y_lim=SCORE_AXIS,
        x_title="주제",
        y_title="평균 점수 (0-5)",
        title="주제별 평균 (mean score per topic)",
        elem_id="topic-plot",
    )
    with gr.Row():
        c.md_file = gr.DownloadButton("Markdown 받기", visible=False, elem_id="download-md")
        c.json_file = gr.DownloadButton("JSON 받기", visible=False, elem_id="download-json")
    return c


def _history_tab() -> SimpleNamespace:
    c = SimpleNamespace()
    c.table = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, elem_id="history-table")
    with gr.Row():
        c.pick = gr.Textbox(label="세션 id", scale=3, elem_id="pick")
        c.resume = gr.Button("이어하기 / 보기 (Resume)", scale=1, elem_id="resume")
    c.review = gr.Markdown("", elem_id="review")
    return c


def _show(v: View, text: str = ""):
    """A View as the values of the interview tab's outputs (see `_wire_interview`)."""
    keep = gr.update(value=text) if v.keep_text else gr.update(value="")
    return v.session_id, {"session_id": v.session_id}, v.chat, v.grade_md, v.passages_md, v.message, keep


def _wire_interview(h: Handlers, p: SimpleNamespace, outputs: list) -> None:
    iv = p.interview

    def on_start(topics, count, review, model, lang, difficulty, request: gr.Request):
        return _show(h.start(topics, count, review, model, lang, difficulty, owner=_owner(request)))

    def on_send(session_id, text, request: gr.Request):
        # A generator: the answer shows at once, then what the grader is doing, then the grade.
        for view in h.send_stream(session_id, text, _owner(request)):
            yield _show(view, text)

    def on_command(word):
        def run(session_id, text, request: gr.Request):
            out = list(_show(h.send(session_id, word, _owner(request)), text))
            out[-1] = gr.update(value=text)  # a command never clears a half-written answer
            return tuple(out)

        return run

    def on_load(stored, request: gr.Request):
        v = h.resume((stored or {}).get("session_id"), _owner(request))
        v.message = ""  # a session deleted meanwhile (or another user's): start clean, say nothing
        return _show(v)

    iv.start.click(
        on_start, [iv.topics, iv.count, iv.review, iv.model, iv.lang, iv.difficulty], outputs, api_name="start"
    )
    iv.send.click(on_send, [p.sid, iv.answer], outputs, api_name="send")
    iv.answer.submit(on_send, [p.sid, iv.answer], outputs, api_visibility="private")
    for btn, word, name in ((iv.hint, "힌트", "hint"), (iv.skip, "패스", "skip"), (iv.quit, "종료", "quit")):
        btn.click(on_command(word), [p.sid, iv.answer], outputs, api_name=name)
    p.demo.load(on_load, [p.saved], outputs, api_name="load")


def _wire_report_and_history(h: Handlers, p: SimpleNamespace, outputs: list) -> None:
    rep, hist = p.report, p.history

    def on_report(session_id, request: gr.Request):
        r = h.report(session_id, _owner(request))
        md, js = h.report_files(r)
        return (
            h.report_summary(r),
            h.report_rows(r),
            h.topic_frame(r),
            gr.update(value=md, visible=bool(md)),
            gr.update(value=js, visible=bool(js)),
        )

    def on_history(request: gr.Request):
        owner = _owner(request)
        return h.history_rows(owner), h.review_markdown(owner)

    def on_resume(session_id, request: gr.Request):
        v = h.resume((session_id or "").strip(), _owner(request))
        return (*_show(v), gr.Tabs(selected="interview" if v.session_id else "history"))

    def on_pick(evt: gr.SelectData):
        return evt.row_value[0] if evt.row_value else ""

    p.report_tab.select(
        on_report, [p.sid], [rep.summary, rep.table, rep.plot, rep.md_file, rep.json_file], api_name="report"
    )
    p.history_tab.select(on_history, None, [hist.table, hist.review], api_name="history")
    hist.resume.click(on_resume, [hist.pick], outputs + [p.tabs], api_name="resume")
    hist.table.select(on_pick, None, hist.pick, api_visibility="private")


def build(svc: Service, *, model: str | None = None) -> gr.Blocks:
    h = Handlers(svc)
    models = h.models()
    default_model = model or svc.settings.model
    if default_model not in models:
        models.insert(0, default_model)
    p = SimpleNamespace()
    with gr.Blocks(title="딥러닝 면접 연습 · interviewer") as p.demo:
        p.sid = gr.State(None)
        p.saved = gr.BrowserState({"session_id": None}, storage_key="interviewer-session")
        gr.Markdown("## 딥러닝 면접 연습 <small>Korean deep-learning mock interview</small>")
        with gr.Tabs() as p.tabs:
            with gr.Tab("면접 (Interview)", id="interview"):
                p.interview = _interview_tab(h, models, default_model)
            with gr.Tab("리포트 (Report)", id="report") as p.report_tab:
                p.report = _report_tab(h)
            with gr.Tab("기록 (History)", id="history") as p.history_tab:
                p.history = _history_tab()
        iv = p.interview
        outputs = [p.sid, p.saved, iv.chatbot, iv.grade_md, iv.passages_md, iv.message, iv.answer]
        _wire_interview(h, p, outputs)
        _wire_report_and_history(h, p, outputs)
    return p.demo


def launch(
    svc: Service,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    model: str | None = None,
    auth: tuple[str, str] | list[tuple[str, str]] | None = None,
    open_browser: bool = False,
    block: bool = True,
) -> gr.Blocks:
    """`auth`: one (user, password) pair or several; each user then sees only their own sessions."""
    svc.retriever()  # build or check the index before the first visitor waits for it
    demo = build(svc, model=model)
    # Grading is CPU-bound on two cores: a few at a time, the rest wait in a bounded queue.
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=False,
        inbrowser=open_browser,
        prevent_thread_lock=not block,
        show_error=True,
        css=CSS,
    )
    return demo
