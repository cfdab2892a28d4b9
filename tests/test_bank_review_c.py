"""Pins the expert review's fixes (issue #20) to bank files 17-22, and their misconception lists.

Each test reads the real bank and checks a fixed key point, reference or pitfall as it now reads, so a later edit
that brings a punished-correct-answer problem back fails here."""

import re

import pytest

from .bank_review import check_reviewed_structure, points, question_ids_in_files, texts

IDS = [
    "optimizers",
    "stochastic-meaning",
    "small-minibatch",
    "momentum-formula",
    "numpy-mnist-mlp",
    "numpy-mnist-hours",
    "numpy-backprop-lines",
    "numpy-cnn-extension",
    "framework-mnist",
    "mlp-vs-cnn-mnist",
    "last-layer",
    "bce-train-mse-monitor",
    "korean-ocr-data",
    "gpu-for-dl",
    "gpu-underutilization",
    "multi-gpu",
    "gpu-memory-estimate",
    "framework-debugging",
    "nn-weakness-one-shot",
]
FILES = ("17-", "18-", "19-", "20-", "21-", "22-")


# ---- every question of files 17-22 -------------------------------------------------------------------------------


def test_files_17_to_22_hold_these_19_questions(bank):
    assert question_ids_in_files(bank, FILES) == IDS


@pytest.mark.parametrize("qid", IDS)
def test_every_question_keeps_the_reviewed_structure(bank, qid):
    check_reviewed_structure(bank.get(qid))


# Where "정규화" may still appear: normalization only (data scaling, MNIST's size normalization, logits, BatchNorm).
NORMALIZATION_USES = ("0~1 정규화", "크기 정규화", "정규화되지 않은", "정규화를 거친", "통계로 정규화")


@pytest.mark.parametrize("qid", IDS)
def test_regularization_is_규제_and_정규화_means_normalization_only(bank, qid):
    for text in texts(bank.get(qid)):
        for m in re.finditer("정규화", text):
            around = text[max(0, m.start() - 8) : m.end() + 8]
            assert any(use in around for use in NORMALIZATION_USES), around


def test_regularization_terms_now_read_규제(bank):
    assert "L2 규제" in bank.get("optimizers").key_points[7].point
    assert "L2 규제" in bank.get("optimizers").reference
    assert "암묵적 규제" in bank.get("stochastic-meaning").key_points[5].point
    assert "암묵적 규제(implicit regularization)" in bank.get("stochastic-meaning").reference
    assert "규제 효과" in bank.get("small-minibatch").key_points[1].terms


# ---- 17: optimizers ----------------------------------------------------------------------------------------------


def test_rmsprop_damps_directions_with_large_gradient_magnitude(bank):
    ref = bank.get("optimizers").reference
    assert "크기(제곱평균의 제곱근)가 큰 방향은 스텝을 줄이고" in ref
    assert "크게 자주 변하는 방향" not in ref


def test_rmsprop_rho_default_differs_by_framework(bank):
    ref = bank.get("optimizers").reference
    assert "Keras 기본값은 0.9" in ref and "PyTorch 기본값은 0.99" in ref


def test_optimizer_bundled_key_points_are_split(bank):
    p = points(bank.get("optimizers"))
    assert "같은 학습률" in p[0] and "momentum" not in p[0]
    assert "진동" in p[1] and "momentum" in p[1]
    assert "지수이동평균" in p[2] and "AdaGrad" not in p[2]
    assert "AdaGrad" in p[3]
    assert "결합" in p[4] and "bias correction" not in p[4]
    assert "bias correction" in p[5]
    assert "일반화" in p[6] and "메모리" not in p[6]
    assert "AdamW" in p[7]


def test_rmsprop_pitfall_reversed_direction_is_corrected(bank):
    q = bank.get("optimizers")
    hit = [p for p in q.pitfalls if "학습률을 키워서" in p.claim]
    assert hit and hit[0].key_point == 2 and "스텝이 줄고" in hit[0].correction


def test_stochastic_key_points_split_unbiasedness_from_variance_and_noise_from_decay(bank):
    p = points(bank.get("stochastic-meaning"))
    assert "불편추정량" in p[1] and "분산" not in p[1]
    assert "노이즈(분산)" in p[3] and "학습률" not in p[3]
    assert "학습률을 점차 줄여야" in p[4]


def test_stochastic_has_no_naming_convention_misconception(bank):
    claims = [p.claim for p in bank.get("stochastic-meaning").pitfalls]
    assert not any("반드시 샘플 1개" in c for c in claims)  # 1-sample SGD vs mini-batch SGD is a naming convention


