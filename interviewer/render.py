"""Readable Korean renderings of results for the terminal."""

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .grading.feedback import LABELS, feedback_sections
from .grading.schema import STATUS_KO, Feedback, GradeResult, Status, flag_notes

_STYLE = {Status.covered: "green", Status.partial: "yellow", Status.missed: "red", Status.contradicted: "bold red"}
_MARK = {status: (STATUS_KO[status.value], style) for status, style in _STYLE.items()}
_SECTION_STYLE = {
    "note": "dim",
    "good": "bold green",
    "wrong": "bold red",
    "missing": "bold yellow",
    "model_answer": "bold",
}


def feedback_texts(fb: Feedback) -> list[Text]:
    """The feedback's sections in the one order every renderer uses: a label, then one line an item (the model
    answer and a note as a paragraph)."""
    keys = {label: key for key, label in LABELS["ko"].items()}
    out = []
    for label, lines in feedback_sections(fb):
        key = keys.get(label, "")
        if key in ("note", "model_answer"):
            body = Text(" ".join(lines), style="dim" if key == "model_answer" else "")
            out.append(Text(f"{label}: ", style=_SECTION_STYLE[key]) + body)
            continue
        out.append(Text(label, style=_SECTION_STYLE.get(key, "bold")))
        out += [Text(f"  • {line}") for line in lines]
    return out


def grade_panel(r: GradeResult, question: str) -> Panel:
    parts = []
    if r.score is None:
        parts.append(Text(f"채점하지 못했습니다: {r.unscored_reason}", style="bold red"))
    else:
        head = Text(f"점수 {r.score:.1f} / 5", style="bold")
        if r.off_topic:
            head.append("  (질문과 다른 주제의 답변)", style="red")
        if r.dont_know:
            head.append("  (모름)", style="yellow")
        if r.offline_score is not None and r.grader != "offline":
            head.append(f"  · 오프라인 채점 {r.offline_score:.1f}", style="dim")
        parts.append(head)
    if r.key_points:
        table = Table("핵심 포인트", "판정", "답변 근거", show_lines=False, expand=True)
        for j in r.key_points:
            label, style = _MARK[j.status]
            table.add_row(j.point, Text(label, style=style), j.evidence or "")
        parts.append(table)
    if r.feedback:
        parts += feedback_texts(r.feedback)
    notes = flag_notes(r.flags)
    if notes:
        parts.append(Text("참고: " + "; ".join(notes), style="dim"))
    return Panel(Group(*parts), title=question, title_align="left")
