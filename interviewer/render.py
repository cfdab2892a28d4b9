"""Readable Korean renderings of results for the terminal."""

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .grading.schema import GradeResult, Status, flag_notes

_MARK = {Status.covered: ("✔ 다룸", "green"), Status.partial: ("△ 일부", "yellow"),
         Status.missed: ("✘ 빠짐", "red"), Status.contradicted: ("✘ 틀림", "bold red")}


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
        parts.append(Text("잘한 점: ", style="bold green") + Text(r.feedback.good))
        parts.append(Text("보완할 점: ", style="bold yellow") + Text(r.feedback.missing))
        parts.append(Text("모범 답안: ", style="bold") + Text(r.feedback.model_answer, style="dim"))
    notes = flag_notes(r.flags)
    if notes:
        parts.append(Text("참고: " + "; ".join(notes), style="dim"))
    return Panel(Group(*parts), title=question, title_align="left")