def test_small_minibatch_key_points_split(bank):
    q = bank.get("small-minibatch")
    p = points(q)
    assert "불안정" in p[0] and "학습률" not in p[0]
    assert "메모리" in p[2] and "업데이트 횟수" not in p[2]
    assert "학습률도 줄인다" in p[5]
    assert "업데이트 횟수" in p[6]
    assert "제곱근 스케일링" in q.reference


def test_momentum_ema_form_is_accepted_not_required(bank):
    q = bank.get("momentum-formula")
    p = points(q)
    assert not any(point.startswith("지수이동평균 형태") for point in p)
    assert "지수이동평균 형태로 써도" in p[0] and "동등한 식" in p[0]
    assert "EMA" in q.key_points[0].terms
    assert "μ=0" not in p[1]
    assert "가속" in p[2] and "진동" not in p[2]
    assert "진동" in p[3] and "상쇄" in p[3]
    assert "Nesterov" in p[4]
    equivalence = [x for x in q.pitfalls if "서로 다른 알고리즘" in x.claim]
    assert equivalence and equivalence[0].key_point == 0


# ---- 18 and 19: estimate questions (review item 7) -----------------------------------------------------------


@pytest.mark.parametrize(
    "qid", ["numpy-mnist-mlp", "numpy-mnist-hours", "numpy-backprop-lines", "numpy-cnn-extension", "framework-mnist"]
)
def test_estimates_grade_a_concrete_justified_figure_with_ranges_as_examples(bank, qid):
    q = bank.get(qid)
    first = q.key_points[0].point
    assert "구체적인" in first and "예를 들어" in first and "근거가 타당하면 수치는 달라도 된다" in first
    assert "예를 들어" in q.reference


def test_numpy_hours_does_not_punish_a_short_estimate(bank):
    claims = [p.claim for p in bank.get("numpy-mnist-hours").pitfalls]
    assert not any("10~20분" in c for c in claims)


def test_numpy_mlp_key_points_no_longer_demand_details(bank):
    q = bank.get("numpy-mnist-mlp")
    p = points(q)
    assert "최댓값" not in p[2]
    assert "P - Y" in p[3] and "W -=" not in p[3]
    assert "97" not in p[4]
    assert "mnist_loader.py는 별도" in q.reference


def test_numpy_hours_verification_point_is_split(bank):
    p = points(bank.get("numpy-mnist-hours"))
    assert "gradient checking" in p[3] and "ln(10)" not in p[3]
    assert "ln(10)" in p[4] and "gradient checking" not in p[4]


def test_backprop_points_split_and_batch_mean_is_a_convention(bank):
    q = bank.get("numpy-backprop-lines")
    p = points(q)
    assert "/m" not in p[2]
    assert "dA1" in p[3] and "ReLU" not in p[3]
    assert "Z1 > 0" in p[4]
    assert "shape" not in p[5]
    assert "처음에 한 번 나눠도 같고" in q.reference


def test_cnn_extension_does_not_require_im2col(bank):
    q = bank.get("numpy-cnn-extension")
    p = points(q)
    assert "backward" in p[1] and "im2col" not in p[1]
    assert "naive" in p[3] and "im2col" not in p[3]
    assert "im2col(또는 sliding window)" in p[4]
    assert not any("메모리" in point for point in p)


def test_framework_mnist_points_split(bank):
    p = points(bank.get("framework-mnist"))
    assert "autograd" in p[1] and "optimizer" not in p[1]
    assert "optimizer" in p[2]
    assert "15~20줄" not in p[3] and "compile/fit" in p[3]


def test_mlp_vs_cnn_points_split_and_flatten_loses_no_information(bank):
    q = bank.get("mlp-vs-cnn-mnist")
    p = points(q)
    assert "98%" in p[0] and "CNN" not in p[0]
    assert "공간 구조" in p[2] and "가중치 공유" not in p[2]
    assert "이동 불변성" in p[3] and "CIFAR" not in p[3]
    assert "CIFAR-10" in p[4]
    assert "가중치 공유" in p[5]
    assert "1%p" in p[6]
    assert "정보를 잃지 않지만" in q.reference and "이동 등변성" in q.reference


