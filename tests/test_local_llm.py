"""Contract tests against a real llama.cpp server (xllamacpp, in-process) running SmolLM2-135M.

SmolLM2 is far too small to grade well: these tests check the wiring (schema-constrained output parses, streaming,
a dead server), not the grades."""

from pathlib import Path

import pytest

from interviewer.grading.llm import LLMGrade, LLMGrader
from interviewer.local_llm import LocalServer, pull
from interviewer.providers import make_chat_model

# These tests are about the structured (one JSON reply) LLM grader; the checklist judge has its own.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("structured_grading")]


@pytest.fixture(scope="module")
def smollm2(full_service):
    pytest.importorskip("xllamacpp", reason="the `local` extra is not installed")
    pull(full_service.settings.data_dir, "smollm2")
    yield "local:smollm2"
    LocalServer.stop_all()


def test_pull_is_verified_and_idempotent(full_service, smollm2):
    path = pull(full_service.settings.data_dir, "smollm2")
    assert path.stat().st_size > 90_000_000 and path.name == "smollm2.gguf"
    assert not path.with_suffix(".part").exists()


def test_schema_constrained_grade_parses(full_service, smollm2):
    """Decoding is constrained to the schema: whatever the tiny model says is one judgment per key point."""
    q = full_service.bank.get("dropout")
    # SmolLM2's tokenizer spends ~3 tokens per Hangul syllable, so give it room to finish the bounded strings.
    grader = LLMGrader(
        make_chat_model(smollm2, full_service.settings.data_dir, max_tokens=3000),
        smollm2,
        full_service.offline_grader,
        full_service.settings.prompts_dir,
    )
    raw = grader._bind_schema(len(q.key_points)).invoke(grader.messages(q, "뉴런을 무작위로 끈다.", [], "n0nce"))
    reply = LLMGrade.model_validate_json(raw.content)
    assert len(reply.key_points) == len(q.key_points)


def test_full_grade_is_scored_or_unscored_never_a_fake_zero(full_service, smollm2):
    r = full_service.grade("dropout", "학습 중 뉴런을 무작위로 꺼서 과적합을 줄입니다.", model=smollm2)
    assert r.grader == smollm2 and r.offline_score is not None
    if r.score is None:
        assert r.unscored_reason and not r.key_points
    else:
        assert len(r.key_points) == len(full_service.bank.get("dropout").key_points)
    # The grader waits on the server's own slots: one semaphore per server, however the spec names it.
    server = LocalServer.get(full_service.settings.data_dir, "smollm2")
    assert full_service.grader(smollm2)._slots is server.slots
    held = [server.slots.acquire(blocking=False) for _ in range(server.parallel + 1)]
    for ok in held:
        if ok:
            server.slots.release()
    assert held == [True] * server.parallel + [False]


def test_a_prompt_decodes_the_same_after_another_prompt_shared_its_prefix(full_service, smollm2):
    # llama.cpp's prompt cache would reuse the first request's prefix for the third, computed in other batch
    # shapes than a fresh pass: at temperature 0 the same grading prompt then decoded differently run to run.
    from langchain_core.messages import HumanMessage, SystemMessage

    model = make_chat_model(smollm2, full_service.settings.data_dir, max_tokens=48)
    system = SystemMessage(full_service.bank.get("batch-normalization").reference)
    ask = [[system, HumanMessage(f"Explain in one sentence: {topic}")] for topic in ("dropout", "momentum")]
    first = model.invoke(ask[0]).content
    model.invoke(ask[1])
    assert model.invoke(ask[0]).content == first


