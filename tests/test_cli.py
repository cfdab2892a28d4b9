import json

import pytest
from typer.testing import CliRunner

from interviewer.bank import load_bank
from interviewer.cli import app

from .conftest import KNOWLEDGE

runner = CliRunner()


@pytest.fixture()
def env(full_service):
    """CLI runs share the session's index (no re-embedding)."""
    return {"INTERVIEWER_DATA_DIR": str(full_service.settings.data_dir)}


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["bank"],
        ["bank", "check"],
        ["bank", "list"],
        ["bank", "import"],
        ["index"],
        ["search"],
        ["grade"],
        ["eval"],
        ["chat"],
        ["simulate"],
        ["sessions"],
        ["sessions", "list"],
        ["report"],
        ["ui"],
    ],
)
def test_every_command_has_help(args):
    r = runner.invoke(app, args + ["--help"])
    assert r.exit_code == 0 and "Usage" in r.output


def test_bank_list_json(env):
    r = runner.invoke(app, ["bank", "list", "--json"], env=env)
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    bank = load_bank(KNOWLEDGE)
    assert [d["id"] for d in data] == [q.id for q in bank]
    assert set(data[0]) >= {"id", "question", "parent_id", "topics", "reference", "key_points", "pitfalls"}
    assert sum(d["parent_id"] is None for d in data) == len(bank.mains())


def test_bank_check_ok_and_broken(tmp_path):
    r = runner.invoke(app, ["--knowledge-dir", str(KNOWLEDGE), "bank", "check"])
    assert r.exit_code == 0 and f"질문 {len(load_bank(KNOWLEDGE))}개" in r.output
    (tmp_path / "questions").mkdir()
    (tmp_path / "questions" / "01-x.yaml").write_text("id: x\nquestion: [broken\n", encoding="utf-8")
    r = runner.invoke(app, ["--knowledge-dir", str(tmp_path), "bank", "check"])
    assert r.exit_code == 1
    assert "01-x.yaml:2:" in r.output and "Traceback" not in r.output


def test_search_json_and_queries(env, tmp_path):
    r = runner.invoke(app, ["search", "드롭아웃의 효과", "--k", "2", "--json"], env=env)
    assert r.exit_code == 0
    hits = json.loads(r.stdout)
    assert len(hits) == 2 and hits[0]["question_id"] == "dropout"
    assert set(hits[0]) == {"question_id", "question", "chunk_id", "score"}
    queries = tmp_path / "q.txt"
    queries.write_text("모멘텀 수식\n\nGPU 메모리 계산\n", encoding="utf-8")
    r = runner.invoke(app, ["search", "--queries", str(queries), "--k", "3", "--json"], env=env)
    lists = json.loads(r.stdout)
    assert len(lists) == 2 and all(len(x) == 3 for x in lists)
    assert lists[0][0]["question_id"] == "momentum-formula"


def test_search_needs_exactly_one_input(env):
    r = runner.invoke(app, ["search"], env=env)
    assert r.exit_code != 0 and "TEXT" in r.output


def test_grade_json_and_readable(env):
    r = runner.invoke(
        app, ["grade", "-q", "dropout", "-a", "뉴런을 무작위로 꺼서 과적합을 줄입니다.", "--json"], env=env
    )
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["question_id"] == "dropout" and 0 <= data["score"] <= 5 and data["grader"] == "offline"
    r = runner.invoke(
        app, ["grade", "-q", "Dropout의 효과는?", "-a", "뉴런을 무작위로 꺼서 과적합을 줄입니다."], env=env
    )
    assert r.exit_code == 0 and "점수" in r.output and "모범 답안" in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["-q", "dropout", "-a", "   "], "비어 있습니다"),
        (["-q", "양자역학이란?", "-a", "답"], "없는 질문"),
        (["-q", "dropout", "-a", "가" * 5000], "너무 깁니다"),
        (["-q", "dropout", "-a", "x", "--model", "nonsense:1"], "알 수 없는 모델"),
    ],
)
def test_grade_bad_input_is_one_clear_line(env, args, message):
    r = runner.invoke(app, ["grade"] + args, env=env)
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output


