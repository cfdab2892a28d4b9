"""The terminal interview (`interviewer chat`): a thin loop over the interview service."""

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt

from .errors import InterviewerError
from .interview import GradingStatus, TurnOutput
from .interview.records import turn_grade
from .render import grade_panel
from .service import Service

GRADING = "채점 중…"


def read_answer(console: Console) -> str | None:
    """One answer; several lines end with an empty line; a command word ends at once. None at end of input."""
    from .interview.graph import command_of

    lines: list[str] = []
    while True:
        try:
            line = Prompt.ask(
                "[dim]답변[/]" if not lines else "[dim]…[/]", console=console, default="", show_default=False
            )
        except (EOFError, KeyboardInterrupt):
            return "\n".join(lines) if lines else None
        if not line.strip():
            if lines:
                return "\n".join(lines)
            continue
        lines.append(line)
        if len(lines) == 1 and command_of(line):
            return line.strip()


def show(console: Console, out: TurnOutput, *, include_candidate: bool = False) -> None:
    for line in out.new:
        if line["role"] == "candidate":
            if include_candidate:
                console.print(f"[dim]지원자:[/] {line['text']}", highlight=False)
            continue
        if line["kind"] == "question":
            console.rule(style="dim")
            console.print(f"[bold cyan]{line['text']}[/]", highlight=False)
            continue
        if line["kind"] == "reaction" and line.get("turn"):
            turn = out.turns[line["turn"] - 1]
            result = turn_grade(turn)
            if result is not None:
                if turn["score"] is not None and result.score is not None and turn["score"] < result.score:
                    result.score = turn["score"]  # the hint cap, shown as the score that counts
                console.print(grade_panel(result, turn["question"]))
        style = {"hint": "yellow", "summary": "bold", "notice": "dim"}.get(line["kind"], "")
        console.print(f"[{style}]{line['text']}[/]" if style else line["text"], highlight=False)


def _reply(console: Console, iv, sid: str, answer: str) -> TurnOutput:
    """The reply. While it is graded, a status line says what the grader is doing ("채점 중… 핵심 포인트 3/5 확인
    중"), and the interviewer's words show live while a streaming model writes them."""
    from rich.console import Group
    from rich.live import Live
    from rich.spinner import Spinner
    from rich.text import Text

    from .interview.graph import command_of

    out, draft = None, Text("")
    events = iv.reply_stream(sid, answer)  # an unusable answer is refused here, before anything is shown
    status = Spinner("dots", text=Text(GRADING, style="dim"))
    with Live(
        Group(draft, status) if not command_of(answer) else draft, console=console, transient=True, refresh_per_second=8
    ) as live:
        for event in events:
            if isinstance(event, GradingStatus):
                status.update(text=Text(f"{GRADING} {event.text}", style="dim"))
            elif isinstance(event, str):
                draft = Text(event, style="dim")
                live.update(Group(draft, status))
            else:
                out = event
    return out


def chat(svc: Service, console: Console, *, resume: str | None = None, **options) -> str:
    iv = svc.interviews
    if resume:
        out = iv.resume(resume)
        out.new = out.transcript
        show(console, out, include_candidate=True)
    else:
        console.print("색인을 확인하는 중입니다…", style="dim")
        out = svc.start_interview(**options)
        show(console, out)
    sid = out.session_id
    while not out.done:
        answer = read_answer(console)
        if answer is None:
            console.print(
                f"\n세션을 저장했습니다. 이어서 하려면:\n  [bold]interviewer chat --resume {sid}[/]", highlight=False
            )
            return sid
        try:
            out = _reply(console, iv, sid, answer)
        except InterviewerError as e:
            console.print(
                f"[red]{escape(str(e))}[/]" + (f" [dim]{escape(e.hint)}[/]" if e.hint else ""), highlight=False
            )
            continue
        show(console, out)
    console.print(f"\n리포트 보기: [bold]interviewer report {sid}[/]", highlight=False)
    return sid
