"""Pins the expert-review fixes (issue #20) for questions 01-12, the glossary and the topic labels."""

import re

import pytest
import yaml

from interviewer.text import Glossary, _fold

from .bank_review import check_reviewed_structure, points, question_ids_in_files, texts
from .conftest import KNOWLEDGE

QIDS = [
    "dl-vs-ml",
    "dl-revival",
    "last-paper",
    "cost-and-activation",
    "framework-preference",
    "data-normalization",
    "activation-functions",
    "overfitting",
    "hyperparameters",
    "weight-initialization",
    "boltzmann-machine",
    "relu-over-sigmoid",
    "nonlinearity",
    "relu-curve-approximation",
    "relu-problems",
    "bias-role",
]


@pytest.fixture(scope="module")
def glossary():
    return Glossary.load(KNOWLEDGE / "glossary.yaml")


@pytest.fixture(scope="module")
def entries():
    return {
        e["canonical"]: e.get("variants") or []
        for e in yaml.safe_load((KNOWLEDGE / "glossary.yaml").read_text(encoding="utf-8"))
    }


def canon(glossary, text: str) -> list[str]:
    return [e.canonical for e in glossary.concepts(text)]


# --- every question of files 01-12 -------------------------------------------------------------------------------


def test_files_01_to_12_hold_exactly_these_questions(bank):
    assert question_ids_in_files(bank, tuple(f"{i:02d}" for i in range(1, 13))) == QIDS


@pytest.mark.parametrize("qid", QIDS)
def test_every_question_keeps_the_reviewed_structure(bank, qid):
    check_reviewed_structure(bank.get(qid))


# --- regularization is 규제, never 정규화 ---

REGULARIZATION_AS_정규화 = re.compile(
    r"정규화\s*\(regulari|L[12]\s*정규화|정규화\s*(항|강도|효과)|dropout 같은 정규화|정규화·일반화"
)


@pytest.mark.parametrize("qid", QIDS)
def test_no_text_calls_regularization_정규화(bank, qid):
    for text in texts(bank.get(qid)):
        assert not REGULARIZATION_AS_정규화.search(text), text
        for m in re.finditer("정규화", text):
            window = text[max(0, m.start() - 40) : m.end() + 40]
            # The one place both words meet on purpose is the normalization-vs-regularization contrast.
            if re.search("regulari", window, re.I):
                assert re.search("normalization", window, re.I), window


def test_regularization_wording_fixed_in_references(bank):
    assert "dropout 같은 규제(regularization)" in bank.get("dl-revival").reference
    ref = bank.get("overfitting").reference
    assert "(3) 규제(regularization)" in ref and "L2 규제/weight decay" in ref and "L1 규제" in ref
    assert "규제 강도 λ" in ref and "약한 규제 효과" in ref
    assert "규제 강도(weight decay λ" in bank.get("hyperparameters").reference
    assert "dropout 같은 규제와 BN 같은 정규화 기법" in bank.get("boltzmann-machine").reference
    assert "규제(regularization) 항" in bank.get("cost-and-activation").reference
    assert any("규제 강도" in p for p in points(bank.get("hyperparameters")))


def test_topic_label_and_glossary_keep_정규화_for_normalization_only(entries):
    topics = yaml.safe_load((KNOWLEDGE / "topics.yaml").read_text(encoding="utf-8"))
    assert topics["regularization"]["ko"] == "규제·일반화"
    assert "정규화" in topics["normalization"]["ko"]
    for name in (
        "regularization",
        "l1 regularization",
        "l2 regularization",
        "weight decay",
        "dropout",
        "early stopping",
    ):
        assert not any("정규화" in v for v in entries[name]), name
    assert {"규제", "정칙화"} <= set(entries["regularization"])


def test_normalization_question_contrasts_the_two_words(bank):
    q = bank.get("data-normalization")
    contrast = next(p for p in q.pitfalls if "Regularization" in p.claim)
    assert "Normalization(정규화)" in contrast.correction and "Regularization(규제)" in contrast.correction


# --- review item 1: loss vs cost is a convention -------------------------------------------------------------------


