"""Pins the expert review's fixes (issue #20) to bank files 13-16, and the pitfall lists grown alongside them."""

import re

import pytest

from .bank_review import check_reviewed_structure, question_ids_in_files, texts

IDS = [
    "gradient-descent",
    "why-gradient",
    "loss-increase-in-gd",
    "gd-for-middle-schoolers",
    "backprop-easy",
    "local-minima",
    "gd-escape-local-minima",
    "global-minimum-check",
    "train-test-split",
    "validation-set",
    "test-set-contamination",
    "regularization",
    "batch-normalization",
    "dropout",
    "bn-at-inference",
    "bn-in-gan-generator",
]


def kp(bank, qid, i):
    return bank.get(qid).key_points[i].point


def kps(bank, qid):
    return [k.point for k in bank.get(qid).key_points]


def corrections(bank, qid):
    return [p.correction for p in bank.get(qid).pitfalls]


# --- the whole of files 13-16 -------------------------------------------------------------------------------------


def test_files_13_to_16_hold_exactly_these_questions(bank):
    assert question_ids_in_files(bank, ("13-", "14-", "15-", "16-")) == IDS


@pytest.mark.parametrize("qid", IDS)
def test_every_question_keeps_the_reviewed_structure(bank, qid):
    check_reviewed_structure(bank.get(qid))


REGULARIZATION_AS_JEONGGYUHWA = re.compile(
    r"정규화 ?(효과|기법|항|로 대응)|L[12] ?정규화|Regularization\(정규화|정규화\(regularization|부수적인 정규화"
)


@pytest.mark.parametrize("qid", IDS)
def test_regularization_is_called_gyuje_never_jeonggyuhwa(bank, qid):
    for text in texts(bank.get(qid)):
        assert not REGULARIZATION_AS_JEONGGYUHWA.search(text), text


def test_regularization_and_dropout_use_gyuje(bank):
    assert "Regularization(규제, 정칙화)" in bank.get("regularization").reference
    assert "규제" in kp(bank, "regularization", 0) and "정칙화" in bank.get("regularization").key_points[0].terms
    assert "규제(regularization) 기법" in bank.get("dropout").reference and "규제" in kp(bank, "dropout", 0)
    assert "규제(regularization) 효과" in kp(bank, "batch-normalization", 5)
    assert "규제 항" in bank.get("loss-increase-in-gd").reference


def test_normalization_in_the_contamination_question_is_scaling_not_regularization(bank):
    assert "정규화(스케일링)" in kp(bank, "test-set-contamination", 2)


# --- review item 4: convexity is sufficient, not necessary (13, 14) ------------------------------------------------


@pytest.mark.parametrize("qid", ["gradient-descent", "gd-escape-local-minima", "global-minimum-check"])
def test_no_correction_says_only_if_convex(bank, qid):
    for c in corrections(bank, qid):
        assert "볼록 함수일 때만" not in c and "볼록 함수이고" not in c and "볼록이어야" not in c


@pytest.mark.parametrize("qid", ["gradient-descent", "gd-escape-local-minima"])
def test_convexity_correction_reads_guaranteed_if_convex_not_in_general(bank, qid):
    c = next(c for c in corrections(bank, qid) if "global minimum" in c or "전역 최솟값" in c)
    assert "볼록" in c and "비볼록" in c and "보장되지 않" in c


def test_hessian_correction_says_convexity_suffices(bank):
    p = bank.get("global-minimum-check").pitfalls[0]
    assert "Hessian" in p.claim and "볼록이면" in p.correction and "비볼록" in p.correction
    assert p.key_point == 1


def test_loss_decrease_conditions_are_sufficient_not_only_if(bank):
    q = bank.get("loss-increase-in-gd")
    assert "η < 2/M이면" in q.reference and "때뿐이다" not in q.reference and "일 때만" not in q.reference
    assert "때만 보장" not in q.pitfalls[0].correction and "보장되지만" in q.pitfalls[0].correction


def test_gradient_descent_reference_states_the_convex_case_positively(bank):
    assert "볼록(convex)하면" in bank.get("gradient-descent").reference


# --- review item 6: validation data and weight training (15) -------------------------------------------------------


def test_validation_is_kept_out_of_weight_training_only_while_tuning(bank):
    q = bank.get("validation-set")
    p = next(p for p in q.pitfalls if "가중치 업데이트" in p.claim)
    assert "튜닝하는 동안에는" in p.correction and "Train+Validation" in p.correction
    assert "튜닝하는 동안에는" in q.reference and "k-fold" in q.reference


# --- review item 3: BN at inference, framework-neutral (16) --------------------------------------------------------


def test_bn_inference_key_point_is_the_frameworks_inference_mode(bank):
    point = kp(bank, "bn-at-inference", 2)
    assert "추론 모드" in point and "model.eval()" in point and "training=False" in point


