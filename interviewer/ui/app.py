"""The page: gr.Blocks wired to `Handlers`. Layout and event wiring only."""

import gradio as gr

from ..grading.answer import MAX_ANSWER_CHARS
from ..service import Service
from .handlers import STATUS, Handlers, View

CSS = """
#grade-panel table { font-size: 0.9em; }
footer { display: none !important; }
"""
REPORT_HEADERS = ["#", "종류", "질문", "점수", "힌트", "상태", "빠진 점"]
HISTORY_HEADERS = ["세션", "시작", "모델", "상태", "채점 수", "평균", "주제"]


def build(svc: Service, *, model: str | None = None) -> gr.Blocks:
    h = Handlers(svc)
    models = h.models()
    default_model = model or svc.settings.model
    if default_model not in models:
        models.insert(0, default_model)

    with gr.Blocks(title="딥러닝 면접 연습 · interviewer") as demo:
        sid = gr.State(None)
        saved = gr.BrowserState({"session_id": None}, storage_key="interviewer-session")
        gr.Markdown("## 딥러닝 면접 연습 <small>Korean deep-learning mock interview</small>")
        with gr.Tabs() as tabs:
            with gr.Tab("면접 (Interview)", id="interview"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=220):
                        topics = gr.CheckboxGroup(h.topics(), label="주제 (Topics, 비우면 전체)", elem_id="topics")
                        count = gr.Slider(1, 10, value=3, step=1, label="본 질문 수 (Main questions)")
                        difficulty = gr.CheckboxGroup([("쉬움", 1), ("보통", 2), ("어려움", 3)],
                                                      label="난이도 (Difficulty, 비우면 전체)")
                        review = gr.Checkbox(False, label="복습 모드: 복습할 때가 된 질문부터 (Review)")
                        model_dd = gr.Dropdown(models, value=default_model, label="채점 모델 (Model)")
                        lang = gr.Radio([("한국어", "ko"), ("English", "en")], value="ko", label="면접관 언어 (Language)")
                        start_btn = gr.Button("면접 시작 (Start)", variant="primary", elem_id="start")
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="면접", height=520, elem_id="chat", buttons=["copy"])
                        message = gr.Markdown("", elem_id="message")
                        answer = gr.Textbox(label=f"답변 (Answer, 최대 {MAX_ANSWER_CHARS:,}자)", lines=4,
                                            placeholder="답변을 입력하고 '보내기'를 누르세요. Shift+Enter로 줄바꿈.",
                                            elem_id="answer")
                        with gr.Row():
                            send_btn = gr.Button("보내기 (Send)", variant="primary", elem_id="send")
                            hint_btn = gr.Button("힌트", elem_id="hint")
                            skip_btn = gr.Button("패스", elem_id="skip")
                            quit_btn = gr.Button("종료", variant="stop", elem_id="quit")
                    with gr.Column(scale=2):
                        gr.Markdown("#### 마지막 채점 (Last grade)")
                        grade_md = gr.Markdown(h.resume(None).grade_md, elem_id="grade-panel")
                        with gr.Accordion("근거 문단 (Supporting passages)", open=False):
                            passages_md = gr.Markdown("", elem_id="passages")
            with gr.Tab("리포트 (Report)", id="report") as report_tab:
                report_summary = gr.Markdown("면접을 시작하면 리포트가 여기에 나옵니다.", elem_id="report-summary")
                report_table = gr.Dataframe(headers=REPORT_HEADERS, interactive=False, wrap=True, elem_id="report-table")
                topic_plot = gr.BarPlot(h.topic_frame(None), x="topic", y="mean", y_lim=[0, 5],
                                        title="주제별 평균 (mean score per topic)", elem_id="topic-plot")
                with gr.Row():
                    md_file = gr.DownloadButton("Markdown 받기", visible=False, elem_id="download-md")
                    json_file = gr.DownloadButton("JSON 받기", visible=False, elem_id="download-json")
            with gr.Tab("기록 (History)", id="history") as history_tab:
                history = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, elem_id="history-table")
                with gr.Row():
                    pick = gr.Textbox(label="세션 id", scale=3, elem_id="pick")
                    resume_btn = gr.Button("이어하기 / 보기 (Resume)", scale=1, elem_id="resume")
                review_md = gr.Markdown("", elem_id="review")

        view_outputs = [sid, saved, chatbot, grade_md, passages_md, message, answer]

        def show(v: View, text: str = ""):
            keep = gr.update(value=text) if v.keep_text else gr.update(value="")
            return (v.session_id, {"session_id": v.session_id}, v.chat, v.grade_md, v.passages_md, v.message, keep)

        def on_start(topics_, count_, review_, model_, lang_, difficulty_):
            return show(h.start(topics_, count_, review_, model_, lang_, difficulty_))

        def on_send(session_id, text, chat):
            if session_id and text and text.strip() and len(text) <= MAX_ANSWER_CHARS:
                # Show the answer at once while it is graded.
                pending = (chat or []) + [{"role": "user", "content": text},
                                          {"role": "assistant", "content": "_채점 중… (grading)_"}]
                yield (session_id, gr.update(), pending, gr.update(), gr.update(), "", gr.update(value=""))
            for view in h.send_stream(session_id, text):
                yield show(view, text)

        def on_command(word):
            def run(session_id, text):
                v = h.send(session_id, word)
                out = list(show(v, text))
                out[-1] = gr.update(value=text)  # a command never clears a half-written answer
                return tuple(out)
            return run

        def on_load(stored):
            session_id = (stored or {}).get("session_id")
            v = h.resume(session_id)
            if v.message:  # a session deleted meanwhile: start clean
                v.message = ""
            return show(v)

        def on_report(session_id):
            r = h.report(session_id)
            md, js = h.report_files(r)
            summary = ("면접을 시작하면 리포트가 여기에 나옵니다." if not r else
                       f"### 세션 {r['session_id']}\n평균 **{'—' if r['mean'] is None else r['mean']}** / 5 · "
                       f"채점 {r['graded']} / 질문 {r['asked']} · {STATUS.get(r['status'], r['status'])}")
            return (summary, h.report_rows(r), h.topic_frame(r), gr.update(value=md, visible=bool(md)),
                    gr.update(value=js, visible=bool(js)))

        def on_history():
            return h.history_rows(), h.review_markdown()

        def on_resume(session_id):
            v = h.resume((session_id or "").strip())
            return (*show(v), gr.Tabs(selected="interview" if v.session_id else "history"))

        start_btn.click(on_start, [topics, count, review, model_dd, lang, difficulty], view_outputs)
        send_btn.click(on_send, [sid, answer, chatbot], view_outputs)
        answer.submit(on_send, [sid, answer, chatbot], view_outputs)
        for btn, word in ((hint_btn, "힌트"), (skip_btn, "패스"), (quit_btn, "종료")):
            btn.click(on_command(word), [sid, answer], view_outputs)
        report_tab.select(on_report, [sid], [report_summary, report_table, topic_plot, md_file, json_file])
        history_tab.select(on_history, None, [history, review_md])
        resume_btn.click(on_resume, [pick], view_outputs + [tabs])
        def on_pick(evt: gr.SelectData):
            return evt.row_value[0] if evt.row_value else ""

        history.select(on_pick, None, pick)
        demo.load(on_load, [saved], view_outputs)
    return demo


def launch(svc: Service, *, host: str = "127.0.0.1", port: int = 7860, model: str | None = None,
           auth: tuple[str, str] | None = None, open_browser: bool = False, block: bool = True) -> gr.Blocks:
    svc.retriever()  # build or check the index before the first visitor waits for it
    demo = build(svc, model=model)
    # Grading is CPU-bound on two cores: a few at a time, the rest wait in a bounded queue.
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.launch(server_name=host, server_port=port, auth=auth, share=False, inbrowser=open_browser,
                prevent_thread_lock=not block, show_error=True, css=CSS)
    return demo