def test_loss_cost_distinction_is_a_convention_not_the_definition(bank):
    q = bank.get("cost-and-activation")
    kp = next(p for p in points(q) if "샘플 하나" in p)
    assert "혼용" in kp and "구분할 때는" in kp and "규제 항" in kp
    assert not any(p.startswith("Loss는 샘플 하나의 오차이고") for p in points(q))
    assert "흔히 혼용한다" in q.reference and "엄밀히 구분하면" not in q.reference
    mixed = next(p for p in q.pitfalls if "섞어 쓰면" in p.claim)
    assert q.key_points[mixed.key_point].point == kp and "혼용" in mixed.correction


def test_cost_and_activation_key_points_are_split(bank):
    q = bank.get("cost-and-activation")
    ps = points(q)
    assert any("핵심 역할은 비선형성" in p and "합쳐" not in p for p in ps)
    assert any("하나의 선형 변환으로 합쳐" in p for p in ps)
    assert any("하나의 수치" in p and "최소화" not in p for p in ps)
    assert any(p.startswith("학습은 cost를 최소화") for p in ps)
    assert any("(거의 모든 점에서) 미분 가능" in p for p in ps)
    assert any(p.startswith("은닉층에는 주로 ReLU") for p in ps)


# --- review item 2: deployment paths are today's ---------------------------------------------------------------------


def test_framework_corrections_name_current_deployment_paths(bank):
    q = bank.get("framework-preference")
    for p in q.pitfalls:
        assert "TorchServe" not in p.claim + p.correction
        if "TorchScript" in p.correction:
            assert "deprecated" in p.correction and "torch.export" in p.correction
    deploy = next(p for p in q.pitfalls if "배포에는 쓸 수 없다" in p.claim).correction
    for name in ("torch.export", "ExecuTorch", "ONNX", "Triton", "vLLM"):
        assert name in deploy
    assert "TorchScript" not in deploy


def test_framework_reference_is_up_to_date(bank):
    q = bank.get("framework-preference")
    ref = q.reference
    assert "torch.export" in ref and "ExecuTorch" in ref and "Triton" in ref and "vLLM" in ref
    assert "LiteRT(구 TFLite" in ref
    assert "TorchScript는 torch.export로 대체되며 deprecated" in ref
    assert "TorchServe 등으로" not in ref and "TFLite(모바일" not in ref
    assert all("TorchServe" not in t for kp in q.key_points for t in [kp.point, *kp.terms])
    assert "LiteRT" in next(kp for kp in q.key_points if "배포 생태계" in kp.point).terms


def test_framework_key_points_are_split(bank):
    ps = points(bank.get("framework-preference"))
    assert ps[0] == "선호하는 프레임워크를 하나 분명히 고른다."
    assert any(p.startswith("Keras는 독립된 저수준 프레임워크가 아니라 고수준 API") for p in ps)
    assert any(p.startswith("TensorFlow는 LiteRT") for p in ps)
    assert any(p.startswith("Caffe와 MXNet은") for p in ps)
    assert any("사용 경험" in p and "고른다" not in p for p in ps)


# --- review item 5 and the positional-encoding note: an open question graded on any paper ----------------------------

TRANSFORMER_WORDS = (
    "Transformer",
    "self-attention",
    "RNN",
    "Query",
    "BLEU",
    "BERT",
    "GPT",
    "O(n²)",
    "multi-head",
    "positional",
    "Vaswani",
    "2017",
    "장거리 의존성",
    "병렬화",
)


def test_last_paper_key_points_grade_any_paper(bank):
    q = bank.get("last-paper")
    assert "저자" not in q.key_points[0].point and "연도" not in q.key_points[0].point
    for kp in q.key_points[1:]:
        assert not any(w in t for w in TRANSFORMER_WORDS for t in kp.terms), kp.terms
    ps = points(q)
    for word in ("해결하려는 문제", "핵심 아이디어와 방법", "실험 결과", "왜 중요한지", "한계나 본인의 비판적 시각"):
        assert sum(word in p for p in ps) == 1, word
    assert "열린 질문이라 어떤 논문을 골라도 되며" in q.reference