def test_update_ops_and_no_grad_are_not_demanded_but_stay_in_the_reference(bank):
    q = bank.get("bn-at-inference")
    for k in q.key_points:
        assert "UPDATE_OPS" not in k.point and "UPDATE_OPS" not in k.terms
        assert "no_grad" not in k.point
    assert "UPDATE_OPS" in q.reference
    no_grad = next(p for p in q.pitfalls if "no_grad()로 감싸면" in p.claim)
    assert no_grad.key_point == 2


# --- review item 8: both dropout p conventions (16) ----------------------------------------------------------------


def test_dropout_scale_accepts_drop_and_keep_probability(bank):
    q = bank.get("dropout")
    point = kp(bank, "dropout", 4)
    assert "1/(1-p)" in point and "1/p" in point and "유지 확률" in point
    assert "keep_prob" in q.reference and "1/p" in q.reference
    assert "1/p" in q.key_points[4].terms and "keep_prob" in q.key_points[4].terms


# --- too narrow: MAP at difficulty 1 (15), filter normalization (13) -----------------------------------------------


def test_regularization_key_points_do_not_demand_map_priors(bank):
    q = bank.get("regularization")
    assert q.difficulty == 1
    assert not any("MAP" in p or "사전분포" in p for p in kps(bank, "regularization"))
    assert "MAP" in q.reference


def test_loss_landscape_visualisation_does_not_demand_filter_normalization(bank):
    assert not any("filter normalization" in p for p in kps(bank, "why-gradient"))
    assert "단면" in kp(bank, "why-gradient", 6) and "filter normalization" in bank.get("why-gradient").reference


# --- dropout: a detail a complete answer may omit ------------------------------------------------------------------


def test_dropout_key_points_do_not_demand_the_bn_variance_shift(bank):
    q = bank.get("dropout")
    assert not any("variance shift" in p for p in kps(bank, "dropout"))
    assert "variance shift" in q.reference and any("variance shift" in c for c in corrections(bank, "dropout"))
    assert "epoch" in kp(bank, "dropout", 5)


# --- bundled key points split (13) ---------------------------------------------------------------------------------


def test_gradient_descent_key_points_are_split(bank):
    assert "θ - η∇L" in kp(bank, "gradient-descent", 1) and "학습률" not in kp(bank, "gradient-descent", 1)
    assert "학습률" in kp(bank, "gradient-descent", 2) and "보폭" in kp(bank, "gradient-descent", 2)
    assert "국소적인 기울기" in kp(bank, "gradient-descent", 3)
    assert "발산" in kp(bank, "gradient-descent", 4) and "느리" not in kp(bank, "gradient-descent", 4)
    assert "느리" in kp(bank, "gradient-descent", 5)
    assert "saddle point" in kp(bank, "gradient-descent", 6) and "Adam" not in kp(bank, "gradient-descent", 6)
    assert "SGD" in kp(bank, "gradient-descent", 7) and "Adam" in kp(bank, "gradient-descent", 7)


def test_why_gradient_key_points_are_split(bank):
    assert "전수 탐색" in kp(bank, "why-gradient", 0) and "방향" not in kp(bank, "why-gradient", 0)
    assert "가장 빨리 줄이는 방향" in kp(bank, "why-gradient", 1)
    axes = kp(bank, "why-gradient", 3)
    assert "가로축은 파라미터" in axes and "세로축은" in axes and "손실" in axes
    assert "노이즈" in kp(bank, "why-gradient", 5) and "단면" not in kp(bank, "why-gradient", 5)


def test_loss_increase_key_points_are_split(bank):
    assert "Momentum" in kp(bank, "loss-increase-in-gd", 4) and "warm" not in kp(bank, "loss-increase-in-gd", 4)
    assert "warm restart" in kp(bank, "loss-increase-in-gd", 5) and "Momentum" not in kp(bank, "loss-increase-in-gd", 5)
    assert "NaN" in kp(bank, "loss-increase-in-gd", 2) and "clipping" not in kp(bank, "loss-increase-in-gd", 2)
    assert "과적합" in kp(bank, "loss-increase-in-gd", 3)


def test_middle_school_key_points_are_split(bank):
    assert "경사만" in kp(bank, "gd-for-middle-schoolers", 2) and "반복" not in kp(bank, "gd-for-middle-schoolers", 2)
    assert "반복" in kp(bank, "gd-for-middle-schoolers", 3)
    assert "걸음의 크기를 정하는 학습률" in kp(bank, "gd-for-middle-schoolers", 4)
    assert "오래 걸린다" in kp(bank, "gd-for-middle-schoolers", 5)


def test_backprop_reuse_point_does_not_bundle_storing_activations(bank):
    assert "재사용" in kp(bank, "backprop-easy", 3) and "저장" not in kp(bank, "backprop-easy", 3)


# --- bundled key points split and reference fixes (14) -------------------------------------------------------------


