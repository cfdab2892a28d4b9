import pytest

from interviewer.grading import metrics
from interviewer.grading.schema import KeyPointJudgment, Status, score_from_judgments


def judgments(*statuses):
    return [KeyPointJudgment(index=i, point=f"p{i}", status=Status(s)) for i, s in enumerate(statuses)]


def test_score_from_judgments_by_hand():
    # weights 1.0, 0.9, 0.8: (1 + 0.45 + 0) / 2.7 * 5 = 2.685...
    assert score_from_judgments(judgments("covered", "partial", "missed")) == 2.69
    assert score_from_judgments(judgments("covered", "covered", "covered")) == 5.0
    # (1 - 0.45) / 1.9 * 5 = 1.447...
    assert score_from_judgments(judgments("covered", "contradicted")) == 1.45
    assert score_from_judgments(judgments("contradicted", "contradicted")) == 0.0
    assert score_from_judgments(judgments("covered"), off_topic=True) == 0.0
    assert score_from_judgments(judgments("covered"), dont_know=True) == 0.0
    assert score_from_judgments(judgments("covered", "covered"), wrong_share=0.4) == 3.0
    # credit 0.5 -> 0.5 ** 0.5 = 0.7071 -> 3.54
    assert score_from_judgments(judgments("partial"), curve=0.5) == 3.54


def test_same_judgments_same_score():
    j = judgments("covered", "partial", "missed", "contradicted")
    assert len({score_from_judgments(j) for _ in range(5)}) == 1


def test_metrics_on_a_hand_computed_set():
    scores = [5, 3, 1, 4, 4, 0]
    gold = [5, 2, 0, 5, 3, 1]
    groups = ["a", "a", "a", "b", "b", "b"]
    # group a: 3 pairs all ordered right; group b: (4,5)-(4,3) tie -> .5, (4,5)-(0,1) right, (4,3)-(0,1) right
    assert metrics.pairwise_accuracy(groups, scores, gold) == pytest.approx(5.5 / 6)
    assert metrics.mae(scores, gold) == pytest.approx(5 / 6)
    # ranks: scores [6, 3, 2, 4.5, 4.5, 1], gold [5.5, 3, 1, 5.5, 4, 2]; both centred on 3.5:
    # sum dx*dy = 15.25, sum dx^2 = sum dy^2 = 17
    assert metrics.spearman(scores, gold) == pytest.approx(15.25 / 17)
    assert metrics.quadratic_weighted_kappa([0, 1, 2], [0, 1, 2]) == 1.0
    assert metrics.quadratic_weighted_kappa([0, 5], [5, 0]) == pytest.approx(-1.0)
    assert metrics.by_tier(["x", "x", "y"], [1, 3, 4]) == {"x": 2.0, "y": 4.0}
    assert metrics.auc([2, 3], [1, 2]) == pytest.approx((1 + 0.5 + 1 + 1) / 4)


def test_metrics_with_nothing_to_compare():
    assert metrics.pairwise_accuracy(["a", "a"], [1, 2], [3, 3]) is None
    assert metrics.spearman([1], [1]) is None
    assert metrics.mae([], []) is None
