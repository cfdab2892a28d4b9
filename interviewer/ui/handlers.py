"""What the page shows, computed from the service: no grading or interview logic here, only presentation.

Every handler takes plain values (the session id, the text box) and returns plain values, so they are tested
without a browser; `app.py` wires them to components."""

import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from ..errors import InterviewerError
from ..grading.answer import MAX_ANSWER_CHARS, check_answer
from ..grading.schema import STATUS_KO, flag_notes
from ..interview import GradingStatus, TurnOutput
from ..interview.graph import command_of
from ..interview.records import Line, Turn, turn_grade
from ..interview.report import SESSION_STATUS_KO as STATUS
from ..interview.report import feedback_markdown, markdown_cell, review_markdown, to_markdown
from ..service import Service

NO_REPORT = "면접을 시작하면 리포트가 여기에 나옵니다."
GRADING = "채점 중…"


@dataclass
class View:
    """One refresh of the interview tab."""

    session_id: str | None
    chat: list[dict]
    grade_md: str
    passages_md: str
    message: str = ""  # an error or notice for the user; empty when all is well
    keep_text: bool = False  # the answer box keeps its text (the answer was refused)
    done: bool = False
    extra: dict = field(default_factory=dict)


def chat_messages(transcript: list[Line], turns: list[Turn]) -> list[dict]:
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


def grade_markdown(turn: Turn | None) -> str:
    if not turn:
        return "아직 채점된 답변이 없습니다. (No grade yet.)"
    r = turn_grade(turn)
    if r is None:  # skipped: nothing was graded
        return f"**{turn['question']}**\n\n건너뛴 질문입니다."
    lines = [f"**{turn['question']}**", ""]
    if r.score is None:
        lines.append(f"### 채점하지 못했습니다\n{r.unscored_reason}")
        return "\n".join(lines)
    head = f"### 점수 {turn['score']:.1f} / 5"
    if turn["kind"] == "follow_up":
        head = f"### 추가 질문 {turn['score']:.1f} / 5 (본 질문 점수 +{turn['gain']:.1f})"
    elif turn["score"] < r.score:
        head += f" (힌트 {turn['hints']}개를 써서 {r.score:.1f}점에서 낮아졌습니다)"
    lines.append(head)
    if r.key_points:
        lines += ["", "| 핵심 포인트 | 판정 | 답변 근거 |", "|---|---|---|"]
        for j in r.key_points:
            lines.append(f"| {markdown_cell(j.point)} | {STATUS_KO[j.status.value]} | {markdown_cell(j.evidence)} |")
    if r.feedback:  # the same sections, in the same order, as the report and the terminal
        lines += ["", *feedback_markdown(r.feedback)]
    elif r.off_topic or r.dont_know:
        lines.append("질문과 다른 주제의 답변으로 판단했습니다." if r.off_topic else "모른다는 답변입니다.")
    shown = flag_notes(r.flags)
    if shown:
        lines += ["", "_참고: " + "; ".join(shown) + "_"]
    lines += ["", f"_채점: {r.grader}, {r.latency_ms:.0f} ms_"]
    return "\n".join(lines)


def passages_markdown(turn: Turn | None) -> str:
    r = turn_grade(turn)
    if r is None or not r.passages:
        return "근거 문단이 없습니다."
    return "\n\n".join(f"- `{p.chunk_id}` ({p.score:.3f}) {p.text}" for p in r.passages)


def _view(out: TurnOutput, **kw) -> View:
    return View(
        out.session_id,
        chat_messages(out.transcript, out.turns),
        grade_markdown(out.last_turn),
        passages_markdown(out.last_turn),
        done=out.done,
        **kw,
    )