def test_last_layer_points_split_and_mse_pitfall_is_genuinely_wrong(bank):
    q = bank.get("last-layer")
    p = points(q)
    assert "softmax" in p[1] and "cross-entropy" not in p[1]
    assert "cross-entropy" in p[2]
    assert "CrossEntropyLoss" in p[4]
    assert not any("multi-label" in point for point in p)
    assert not any("자연스럽" in x.claim for x in q.pitfalls)  # square loss for classification is a valid choice


def test_bce_monitor_validation_point_does_not_demand_a_tool(bank):
    point = bank.get("bce-train-mse-monitor").key_points[4].point
    assert "검증 셋" in point and "TensorBoard" not in point


def test_korean_ocr_points_split(bank):
    p = points(bank.get("korean-ocr-data"))
    assert "글자 집합" in p[2] and "말뭉치" not in p[2]
    assert "희귀 글자" in p[3]
    assert "검출용" not in p[5]
    assert "실제 스캔" in p[6] and "저작권" not in p[6]
    assert "저작권" in p[7]


# ---- 20: GPUs ----------------------------------------------------------------------------------------------------


def test_gpu_bandwidth_figures_are_current(bank):
    ref = bank.get("gpu-for-dl").reference
    assert "3.35 TB/s" in ref and "4.8 TB/s" in ref
    assert "1~3 TB" not in ref


def test_moving_to_gpu_is_a_small_code_change(bank):
    q = bank.get("gpu-for-dl")
    assert ".to('cuda')" in q.reference and "코드 변경 없이" not in q.reference
    assert "작은 코드 변경" in q.key_points[4].point and "수십 배" not in q.key_points[4].point


def test_mixed_precision_adds_an_fp16_copy_of_the_weights(bank):
    q = bank.get("gpu-memory-estimate")
    assert "FP16 가중치 사본 2P가 추가" in q.reference
    assert not any("FP16 사본은 줄어들지만" in x.correction for x in q.pitfalls)
    mp = [x for x in q.pitfalls if "mixed precision" in x.claim]
    assert mp and "오히려 추가" in mp[0].correction and mp[0].key_point == 4


def test_gpu_memory_points_split(bank):
    p = points(bank.get("gpu-memory-estimate"))
    assert "4바이트" in p[1] and "Adam" not in p[1]
    assert "Adam" in p[2] and "16바이트" in p[2]
    assert "배치 크기" in p[3] and "파라미터보다" not in p[3]
    assert "mixed precision" in p[4] and "16바이트" in p[4]
    assert not any("추론" in point for point in p)


def test_multi_gpu_framework_point_accepts_either_framework(bank):
    p = points(bank.get("multi-gpu"))
    assert "DistributedDataParallel" in p[2] and "MirroredStrategy" in p[2]
    assert not any(point.startswith("TensorFlow/Keras") for point in p)


def test_multi_gpu_learning_rate_depends_on_keeping_per_gpu_batch(bank):
    q = bank.get("multi-gpu")
    assert q.key_points[3].point.startswith("GPU당 배치를 유지하면")
    assert "전체 배치를 유지하면" in q.reference and "학습률은 그대로 둔다" in q.reference


def test_multi_gpu_mechanism_split(bank):
    p = points(bank.get("multi-gpu"))
    assert "복사본" in p[0] and "all-reduce" not in p[0]
    assert "all-reduce" in p[1] and "매 스텝" in p[1]


def test_gpu_utilization_reference_separates_memory_limits_from_compute(bank):
    ref = bank.get("gpu-underutilization").reference
    assert "메모리 할당만 제한" in ref and "메모리 사용량과도 별개" in ref


# ---- 21 and 22 ---------------------------------------------------------------------------------------------------


def test_debugging_points_split_and_framework_neutral(bank):
    p = points(bank.get("framework-debugging"))
    assert "가장 먼저" not in p[0]
    assert "과적합" in p[1] and "초기 loss" not in p[1]
    assert "초기 loss" in p[2]
    assert "PyTorch" in p[5] and "TF" in p[5] and "CUDA_LAUNCH_BLOCKING" not in p[5]
    assert "TensorBoard" in p[6] and "시드" not in p[6]
    assert "시드" in p[7]


def test_debugging_eval_mode_pitfall(bank):
    hit = [x for x in bank.get("framework-debugging").pitfalls if "model.eval()" in x.claim]
    assert hit and "torch.no_grad()" in hit[0].correction and hit[0].key_point == 3


def test_one_shot_points_unbundled(bank):
    p = points(bank.get("nn-weakness-one-shot"))
    assert "예시 하나" in p[1] and "구분" not in p[1]
    assert p[5].startswith("많은 방법이")