def test_local_minima_key_points_are_split(bank):
    assert "노이즈" in kp(bank, "local-minima", 3) and "flat" not in kp(bank, "local-minima", 3)
    assert "flat" in kp(bank, "local-minima", 4)
    assert "plateau" in kp(bank, "local-minima", 5) and "일반화" not in kp(bank, "local-minima", 5)
    assert "일반화 성능" in kp(bank, "local-minima", 6)
    assert "연결" not in kp(bank, "local-minima", 2)


def test_local_minimum_needs_a_positive_semidefinite_hessian(bank):
    ref = bank.get("local-minima").reference
    assert "양의 준정부호" in ref and "모든 고유값이 양수여야" not in ref
    ref = bank.get("global-minimum-check").reference
    assert "양의 준정부호" in ref and "필요조건" in ref and "충분조건" in ref


def test_full_training_accuracy_is_not_zero_loss(bank):
    q = bank.get("global-minimum-check")
    assert "(학습 정확도 100%)" not in q.reference and "정확도가 100%여도" in q.reference
    p = next(p for p in q.pitfalls if "100%" in p.claim)
    assert "0보다 클 수 있" in p.correction and p.key_point == 3


def test_global_minimum_check_key_points_are_split_and_do_not_demand_np_hardness(bank):
    assert "NP-hard" not in kp(bank, "global-minimum-check", 0)
    assert "하한" in kp(bank, "global-minimum-check", 3) and "초기화" not in kp(bank, "global-minimum-check", 3)
    assert "여러 번 학습" in kp(bank, "global-minimum-check", 4)


def test_gd_escape_key_points_are_split_and_the_claim_names_the_descent_direction(bank):
    assert "random restart" in kp(bank, "gd-escape-local-minima", 4)
    assert "skip connection" in kp(bank, "gd-escape-local-minima", 5)
    assert "random restart" not in kp(bank, "gd-escape-local-minima", 5)
    assert "반대 방향" in bank.get("gd-escape-local-minima").pitfalls[0].claim


# --- bundled key points split (15, 16) -----------------------------------------------------------------------------


def test_train_test_split_key_points_are_split(bank):
    assert "독립" in kp(bank, "train-test-split", 3) and "층화" not in kp(bank, "train-test-split", 3)
    assert "층화" in kp(bank, "train-test-split", 4)
    assert "k-fold" in kp(bank, "train-test-split", 5)


def test_split_ratios_are_an_example_not_a_key_point(bank):
    q = bank.get("train-test-split")
    assert not any("비율" in p or "8:2" in p for p in kps(bank, "train-test-split"))
    assert "8:2" in q.reference and "98:1:1" in q.reference
    ratio = next(p for p in q.pitfalls if "8:2" in p.claim)
    assert "흔한 예" in ratio.correction and ratio.key_point is None


def test_validation_key_points_are_split(bank):
    assert "최종 성능 추정치로 쓸 수 없다" in kp(bank, "validation-set", 2)
    assert "한 번만" in kp(bank, "validation-set", 3) and "Test" in kp(bank, "validation-set", 3)


def test_regularization_l1_and_l2_are_separate_points(bank):
    l2, l1 = kp(bank, "regularization", 2), kp(bank, "regularization", 3)
    assert "L2" in l2 and "L1" not in l2 and "L1" in l1 and "희소" in l1 and "L2" not in l1
    assert "SGD에서는 L2 규제가 weight decay와 같지만" in bank.get("regularization").reference


def test_batch_normalization_key_points_are_split(bank):
    assert "평균과 분산" in kp(bank, "batch-normalization", 0) and "γ" not in kp(bank, "batch-normalization", 0)
    assert "γ" in kp(bank, "batch-normalization", 1)
    assert "초기화" in kp(bank, "batch-normalization", 3) and "소실" not in kp(bank, "batch-normalization", 3)
    assert "기울기 소실" in kp(bank, "batch-normalization", 4)
    assert "작으면" in kp(bank, "batch-normalization", 7) and "추론" not in kp(bank, "batch-normalization", 7)
    assert "발산하지 않고" not in bank.get("batch-normalization").reference


def test_dropout_inference_and_scaling_are_separate_points(bank):
    assert "끄고" in kp(bank, "dropout", 3) and "1/(1-p)" not in kp(bank, "dropout", 3)
    assert "inverted dropout" in kp(bank, "dropout", 4)


def test_bn_inference_statistics_problems_are_separate_points(bank):
    assert "running mean" in kp(bank, "bn-at-inference", 0)
    assert "배치 크기 1" in kp(bank, "bn-at-inference", 1)
    assert "배치가 작으면" in kp(bank, "bn-at-inference", 3) and "분포" not in kp(bank, "bn-at-inference", 3)
    assert "분포" in kp(bank, "bn-at-inference", 4)
    assert "folding" in kp(bank, "bn-at-inference", 5)


def test_gan_generator_key_points_are_split(bank):
    assert "DCGAN" in kp(bank, "bn-in-gan-generator", 0) and "출력층" not in kp(bank, "bn-in-gan-generator", 0)
    assert "출력층" in kp(bank, "bn-in-gan-generator", 1)
