"""`--model local` through the service: checklist judgments combined with the offline evidence, against the real
llama.cpp server running SmolLM2 (far too small to judge well: the contract is tested, not the judgments)."""

import os

import pytest

from interviewer.grading.combined import CombinedGrader, CombinedParams, params_path, question_digest
from interviewer.grading.schema import Status
from interviewer.providers import grading_mode

pytestmark = pytest.mark.integration

ANSWER = "학습 중 뉴런을 확률 p로 무작위로 꺼서 과적합을 줄입니다. 추론 때도 똑같이 뉴런을 무작위로 끕니다."


@pytest.fixture(scope="module")
def smollm2(full_service):
    pytest.importorskip("xllamacpp", reason="the `local` extra is not installed")
    from interviewer.local_llm import model_path, pull, resolve
    from interviewer.settings import Settings

    pulled = model_path(Settings().data_dir, resolve("smollm2"))
    target = model_path(full_service.settings.data_dir, resolve("smollm2"))
    if pulled.exists() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(pulled, target)
    elif not target.exists():
        pull(full_service.settings.data_dir, "smollm2")
    return "local:smollm2"


def test_a_model_with_token_probabilities_gets_the_checklist_grader(full_service, smollm2):
    assert grading_mode(smollm2) == "checklist" and grading_mode("offline") == "offline"
    assert grading_mode(smollm2, "structured") == "structured"
    assert isinstance(full_service.grader(smollm2), CombinedGrader)


def test_grade_combines_probabilities_with_offline_evidence_and_repeats(full_service, smollm2):
    q = full_service.bank.get("dropout")
    said = []
    first = full_service.grader(smollm2).grade(q, ANSWER, progress=said.append)
    assert first.scored and 0.0 <= first.score <= 5.0 and first.grader == smollm2
    assert first.offline_score is not None
    assert [j.probability is not None for j in first.key_points] == [True] * len(q.key_points)
    asked = CombinedParams.load(smollm2).top_k or len(q.pitfalls)
    # The offline step, the anchor (the committed ones are another model's: judged once), then one per judgment.
    assert said[:3] == ["답변 분석 중", "참고 답안 기준 확인 중", f"핵심 포인트 1/{len(q.key_points)} 확인 중"]
    assert len(said) == 2 + len(q.key_points) + asked
    # Feedback quotes only the candidate's own sentences and never praises a contradicted point.
    for line in first.feedback.good:
        assert line.split(" — “", 1)[1].rstrip("”") in ANSWER
    contradicted = {j.point for j in first.key_points if j.status is Status.contradicted}
    assert not any(line.split(" — ")[0] in contradicted for line in first.feedback.good)
    full_service.grader(smollm2).grade(q, "앙상블 효과가 있습니다.")
    said.clear()
    again = full_service.grader(smollm2).grade(q, ANSWER, progress=said.append)
    assert "참고 답안 기준 확인 중" not in said
    assert again.score == first.score
    assert [j.probability for j in again.key_points] == [j.probability for j in first.key_points]


def test_rules_hold_without_asking_the_model(full_service, smollm2):
    q = full_service.bank.get("dropout")
    r = full_service.grader(smollm2).grade(q, "잘 모르겠습니다.")
    assert r.dont_know and r.score == 0.0 and all(j.probability is None for j in r.key_points)


def test_the_committed_blend_comes_from_the_fitting_command(bank):
    params = CombinedParams.load("local")
    assert params_path("local").exists() and params.fitted["command"] == "interviewer calibrate --model local"
    assert params.fitted["n"] >= 30 and 0.0 <= params.misconception_at <= 1.0
    # Every question the fit saw has its anchor, for the bank as it is now.
    assert params.anchors and all(a.digest == question_digest(bank.get(qid)) for qid, a in params.anchors.items())
