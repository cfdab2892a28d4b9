"""Grades and feedback tell the truth: fitted parameters, misconceptions named with their correction, no praise for
what an answer got wrong or never said."""

import json

import pytest

from interviewer.bank import load_bank
from interviewer.grading.calibration import FEATURES, PARAMS_PATH, Calibration
from interviewer.grading.feedback import build_feedback, feedback_sections
from interviewer.grading.offline import MIS_SIGNALS
from interviewer.grading.schema import Feedback, KeyPointJudgment, Status

from .conftest import KNOWLEDGE, shared_file


@pytest.fixture(scope="module")
def dropout():
    return load_bank(KNOWLEDGE).get("dropout")


def test_feedback_never_praises_a_point_whose_only_evidence_is_a_wrong_sentence(dropout):
    wrong = "Dropout은 추론 때도 뉴런을 무작위로 끕니다."
    judgments = [
        KeyPointJudgment(index=0, point=dropout.key_points[0].point, status=Status.covered, evidence=wrong),
        KeyPointJudgment(
            index=1,
            point=dropout.key_points[1].point,
            status=Status.contradicted,
            evidence=wrong,
            correction="일반적인 추론에서는 Dropout을 끈다.",
        ),
        KeyPointJudgment(index=2, point=dropout.key_points[2].point, status=Status.partial, evidence="앙상블"),
        KeyPointJudgment(index=3, point=dropout.key_points[3].point, status=Status.missed),
    ]
    fb = build_feedback(dropout, judgments)
    assert fb.good == []  # the covered point's evidence is the sentence judged wrong
    assert [(w.quote, w.correction) for w in fb.wrong] == [(wrong, "일반적인 추론에서는 Dropout을 끈다.")]
    assert fb.missing[0] == dropout.key_points[3].point
    assert fb.missing[1].startswith(dropout.key_points[2].point) and "구체적" in fb.missing[1]
    labels = [label for label, _ in feedback_sections(fb)]
    assert labels == ["틀린 점", "빠진 점", "모범 답안"]


def test_praise_quotes_the_candidate_and_whole_answer_notes_replace_praise(dropout):
    said = "학습 중 뉴런 출력을 확률 p로 0으로 만들어 과적합을 줄입니다."
    j = [KeyPointJudgment(index=0, point=dropout.key_points[0].point, status=Status.covered, evidence=said)]
    assert build_feedback(dropout, j).good == [f"{dropout.key_points[0].point} — “{said}”"]
    off = build_feedback(dropout, j, note_key="off_topic")
    assert off.good == [] and "다른 주제" in off.note


def test_feedback_saved_by_older_sessions_still_loads():
    fb = Feedback.model_validate({"good": "한 줄", "missing": "빠진 점: 가\n틀린 부분: 나", "model_answer": "m"})
    assert fb.good == ["한 줄"] and fb.missing == ["빠진 점: 가", "틀린 부분: 나"]


def test_the_committed_parameters_come_from_the_fitting_command():
    cal = Calibration.load()
    data = json.loads(PARAMS_PATH.read_text(encoding="utf-8"))
    assert data["fitted"]["command"] == "interviewer calibrate" and data["fitted"]["train"] == "train.jsonl"
    assert len(cal.coef) == len(cal.mean) == len(cal.scale) == len(FEATURES)
    assert len(cal.mis_weights) == len(cal.mis_scale) == len(MIS_SIGNALS)
    assert data["fitted"]["cv"]["n"] == 306  # cross-validated on all of train


@pytest.mark.slow
def test_calibration_is_deterministic_and_cross_validated(full_service, tmp_path):
    rows = [json.loads(line) for line in shared_file("eval/train.jsonl").read_text(encoding="utf-8").splitlines()]
    families = {"dropout", "batch-normalization", "bn-at-inference", "dl-vs-ml", "gpu-for-dl", "gpu-vs-cpu"}
    bank = full_service.bank
    subset = [r for r in rows if (bank.find(r["question"]).parent or bank.find(r["question"]).id) in families]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in subset), encoding="utf-8")
    first = full_service.calibrate(train, None, tmp_path / "a.json")
    second = full_service.calibrate(train, None, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_text() == (tmp_path / "b.json").read_text()
    assert first == second and first["cv"]["n"] == len(subset)
    cal = Calibration.load(tmp_path / "a.json")
    assert cal.mis_threshold > 0 and any(cal.mis_weights)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["train", "dev"])
def test_no_praise_for_what_a_wrong_answer_contradicts(full_service, name):
    """Over every wrong and subtle_wrong answer: no praised key point is contradicted, and no quote offered as the
    evidence of a covered point is a sentence judged to state a misconception."""
    rows = [json.loads(line) for line in shared_file(f"eval/{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    grader = full_service.offline_grader
    checked = 0
    for row in rows:
        if row["tier"] not in ("wrong", "subtle_wrong"):
            continue
        r = grader.grade(full_service.bank.find(row["question"]), row["answer"])
        wrong_quotes = {w.quote for w in r.feedback.wrong}
        contradicted = {j.point for j in r.key_points if j.status is Status.contradicted}
        for line in r.feedback.good:
            assert not any(line.startswith(p + " —") for p in contradicted), (row["id"], line)
        for j in r.key_points:
            if j.status is Status.covered:
                assert j.evidence not in wrong_quotes, (row["id"], j.point)
        assert "방향은 맞습니다" not in " ".join(r.feedback.good)
        checked += 1
    assert checked >= 51