def test_last_paper_does_not_call_positional_encoding_mandatory(bank):
    q = bank.get("last-paper")
    assert not any("필수" in t for t in texts(q))
    pe = next(p for p in q.pitfalls if "위치 정보가 필요 없다" in p.claim)
    assert "decoder-only" in pe.correction and "causal mask" in pe.correction
    assert "decoder-only 언어 모델은 명시적 위치 인코딩 없이도" in q.reference


# --- review item 8: both dropout conventions ----------------------------------------------------------------------


def test_dropout_scale_accepts_keep_and_drop_probability(bank):
    q = bank.get("overfitting")
    shown = [t for t in texts(q) if "1/(1-p)" in t]
    assert shown
    for t in shown:
        assert "1/p" in t, t
    inference = next(p for p in q.pitfalls if "추론(테스트) 때도" in p.claim)
    assert "keep_prob" in inference.correction


def test_overfitting_key_points_are_split(bank):
    ps = points(bank.get("overfitting"))
    assert any("dropout" in p and "weight decay" not in p for p in ps)
    assert any("weight decay" in p and "dropout" not in p for p in ps)
    assert any("전이학습" in p and "증강" not in p for p in ps)


# --- bundled key points split (review: 09, 10; and the same kind found in 01, 06, 07, 11, 12) -------------------------


def test_hyperparameter_key_points_are_split(bank):
    q = bank.get("hyperparameters")
    ps = points(q)
    random_search = next(p for p in ps if p.startswith("중요한 하이퍼파라미터가 소수일 때 random search"))
    assert "로그 스케일" not in random_search
    assert any(p.startswith("학습률이나 weight decay처럼 범위가 넓은 값은 로그 스케일") for p in ps)
    assert "파라미터" in ps[1] and "하이퍼파라미터와 다르다" in ps[1] and "가중치·편향 같은" in ps[1]
    assert "학습 전에" not in ps[0] and "경사하강법으로 학습되지 않고" in ps[0]


def test_weight_initialization_key_points_are_split_and_accept_lecun(bank):
    q = bank.get("weight-initialization")
    ps = points(q)
    he = next(p for p in ps if p.startswith("He(Kaiming)"))
    xavier = next(p for p in ps if p.startswith("Xavier(Glorot)"))
    assert "2/n_in" in he and "ReLU 계열" not in he
    assert "2/(n_in + n_out)" in xavier and "1/n_in은 LeCun 초기화" in xavier and "sigmoid" not in xavier
    assert "ReLU 계열 망에는 He 초기화를 주로 쓴다." in ps
    assert "Sigmoid/tanh 계열 망에는 Xavier 초기화를 주로 쓴다." in ps
    assert "Var(W) = 1/n_in은 LeCun 초기화" in q.reference
    assert "간단한 형태로는 Var(W) = 1/n_in" not in q.reference


def test_dl_vs_ml_key_points_are_split(bank):
    ps = points(bank.get("dl-vs-ml"))
    assert "딥러닝은 대량의 데이터와 GPU 같은 큰 연산 자원을 필요로 한다." in ps
    assert any("해석" in p and "데이터" not in p for p in ps)


def test_data_normalization_key_points_are_split_and_outliers_fixed(bank):
    q = bank.get("data-normalization")
    ps = points(q)
    assert any("ill-conditioned" in p and "학습률" not in p for p in ps)
    assert "스케일을 맞추면 더 큰 학습률로 빠르고 안정적으로 수렴한다." in ps
    assert any(p.startswith("입력 특징들의 값 범위나 분포를") and "min-max" not in p for p in ps)
    assert "Min-max와 표준화는 모두 이상치에 민감하다" in q.reference and "robust scaling" in q.reference
    assert "분포가 치우친 경우에는 표준화" not in q.reference
    outliers = next(p for p in q.pitfalls if "이상치 문제도 해결" in p.claim)
    assert "robust scaling" in outliers.correction


def test_activation_function_key_points_are_split(bank):
    ps = points(bank.get("activation-functions"))
    assert any(p.startswith("Sigmoid는 출력이 항상 양수라 zero-centered") and "tanh" not in p.lower() for p in ps)
    assert any(p.startswith("Tanh는 출력이 (-1, 1)") for p in ps)
    assert any(p.startswith("ReLU는 지수 연산 없이") for p in ps)
    assert not any("영구히" in p for p in ps)


