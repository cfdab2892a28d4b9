"""What the page shows, computed from the service: no grading or interview logic here, only presentation.

Every handler takes plain values (the session id, the text box) and returns plain values, so they are tested
without a browser; `app.py` wires them to components."""

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InterviewerError
from ..grading.answer import MAX_ANSWER_CHARS
from ..grading.schema import GradeResult, Status, flag_notes
from ..interview import TurnOutput
from ..interview.report import build_report, to_markdown
from ..service import Service

_MARK = {Status.covered: "✔ 다룸", Status.partial: "△ 일부", Status.missed: "✘ 빠짐",
         Status.contradicted: "✘ 틀림"}
STATUS = {"active": "진행 중", "finished": "끝남", "stopped": "중단"}


@dataclass
class View:
    """One refresh of the interview tab."""

    session_id: str | None
    chat: list[dict]
    grade_md: str
    passages_md: str
    message: str = ""            # an error or notice for the user; empty when all is well
    keep_text: bool = False      # the answer box keeps its text (the answer was refused)
    done: bool = False
    extra: dict = field(default_factory=dict)


def chat_messages(transcript: list[dict], turns: list[dict]) -> list[dict]:
    """Transcript lines as Chatbot messages; a reaction carries the score that counts (after any hint cap)."""
    msgs = []
    for line in transcript:
        if line["role"] == "candidate":
            msgs.append({"role": "user", "content": line["text"]})
            continue
        text = line["text"]
        if line["kind"] == "question":
            text = f"**{text}**"
        elif line["kind"] == "reaction" and line.get("turn"):
            turn = turns[line["turn"] - 1]
            if turn["score"] is not None:
                text = f"`{turn['score']:.1f} / 5` {text}"
        elif line["kind"] in ("hint", "notice", "summary"):
            text = f"_{text}_"
        msgs.append({"role": "assistant", "content": text})
    return msgs


def grade_markdown(turn: dict | None) -> str:
    if not turn:
        return "아직 채점된 답변이 없습니다. (No grade yet.)"
    if turn["status"] == "skipped":
        return f"**{turn['question']}**\n\n건너뛴 질문입니다."
    r = GradeResult.model_validate(turn["grade"])
    lines = [f"**{turn['question']}**", ""]
    if r.score is None:
        lines.append(f"### 채점하지 못했습니다\n{r.unscored_reason}")
        return "\n".join(lines)
    head = f"### 점수 {turn['score']:.1f} / 5"
    if turn["kind"] == "follow_up":
        head = f"### 추가 질문: {turn['score']:.1f} / 5 (본 질문에 +{turn['gain']:.1f})"
    elif turn["score"] < r.score:
        head += f" (힌트 {turn['hints']}개로 {r.score:.1f}점에서 제한)"
    lines.append(head)
    if r.off_topic:
        lines.append("질문과 다른 주제의 답변으로 판단했습니다.")
    if r.dont_know:
        lines.append("모른다는 답변입니다.")
    if r.key_points:
        lines += ["", "| 핵심 포인트 | 판정 | 답변 근거 |", "|---|---|---|"]
        for j in r.key_points:
            cell = lambda s: " ".join((s or "").split()).replace("|", "\\|")  # noqa: E731
            lines.append(f"| {cell(j.point)} | {_MARK[j.status]} | {cell(j.evidence)} |")
    if r.feedback:
        lines += ["", f"**잘한 점** {r.feedback.good}", "", f"**보완할 점** {r.feedback.missing}", "",
                  f"**모범 답안** {r.feedback.model_answer}"]
    shown = flag_notes(r.flags)
    if shown:
        lines += ["", "_참고: " + "; ".join(shown) + "_"]
    lines += ["", f"_채점: {r.grader}, {r.latency_ms:.0f} ms_"]
    return "\n".join(lines)


def passages_markdown(turn: dict | None) -> str:
    if not turn or not turn.get("grade") or not turn["grade"].get("passages"):
        return "근거 문단이 없습니다."
    return "\n\n".join(f"- `{p['chunk_id']}` ({p['score']:.3f}) {p['text']}" for p in turn["grade"]["passages"])


def _view(out: TurnOutput, **kw) -> View:
    return View(out.session_id, chat_messages(out.transcript, out.turns), grade_markdown(out.last_turn),
                passages_markdown(out.last_turn), done=out.done, **kw)