def test_grade_reads_stdin_and_refuses_binary(env):
    r = runner.invoke(
        app, ["grade", "-q", "dropout", "-a", "-", "--json"], input="뉴런을 무작위로 끈다".encode(), env=env
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["question_id"] == "dropout"
    r = runner.invoke(app, ["grade", "-q", "dropout", "-a", "-"], input=b"\xff\xfe\x00\x89PNG", env=env)
    assert r.exit_code == 1 and "UTF-8" in r.output


def test_eval_report_and_bad_lines(env, tmp_path):
    data = tmp_path / "set.jsonl"
    lines = [
        {
            "id": "a",
            "question": "dropout",
            "answer": "뉴런을 무작위로 꺼서 co-adaptation을 막고 앙상블 효과를 냅니다.",
            "gold": 4,
            "tier": "good",
        },
        {"id": "b", "question": "Dropout의 효과는?", "answer": "잘 모르겠습니다.", "gold": 0, "tier": "dont_know"},
        {"id": "c", "question": "없는 질문?", "answer": "x", "gold": 1},
    ]
    data.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{not json\n", encoding="utf-8")
    out = tmp_path / "r.json"
    r = runner.invoke(app, ["eval", str(data), "--out", str(out)], env=env)
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert (rep["n"], rep["scored"], rep["unscored"]) == (4, 2, 2)
    assert set(rep["metrics"]) == {"spearman", "pairwise_accuracy", "qwk", "mae", "by_tier"}
    assert rep["metrics"]["pairwise_accuracy"] == 1.0
    items = {i["id"]: i for i in rep["items"]}
    assert items["c"]["error"] and items["c"]["score"] is None
    assert items["line-4"]["error"].startswith("set.jsonl:4")
    assert items["b"]["dont_know"] and items["b"]["score"] == 0.0
    r2 = runner.invoke(app, ["eval", str(data), "--serial"], env=env)
    assert [i["score"] for i in json.loads(r2.stdout)["items"]] == [i["score"] for i in rep["items"]]


def test_import_command(tmp_path):
    md = tmp_path / "ml-list.md"
    md.write_text("## ML\n- 편향-분산 트레이드오프란?\n\t- 예시는?\n> 모델 복잡도에 따른 오차 분해\n", encoding="utf-8")
    out = tmp_path / "out"
    r = runner.invoke(app, ["bank", "import", str(md), "--out", str(out), "--topic", "ml"])
    assert r.exit_code == 0, r.output
    assert (out / "ml-list-01.yaml").exists()
    r = runner.invoke(app, ["bank", "import", str(tmp_path / "missing.md"), "--out", str(out)])
    assert r.exit_code == 1 and "읽을 수 없습니다" in r.output


def test_chat_runs_an_interview_on_stdin_and_can_be_resumed(env):
    # skip the first question, answer the next with two lines, then stop at end of input
    answers = (
        "패스\n과적합은 훈련 데이터에만 지나치게 맞아 일반화가 안 되는 현상입니다.\n"
        "드롭아웃과 L2 정규화, 데이터 증강으로 줄입니다.\n\n"
    )
    questions = ["--question", "weight-initialization", "--question", "overfitting", "--question", "dl-vs-ml"]
    r = runner.invoke(app, ["chat", *questions], input=answers, env=env)
    assert r.exit_code == 0, r.output
    assert "점수" in r.output and "넘어가겠습니다" in r.output and "--resume" in r.output
    sid = r.output.split("--resume")[-1].split()[0]
    r = runner.invoke(app, ["chat", "--resume", sid], input="종료\n", env=env)
    assert r.exit_code == 0 and "중단" in r.output and "지원자:" in r.output
    r = runner.invoke(app, ["sessions", "list", "--json"], env=env)
    row = next(x for x in json.loads(r.stdout) if x["id"] == sid)
    assert row["status"] == "stopped"
    r = runner.invoke(app, ["report", sid, "--format", "json"], env=env)
    report = json.loads(r.stdout)
    assert [q["status"] for q in report["questions"]][:1] == ["skipped"] and report["timeline"]
    r = runner.invoke(app, ["report", sid], env=env)
    assert r.exit_code == 0 and r.stdout.startswith("# 면접 리포트")
    r = runner.invoke(app, ["sessions", "show", sid], env=env)
    assert r.exit_code == 0 and "면접관" in r.output
    r = runner.invoke(app, ["sessions", "delete", sid], env=env)
    assert r.exit_code == 0
    r = runner.invoke(app, ["report", sid], env=env)
    assert r.exit_code == 1 and "세션을 찾을 수 없습니다" in r.output


def test_chat_with_an_unknown_topic(env):
    r = runner.invoke(app, ["chat", "--topic", "quantum"], input="", env=env)
    assert r.exit_code == 1 and "quantum" in r.output and "Traceback" not in r.output


@pytest.mark.xfail(
    strict=True,
    reason="open defect (grader issue): the fitted offline grader gives one key point in the bank's own words 4.35, "
    "above 4, because train's short answers are its correct concise ones",
)
def test_simulate_with_a_scripted_candidate(env, tmp_path, full_service):
    bank = full_service.bank
    lines = [
        {"question": "weight-initialization", "answer": bank.get("weight-initialization").key_points[0].point},
        {"question": bank.get("overfitting").question, "answer": bank.get("overfitting").reference},
    ]
    cand = tmp_path / "cand.jsonl"
    cand.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "simulate",
            "--candidate",
            str(cand),
            "--topic",
            "regularization",
            "--topic",
            "optimization",
            "--count",
            "22",
            "--json",
        ],
        env=env,
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert set(data) == {"session_id", "turns", "report"}
    turns = {(t["kind"], t["question_id"]): t for t in data["turns"]}
    assert turns[("main", "overfitting")]["score"] >= 4 and turns[("main", "overfitting")]["grade"]["key_points"]
    wi = turns[("main", "weight-initialization")]
    assert wi["status"] == "graded" and wi["score"] < 4
    assert turns[("follow_up", "weight-initialization")]["status"] == "skipped"  # no scripted follow-up answer
    unanswered = [t for t in data["turns"] if t["question_id"] not in ("weight-initialization", "overfitting")]
    assert unanswered and all(t["status"] == "skipped" for t in unanswered)
    assert data["report"]["graded"] == 2


def test_simulate_persona_needs_an_llm(env):
    r = runner.invoke(app, ["simulate", "--candidate", "weak"], env=env)
    assert r.exit_code == 1 and "LLM" in r.output


def test_ui_takes_several_users_and_refuses_a_malformed_one(monkeypatch, tmp_path):
    import interviewer.ui.app

    launched = {}
    monkeypatch.setattr(interviewer.ui.app, "launch", lambda svc, **kw: launched.update(kw))
    env = {"INTERVIEWER_DATA_DIR": str(tmp_path)}
    r = runner.invoke(app, ["ui", "--auth", "alice:pw:with:colons", "--auth", "bob:pw-b", "--port", "7999"], env=env)
    assert r.exit_code == 0, r.output
    assert launched["auth"] == [("alice", "pw:with:colons"), ("bob", "pw-b")] and launched["port"] == 7999
    launched.clear()
    r = runner.invoke(app, ["ui"], env=env)
    assert r.exit_code == 0 and launched["auth"] is None  # a local run: no login, every session visible
    for bad in ("alice", ":secret", "alice:"):
        r = runner.invoke(app, ["ui", "--auth", bad], env=env)
        assert r.exit_code == 2 and "USER:PASS" in r.output and "secret" not in r.output


def test_chat_shows_what_the_grader_is_doing(monkeypatch, tmp_path):
    import time
    from types import SimpleNamespace

    from rich.console import Console

    import interviewer.chat
    from interviewer.bank import load_bank
    from interviewer.grading.schema import GradeResult, KeyPointJudgment, Status
    from interviewer.interview import Interviews

    bank = load_bank(KNOWLEDGE)
    q = next(q for q in bank.mains() if q.gradable and not bank.subs_of(q.id))

    def slow_grade(question, answer, spec, follow_up, on_text, progress):
        for i in range(len(question.key_points)):
            progress(f"핵심 포인트 {i + 1}/{len(question.key_points)} 확인 중")
            time.sleep(0.3)  # a slow model: the status line is redrawn meanwhile
        judgments = [
            KeyPointJudgment(index=i, point=kp.point, status=Status.covered) for i, kp in enumerate(question.key_points)
        ]
        return GradeResult(question_id=question.id, score=5.0, key_points=judgments, grader="slow")

    iv = Interviews(bank, slow_grade, lambda *a: None, tmp_path / "s.sqlite")
    answers = iter(["첫 답변입니다.", None])
    monkeypatch.setattr(interviewer.chat, "read_answer", lambda console: next(answers))
    console = Console(record=True, force_terminal=True, width=100)
    try:
        sid = interviewer.chat.chat(SimpleNamespace(interviews=iv, start_interview=iv.start), console, questions=[q.id])
    finally:
        iv.close()
    text = console.export_text()
    assert f"채점 중… 핵심 포인트 {len(q.key_points)}/{len(q.key_points)} 확인 중" in text
    assert "점수 5.0 / 5" in text and f"interviewer report {sid}" in text