def test_grading_reuses_its_fixed_openings_and_an_answer_still_decodes_the_same(full_service, smollm2, monkeypatch):
    # The instructions and the question's rubric are computed once, saved from the slot and restored before each
    # request: the server reports exactly them as cached, and an answer graded again after another answer decodes
    # as the first time (llama.cpp's own reuse of whatever the previous request shared did not). With room for two
    # saved openings, the third evicts the oldest, and the first answer's openings are recomputed the same way.
    server = LocalServer.get(full_service.settings.data_dir, "smollm2")
    monkeypatch.setattr(server, "MAX_SAVED", 2)
    model = make_chat_model(smollm2, full_service.settings.data_dir, max_tokens=48)
    g = LLMGrader(
        model,
        smollm2,
        full_service.offline_grader,
        full_service.settings.prompts_dir,
        slots=server.slots,
        reuse_prefix=server.reuse_prefix,
    )

    def ask(qid, answer):
        q = full_service.bank.get(qid)
        with server.slots:
            extra = server.reuse_prefix(g.prefixes(q))
            raw = model.invoke(g.messages(q, answer, [], "abcd1234"), extra_body=extra)
        usage = raw.response_metadata["token_usage"]
        return raw.content, usage["prompt_tokens_details"]["cached_tokens"], usage["prompt_tokens"]

    first = ask("dropout", "학습 때 뉴런을 끕니다.")
    other = ask("dropout", "앙상블 효과가 있습니다.")
    elsewhere = ask("batch-normalization", "평균과 분산으로 정규화합니다.")
    again = ask("dropout", "학습 때 뉴런을 끕니다.")
    assert again == first
    assert 0 < first[1] == other[1] < first[2]  # the openings, never the whole prompt
    assert 0 < elsewhere[1] != first[1]
    saved = list(Path(server._slot_dir).iterdir())
    assert 0 < len(saved) <= server.MAX_SAVED
    assert sorted(p.name for p in saved) == sorted(server._saved.values())  # evicted files are gone from disk


def test_streaming_yields_several_chunks(full_service, smollm2):
    model = make_chat_model(smollm2, full_service.settings.data_dir)
    chunks = [c.content for c in model.stream("Count from 1 to 5.")]
    assert len(chunks) > 2 and "".join(chunks).strip()


def test_interview_turn_against_the_real_server_streams_and_goes_on(full_service, smollm2, tmp_path):
    from interviewer.interview import Interviews, TurnOutput

    iv = Interviews(
        full_service.bank, full_service._interview_grade, full_service.offline_grader.grade, tmp_path / "s.sqlite"
    )
    out = iv.start(questions=["weight-initialization", "overfitting"], model=smollm2)
    events = list(iv.reply_stream(out.session_id, "가중치를 0으로 두면 대칭성 때문에 모든 뉴런이 같아집니다."))
    final = events[-1]
    assert isinstance(final, TurnOutput) and final.last_turn["status"] in ("graded", "unscored")
    if final.last_turn["status"] == "graded":
        assert any(isinstance(e, str) and e for e in events[:-1])  # the feedback was streamed as it was written
    else:
        assert final.last_turn["score"] is None  # unscored, never a fake 0
    assert final.waiting is not None and not final.done  # the interview goes on either way


def test_persona_candidate_played_by_the_real_server(full_service, smollm2):
    from typer.testing import CliRunner

    from interviewer.cli import app

    r = CliRunner().invoke(
        app,
        ["simulate", "--candidate", "weak", "--candidate-model", smollm2, "--count", "1", "--seed", "3", "--json"],
        env={"INTERVIEWER_DATA_DIR": str(full_service.settings.data_dir)},
    )
    assert r.exit_code == 0, r.output
    import json

    data = json.loads(r.stdout[r.stdout.index("{") :])
    assert data["turns"] and all(t["answer"] for t in data["turns"] if t["status"] != "skipped")
    assert data["turns"][0]["kind"] == "main" and data["turns"][0]["grade"]["grader"] == "offline"


def test_a_killed_server_gives_a_clear_unscored_result(full_service, smollm2):
    grader = LLMGrader(
        make_chat_model(smollm2, full_service.settings.data_dir),
        smollm2,
        full_service.offline_grader,
        full_service.settings.prompts_dir,
    )
    LocalServer.stop_all()
    r = grader.grade(full_service.bank.get("dropout"), "뉴런을 무작위로 끈다.")
    assert r.score is None and "모델 서버에 연결할 수 없습니다" in r.unscored_reason
    assert r.offline_score is not None  # the session keeps its offline grade


def test_a_model_that_is_not_pulled_says_how_to_pull_it(tmp_path):
    from interviewer.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        make_chat_model("local:qwen2.5-coder-1.5b", tmp_path)
    assert "models pull qwen2.5-coder-1.5b" in e.value.hint
