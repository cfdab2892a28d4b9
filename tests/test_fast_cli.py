"""The CLI in-process on the fast tier: its own settings and service wiring run; the embedder is the fake one, the
offline grader the stub, and the index a copy of the session's small one."""

import json
import shutil

import pytest
from typer.testing import CliRunner

import interviewer.service
from interviewer.cli import app
from interviewer.service import Service

from .fakes import full_answer

runner = CliRunner()


@pytest.fixture()
def cli_env(fast_template, stub_grader, tmp_path, monkeypatch) -> dict:
    shutil.copytree(fast_template.settings.index_dir, tmp_path / "data" / "index")
    embedder, analyzer = fast_template.embedder, fast_template.analyzer  # read before Service is patched
    monkeypatch.setattr(interviewer.service, "make_embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setattr(Service, "offline_grader", property(lambda self: stub_grader))
    monkeypatch.setattr(Service, "analyzer", property(lambda self: analyzer))  # Kiwi loads once per session
    return {
        "INTERVIEWER_DATA_DIR": str(tmp_path / "data"),
        "INTERVIEWER_KNOWLEDGE_DIR": str(fast_template.settings.knowledge_dir),
        "INTERVIEWER_CONFIG": str(tmp_path / "absent.toml"),
    }


def test_bank_list_counts_come_from_the_bank(cli_env, fast_template):
    r = runner.invoke(app, ["bank", "list", "--json"], env=cli_env)
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [row["id"] for row in rows] == [q.id for q in fast_template.bank]
    assert sum(row["parent_id"] is None for row in rows) == len(fast_template.bank.mains())


def test_grade_json_uses_the_configured_grader(cli_env, fast_template, stub_grader):
    q = fast_template.bank.get("dl-vs-ml")
    r = runner.invoke(app, ["grade", "-q", q.id, "-a", full_answer(q), "--json"], env=cli_env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["score"] == 5.0 and stub_grader.calls == [(q.id, full_answer(q))]
    r = runner.invoke(app, ["grade", "-q", "no-such-question", "-a", "답"], env=cli_env)
    assert r.exit_code == 1 and "Traceback" not in r.output


def test_chat_on_stdin_then_sessions_and_report(cli_env, fast_template):
    q = fast_template.bank.get("dl-vs-ml")
    r = runner.invoke(app, ["chat", "--question", q.id], input=full_answer(q) + "\n\n", env=cli_env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["sessions", "list", "--json"], env=cli_env)
    sessions = json.loads(r.stdout)
    assert len(sessions) == 1 and sessions[0]["graded"] == 1 and sessions[0]["mean"] == 5.0
    sid = sessions[0]["id"]
    r = runner.invoke(app, ["report", sid, "--format", "json"], env=cli_env)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["session_id"] == sid and report["questions"][0]["question_id"] == q.id
    assert report["questions"][0]["score"] == 5.0
    r = runner.invoke(app, ["report", "no-such-session"], env=cli_env)
    assert r.exit_code == 1 and "세션을 찾을 수 없습니다" in r.output