class Handlers:
    def __init__(self, svc: Service):
        self.svc = svc

    # -- interview tab --------------------------------------------------------------------------------------------
    def start(self, topics: list[str], count: int, review: bool, model: str, lang: str,
              difficulty: list[int] | None = None) -> View:
        try:
            out = self.svc.start_interview(model=model or None, topics=topics or [], count=int(count),
                                           review=bool(review), lang=lang or "ko",
                                           difficulty=[int(d) for d in difficulty or []])
        except InterviewerError as e:
            return View(None, [], grade_markdown(None), "", message=_message(e))
        return _view(out)

    def send(self, session_id: str | None, text: str) -> View:
        """An answer or a command word. A refused answer keeps its text in the box and changes nothing."""
        view = None
        for view in self.send_stream(session_id, text):
            pass
        return view

    def send_stream(self, session_id: str | None, text: str):
        """Like `send`, yielding a View per streamed draft of the interviewer's words (a model that streams),
        then the final View."""
        if not session_id:
            yield View(None, [], grade_markdown(None), "", message="먼저 '면접 시작'을 누르세요. (Start first.)",
                       keep_text=True)
            return
        if text and len(text) > MAX_ANSWER_CHARS:
            current = self.resume(session_id)
            current.message = (f"답변이 너무 깁니다 ({len(text):,}자). {MAX_ANSWER_CHARS:,}자 이내로 줄여 주세요. "
                               "(보내지 않았습니다 / not sent)")
            current.keep_text = True
            yield current
            return
        try:
            events = self.svc.interviews.reply_stream(session_id, text or "")
            before = None
            for event in events:
                if isinstance(event, str):
                    if before is None:
                        before = self.resume(session_id)
                        before.chat = before.chat + [{"role": "user", "content": text}]
                    yield View(session_id, before.chat + [{"role": "assistant", "content": event + " ▌"}],
                               before.grade_md, before.passages_md)
                else:
                    yield _view(event)
        except InterviewerError as e:
            current = self.resume(session_id)
            current.message, current.keep_text = _message(e), True
            yield current

    def resume(self, session_id: str | None) -> View:
        if not session_id:
            return View(None, [], grade_markdown(None), "")
        try:
            out = self.svc.interviews.resume(session_id)
        except InterviewerError as e:
            return View(None, [], grade_markdown(None), "", message=_message(e))
        return _view(out)

    # -- report tab -----------------------------------------------------------------------------------------------
    def report(self, session_id: str | None) -> dict | None:
        if not session_id:
            return None
        try:
            return build_report(self.svc.interviews.meta(session_id), self.svc.interviews.values(session_id),
                                self.svc.bank)
        except InterviewerError:
            return None

    @staticmethod
    def report_rows(report: dict | None) -> list[list]:
        if not report:
            return []
        kinds = {"main": "본 질문", "sub": "꼬리질문"}
        return [[i, kinds.get(q["kind"], q["kind"]), q["question"], "—" if q["score"] is None else q["score"],
                 q["hints"], {"graded": "채점", "skipped": "건너뜀", "unscored": "채점 못 함"}[q["status"]],
                 ", ".join(k["point"][:30] for k in q["key_points"] if k["status"] in ("missed", "contradicted"))]
                for i, q in enumerate(report["questions"], 1)]

    @staticmethod
    def topic_frame(report: dict | None):
        import pandas as pd

        rows = report["topics"] if report else []
        return pd.DataFrame(rows or [], columns=["topic", "mean", "questions"])

    @staticmethod
    def report_files(report: dict | None) -> tuple[str | None, str | None]:
        """The report as Markdown and JSON files for download."""
        if not report:
            return None, None
        # One pair per session, rewritten on each click: a new folder per click was never cleaned up. The system
        # temp dir, because Gradio serves files from there without an allowed_paths entry.
        folder = Path(tempfile.gettempdir()) / "interviewer-reports"
        folder.mkdir(exist_ok=True)
        md, js = folder / f"report-{report['session_id']}.md", folder / f"report-{report['session_id']}.json"
        md.write_text(to_markdown(report), encoding="utf-8")
        js.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        return str(md), str(js)

    # -- history tab ----------------------------------------------------------------------------------------------
    def history_rows(self) -> list[list]:
        return [[r["id"], r["created"].replace("T", " ")[:16], r["model"], STATUS.get(r["status"], r["status"]),
                 r["graded"], "—" if r["mean"] is None else r["mean"], ", ".join(r["topics"]) or "전체"]
                for r in self.svc.interviews.list_sessions()]

    def review_markdown(self) -> str:
        from datetime import datetime, timezone

        from ..interview.schedule import review_order

        iv = self.svc.interviews
        now = datetime.now(timezone.utc)
        weak = [w for w in iv.weak_topics() if w["weak"]]
        order = review_order(iv.cards(), now)
        lines = ["### 약한 주제 (Weak topics)"]
        lines += [f"- {w['topic']}: 평균 {w['mean']:.1f} ({w['questions']}문항)" for w in weak] or ["- 없음"]
        lines += ["", "### 복습할 질문 (Due for review)"]
        due = [c for c in order if c.is_due(now)]
        lines += [f"- {self.svc.bank.get(c.question_id).question} — 최근 {c.last_score:.1f}점" for c in due[:10]] or [
            "- 지금 복습할 질문이 없습니다." + (f" 다음 복습: {min(c.due for c in order):%Y-%m-%d}" if order else "")]
        return "\n".join(lines)

    # -- setup ----------------------------------------------------------------------------------------------------
    def topics(self) -> list[str]:
        return sorted({t for q in self.svc.bank for t in q.topics})

    def models(self) -> list[str]:
        """Models a user can pick: offline always, the configured one, and the local ones already pulled."""
        from ..models import available

        specs = ["offline", self.svc.settings.model]
        specs += [r["spec"] for r in available(self.svc.settings.data_dir)
                  if r["available"] and "MODEL" not in r["spec"]]
        return list(dict.fromkeys(specs))


def _message(e: InterviewerError) -> str:
    return f"⚠️ {e}" + (f" — {e.hint}" if e.hint else "")