def test_boltzmann_key_points_are_split(bank):
    ps = points(bank.get("boltzmann-machine"))
    assert any(p.startswith("Contrastive Divergence(CD-k)") for p in ps)
    assert any(p.startswith("로그 우도 기울기는") and "Contrastive" not in p for p in ps)
    assert any(p.startswith("유닛은 데이터가 놓이는 가시 유닛") for p in ps)
    assert not any("현재는 거의 쓰이지 않는다" in p for p in ps)


def test_relu_family_key_points_are_split(bank):
    assert any(p.startswith("Sigmoid는 이진 분류의 출력층") for p in points(bank.get("relu-over-sigmoid")))
    assert any(p.startswith("선형 모델은 XOR") and "곡선" not in p for p in points(bank.get("nonlinearity")))
    assert any(p.startswith("각 뉴런의 bias는 꺾이는 위치") for p in points(bank.get("relu-curve-approximation")))
    problems = points(bank.get("relu-problems"))
    assert any(p.startswith("죽은 뉴런은 자기 가중치로 가는 기울기가 0") for p in problems)
    assert any(p.startswith("He 초기화, 적절한(작은) 학습률과 warmup") for p in problems)
    bias = points(bank.get("bias-role"))
    assert "bias도 가중치처럼 역전파로 학습되는 파라미터다." in bias
    assert any(p.startswith("BN 바로 앞 층의 bias") for p in bias)


def test_dead_relu_correction_is_precise(bank):
    q = bank.get("relu-problems")
    revive = next(p for p in q.pitfalls if "다시 살아나므로" in p.claim)
    assert "앞 층이 바뀌어 입력이 달라지지 않는 한" in revive.correction


# --- glossary --------------------------------------------------------------------------------------------------------


def test_stride_no_longer_owns_보폭(entries, glossary):
    assert "보폭" not in entries["stride"]
    assert canon(glossary, "보폭") == ["learning rate"]
    assert canon(glossary, "stride 2") == canon(glossary, "스트라이드 2") == ["stride"]


def test_tensorflow_1_and_2_are_different_concepts(entries, glossary):
    assert not {"TF1", "TF2", "tensorflow 2", "TensorFlow 1.x"} & set(entries["tensorflow"])
    assert canon(glossary, "TF1") == canon(glossary, "TensorFlow 1.x") == ["tensorflow 1.x"]
    assert (
        canon(glossary, "TF2") == canon(glossary, "TF 2.x") == canon(glossary, "TensorFlow 2.0") == ["tensorflow 2.x"]
    )
    assert canon(glossary, "텐서플로우") == ["tensorflow"]


def test_learning_curve_is_not_the_loss_curve(entries, glossary):
    assert not {"loss curve", "손실 곡선"} & set(entries["learning curve"])
    assert "learning curve" not in canon(glossary, "손실 곡선") + canon(glossary, "loss curve")


def test_overshooting_is_not_divergence(entries, glossary):
    assert not {"학습 발산", "training divergence", "발산하는 학습"} & set(entries["overshooting"])
    assert canon(glossary, "학습 발산") == ["training divergence"]
    assert canon(glossary, "overshooting") == ["overshooting"]


def test_partition_function_has_분할_함수(glossary):
    assert canon(glossary, "분할 함수") == canon(glossary, "partition function") == ["partition function"]


@pytest.mark.parametrize(
    "broad,lumped,own",
    [
        ("cuda", "CUDA 코어", "cuda core"),
        ("mixed precision", "손실 스케일링", "loss scaling"),
        ("half precision", "BF16", "bfloat16"),
        ("caffe", "Caffe2", "caffe2"),
    ],
)
def test_lumped_glossary_entries_are_split(entries, glossary, broad, lumped, own):
    assert lumped not in entries[broad]
    assert canon(glossary, lumped) == [own]


def test_glossary_variants_are_unique(entries):
    seen: dict[str, str] = {}
    for name, variants in entries.items():
        for v in [name, *variants]:
            key = re.sub(r"\s+", "", _fold(str(v)))
            assert seen.get(key, name) == name, (v, seen.get(key), name)
            seen[key] = name
        assert len({re.sub(r"\s+", "", _fold(str(v))) for v in variants}) == len(variants), name
