"""A plain terminal practice round (`interviewer start`): main questions, their sub-questions, a grade per answer."""

import random

from rich.console import Console
from rich.prompt import Prompt

from .errors import InterviewerError
from .render import grade_panel
from .service import Service

_QUIT = {"종료", "quit", "exit", "q"}
_SKIP = {"패스", "skip", "pass"}


def _ask(console: Console) -> str | None:
    """One answer; several lines end with an empty line. None at end of input."""
    lines = []
    while True:
        try:
            line = Prompt.ask("[dim]답변[/]" if not lines else "[dim]…[/]", console=console, default="",
                              show_default=False)
        except (EOFError, KeyboardInterrupt):
            return None if not lines else "\n".join(lines)
        if not line.strip():
            if lines:
                return "\n".join(lines)
            continue
        lines.append(line)
        if line.strip().lower() in _QUIT | _SKIP and len(lines) == 1:
            return line.strip()


def practice(svc: Service, console: Console, *, model: str | None, topics: list[str], count: int) -> None:
    console.print("색인을 확인하는 중...", style="dim")
    svc.retriever()
    mains = [q for q in svc.bank.mains() if q.gradable and (not topics or set(q.topics) & set(topics))]
    if not mains:
        raise InterviewerError(f"주제 {topics}에 맞는 질문이 없습니다.", hint="`interviewer bank list` 로 주제를 보세요.")
    chosen = random.sample(mains, min(count, len(mains)))
    console.print(f"[bold]면접 연습[/] — 본 질문 {len(chosen)}개. 여러 줄 답변은 빈 줄로 끝냅니다. "
                  "'패스'로 건너뛰고 '종료'로 끝냅니다.\n")
    scores = []
    for main in chosen:
        for q in [main] + svc.bank.subs_of(main.id):
            console.rule(("꼬리질문" if q.parent else "질문") + f" · {', '.join(q.topics)}")
            console.print(f"[bold cyan]{q.question}[/]")
            answer = _ask(console)
            if answer is None or answer.lower() in _QUIT:
                _summary(console, scores)
                return
            if answer.lower() in _SKIP:
                console.print("[dim]건너뜁니다.[/]")
                continue
            try:
                result = svc.grade(q.id, answer, model)
            except InterviewerError as e:
                console.print(f"[red]{e}[/]")
                continue
            console.print(grade_panel(result, q.question))
            if result.score is not None:
                scores.append((q.id, result.score))
    _summary(console, scores)


def _summary(console: Console, scores: list[tuple[str, float]]) -> None:
    if scores:
        mean = sum(s for _, s in scores) / len(scores)
        console.print(f"\n[bold]끝났습니다.[/] 답변 {len(scores)}개, 평균 {mean:.1f} / 5")
        weak = [qid for qid, s in scores if s < 2.5]
        if weak:
            console.print("다시 볼 질문: " + ", ".join(weak))
    else:
        console.print("\n끝났습니다.")