class Handlers:
    """Every method that touches a session takes the `owner` (the user the server authenticated, None without
    --auth): a session of someone else is treated as one that does not exist."""

    def __init__(self, svc: Service):
        self.svc = svc

    # -- interview tab --------------------------------------------------------------------------------------------
    def start(
        self,
        topics: list[str],
        count: int,
        review: bool,
        model: str,
        lang: str,
        difficulty: list[int] | None = None,
        owner: str | None = None,
    ) -> View:
        try:
            out = self.svc.start_interview(
                model=model or None,
                topics=topics or [],
                count=int(count),
                review=bool(review),
                lang=lang or "ko",
                difficulty=[int(d) for d in difficulty or []],
                owner=owner,
            )
        except InterviewerError as e:
            return View(None, [], grade_markdown(None), "", message=_message(e))
        return _view(out)

    def send(self, session_id: str | None, text: str, owner: str | None = None) -> View:
        """An answer or a command word. A refused answer keeps its text in the box and changes nothing."""
        view = None
        for view in self.send_stream(session_id, text, owner):  # noqa: B007 - the last view is the result
            pass
        return view

    def send_stream(self, session_id: str | None, text: str, owner: str | None = None):
        """Like `send`, yielding Views while an answer is graded: first the answer with "채점 중…", then the
        grader's progress in its place ("채점 중… 핵심 포인트 3/5 확인 중"), the interviewer's words as a model
        streams them, and last the final View."""
        if not session_id:
            yield View(
                None,
                [],
                grade_markdown(None),
                "",
                message="먼저 '면접 시작'을 눌러 주세요. (Start first.)",
                keep_text=True,
            )
            return
        if text and len(text) > MAX_ANSWER_CHARS:
            try:
                check_answer(text)  # the one rule and its message; the text stays in the box
            except InterviewerError as e:
                yield self._refused(session_id, owner, f"{e} (보내지 않았습니다 / not sent)")
                return
        try:
            events = self.svc.interviews.reply_stream(session_id, text or "", owner=owner)
            before = None
            if not command_of(text):
                before = self.resume(session_id, owner)
                before.chat = before.chat + [{"role": "user", "content": text}]
                yield _waiting(before, GRADING)
            for event in events:
                if isinstance(event, TurnOutput):
                    yield _view(event)
                elif before is not None and isinstance(event, GradingStatus):
                    yield _waiting(before, f"{GRADING} {event.text}")
                elif before is not None:
                    yield _waiting(before, event + " ▌", italic=False)
        except InterviewerError as e:
            yield self._refused(session_id, owner, _message(e))

    def _refused(self, session_id: str, owner: str | None, message: str) -> View:
        current = self.resume(session_id, owner)
        current.message, current.keep_text = message, True
        return current

    def resume(self, session_id: str | None, owner: str | None = None) -> View:
        if not session_id:
            return View(None, [], grade_markdown(None), "")
        try:
            out = self.svc.interviews.resume(session_id, owner=owner)
        except InterviewerError as e:
            return View(None, [], grade_markdown(None), "", message=_message(e))
        return _view(out)

    # -- report tab -----------------------------------------------------------------------------------------------
    def report(self, session_id: str | None, owner: str | None = None) -> dict | None:
        if not session_id:
            return None
        try:
            return self.svc.report(session_id, owner)
        except InterviewerError:
            return None

    @staticmethod
    def report_summary(report: dict | None) -> str:
        """The top of the report tab: the session, its mean, and what to review next."""
        if not report:
            return NO_REPORT
        mean = "—" if report["mean"] is None else f"{report['mean']:.1f}"
        return "\n".join(
            [
                f"### 세션 {report['session_id']}",
                f"평균 **{mean}** / 5 · 채점 {report['graded']} / 질문 {report['asked']} · "
                f"{STATUS.get(report['status'], report['status'])}",
                "",
                "#### 다음에 복습할 것",
                *review_markdown(report["review_next"]),
            ]
        )

    @staticmethod
    def report_rows(report: dict | None) -> list[list]:
        """One row a question; the last column lists every wrong and missed key point in full, one a line."""
        if not report:
            return []
        kinds = {"main": "본 질문", "sub": "꼬리질문"}
        states = {"graded": "채점", "skipped": "건너뜀", "unscored": "채점하지 못함"}
        return [
            [
                i,
                kinds.get(q["kind"], q["kind"]),
                q["question"],
                "—" if q["score"] is None else q["score"],
                q["hints"],
                states[q["status"]],
                "\n".join(
                    f"{STATUS_KO[k['status']]}: {k['point']}"
                    for k in q["key_points"]
                    if k["status"] in ("contradicted", "missed")
                ),
            ]
            for i, q in enumerate(report["questions"], 1)
        ]

    @staticmethod
    def topic_frame(report: dict | None):
        """Mean score per topic. The columns are typed even when there is no row: the chart takes its axis types
        from the first frame it gets, and an untyped empty one made every later y axis categorical (a single tick
        "0" under full-height bars instead of the 0-5 scale)."""
        import pandas as pd

        rows = report["topics"] if report else []
        frame = pd.DataFrame(rows or [], columns=["topic", "mean", "questions"])
        return frame.astype({"topic": str, "mean": float, "questions": int})

    @staticmethod
    def report_files(report: dict | None) -> tuple[str | None, str | None]:
        """The report as Markdown and JSON files for download."""
        if not report:
            return None, None
        # One pair per session, rewritten on each click: a new folder per click was never cleaned up. The system
        # temp dir, because Gradio serves files from there without an allowed_paths entry. The session id's random
        # part keeps the names unguessable.
        folder = Path(tempfile.gettempdir()) / "interviewer-reports"
        folder.mkdir(exist_ok=True)
        md, js = folder / f"report-{report['session_id']}.md", folder / f"report-{report['session_id']}.json"
        md.write_text(to_markdown(report), encoding="utf-8")
        js.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        return str(md), str(js)

    # -- history tab ----------------------------------------------------------------------------------------------
    def history_rows(self, owner: str | None = None) -> list[list]:
        return [
            [
                r["id"],
                r["created"].replace("T", " ")[:16],
                r["model"],
                STATUS.get(r["status"], r["status"]),
                r["graded"],
                "—" if r["mean"] is None else r["mean"],
                ", ".join(r["topics"]) or "전체",
            ]
            for r in self.svc.interviews.list_sessions(owner)
        ]

    def review_markdown(self, owner: str | None = None) -> str:
        from datetime import datetime

        from ..interview.schedule import review_order

        iv = self.svc.interviews
        now = datetime.now(UTC)
        weak = [w for w in iv.weak_topics(owner) if w["weak"]]
        order = review_order(iv.cards(owner), now)
        lines = ["### 약한 주제 (Weak topics)"]
        lines += [f"- {w['topic']}: 평균 {w['mean']:.1f}점 ({w['questions']}문항)" for w in weak] or ["- 없습니다."]
        lines += ["", "### 복습할 질문 (Due for review)"]
        due = [c for c in order if c.is_due(now)]
        lines += [f"- {self.svc.bank.get(c.question_id).question} — 최근 {c.last_score:.1f}점" for c in due[:10]] or [
            "- 지금 복습할 질문이 없습니다." + (f" 다음 복습일: {min(c.due for c in order):%Y-%m-%d}" if order else "")
        ]
        return "\n".join(lines)

    # -- setup ----------------------------------------------------------------------------------------------------
    def topics(self) -> list[str]:
        return sorted({t for q in self.svc.bank for t in q.topics})

    def models(self) -> list[str]:
        """Models a user can pick: offline always, the configured one, and the local ones already pulled."""
        from ..providers import available

        specs = ["offline", self.svc.settings.model]
        specs += [
            r["spec"] for r in available(self.svc.settings.data_dir) if r["available"] and "MODEL" not in r["spec"]
        ]
        return list(dict.fromkeys(specs))


def _waiting(before: View, text: str, *, italic: bool = True) -> View:
    """The chat with the answer sent and, in the interviewer's place, what is happening meanwhile."""
    shown = f"_{text}_" if italic else text
    return View(
        before.session_id, before.chat + [{"role": "assistant", "content": shown}], before.grade_md, before.passages_md
    )


def _message(e: InterviewerError) -> str:
    return f"⚠️ {e}" + (f" — {e.hint}" if e.hint else "")
