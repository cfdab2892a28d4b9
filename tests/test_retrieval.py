"""Retrieval on the real bank with Korean queries written for this test (not taken from the eval sets)."""

import pytest

CASES = [
    ("볼츠만 분포와 에너지 함수로 정의되는 확률적 신경망, RBM은 은닉층과 가시층만 연결", "boltzmann-machine"),
    ("검증 세트로 하이퍼파라미터를 고르고 테스트 세트는 마지막에 한 번만 본다", "validation-set"),
    ("모멘텀은 이전 업데이트 방향을 속도처럼 누적한다 v = βv + g", "momentum-formula"),
    ("배치가 작으면 gradient 노이즈가 커서 일반화에 도움이 되지만 GPU 병렬성을 못 쓴다", "small-minibatch"),
    ("추론할 때는 model.eval()로 running mean과 running var를 써야 한다", "bn-at-inference"),
    ("파라미터, 그래디언트, Adam의 moment 두 개, 그리고 배치에 비례하는 activation 메모리", "gpu-memory-estimate"),
    ("데이터 로더가 병목이라 GPU가 놀고 있다, num_workers를 늘린다", "gpu-underutilization"),
    ("여러 폰트로 한글 글자를 렌더링해서 합성 데이터를 만든다", "korean-ocr-data"),
    ("few-shot으로 샴 네트워크가 두 이미지의 유사도를 학습", "nn-weakness-one-shot"),
    ("He 초기화는 분산을 2/n_in으로 맞춘다", "weight-initialization"),
]


@pytest.mark.parametrize("query, expected", CASES)
def test_korean_queries_find_their_question(full_service, query, expected):
    top3 = [h.question_id for h in full_service.search(query, k=3)]
    assert expected in top3, top3


def test_results_carry_evidence_chunks(full_service):
    hit = full_service.search("ReLU의 문제점", k=1)[0]
    assert hit.chunk_id.startswith(hit.question_id + ":")
    assert hit.kind in {"question", "reference", "key_point", "pitfall", "correction"} and hit.text
