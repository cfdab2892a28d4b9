"""The lexical layer: glossary concepts and BM25, whose fast paths must give exactly what the plain ones give."""

import re
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from interviewer.index.retriever import _BM25
from interviewer.text import Analyzer, Glossary, GlossaryEntry, _fold, _variant_pattern

ROOT = Path(__file__).resolve().parent.parent


def _alternation(g: Glossary, text: str) -> list[str]:
    """The reference behaviour: one regex alternation of every variant, longest first."""
    regex = re.compile("|".join(_variant_pattern(p) for p in g._patterns))
    hits = (g._by_compact.get(re.sub(r"\s+", "", m.group(0))) for m in regex.finditer(_fold(text)))
    return [e.canonical for e in hits if e is not None]


def test_spellings_of_a_concept_are_one_concept():
    g = Glossary(
        [
            GlossaryEntry("batch normalization", ("배치 정규화", "BatchNorm", "BN")),
            GlossaryEntry("normalization", ("정규화",)),
        ]
    )
    found = [e.canonical for e in g.concepts("배치정규화와 BN, batchnorm 그리고 정규화. bnn은 아님")]
    assert found == ["batch normalization", "batch normalization", "batch normalization", "normalization"]


@pytest.mark.slow  # the reference regex over every line of the bank takes ~15-30 s on 2 cores
def test_fast_concept_matching_equals_the_alternation_over_the_bank():
    g = Glossary.load(ROOT / "knowledge" / "glossary.yaml")
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "knowledge" / "questions").glob("*.yaml"))]
    texts += [line for t in texts for line in t.splitlines()]
    texts += ["x y ab a b", "L2 정규화와 l2-norm, ReLU/GELU 비교", "BN BNN bn.", "  드롭 아웃   드롭아웃 Dropout  "]
    assert sum(bool(g.concepts(t)) for t in texts) > 100  # the bank really exercises the glossary
    for text in texts:
        assert [e.canonical for e in g.concepts(text)] == _alternation(g, text), text


def test_bm25_from_postings_equals_rank_bm25():
    analyzer = Analyzer()
    texts = [
        "배치 정규화는 미니배치 통계로 정규화한다",
        "드롭아웃은 뉴런을 끈다",
        "과적합은 일반화 실패다",
        "배치 크기가 크면 기울기 추정이 안정된다",
        "정규화와 표준화",
    ]
    corpus = [analyzer.tokens(t) for t in texts]
    for query in ("배치 정규화", "뉴런 드롭아웃 배치", "없는단어", "정규화 정규화 배치"):
        q = analyzer.tokens(query)
        assert np.array_equal(_BM25(corpus).get_scores(q), BM25Okapi(corpus).get_scores(q))


def test_list_markers_are_layout_not_words():
    analyzer = Analyzer()
    tokens = analyzer.morphemes("A.\n    1. training 시에 b) 0.5 확률, v1.2와 ResNet-50")
    assert "a." not in tokens and "1." not in tokens
    assert {"training", "0.5", "1.2", "50", "resnet"} <= set(tokens)  # numbers and words next to them stay


def test_bank_glossary_joins_english_and_korean_spellings_of_terms_answers_use():
    g = Glossary.load(ROOT / "knowledge" / "glossary.yaml")

    def canon(text: str) -> list[str]:
        return [e.canonical for e in g.concepts(text)]

    assert canon("zigzagging") == canon("zig-zag") == canon("지그재그") == canon("진동")
    assert canon("scale을 통일") == canon("스케일을 맞춘다") != []
    assert canon("kernel size") == canon("커널 크기") != []
    assert canon("stride 2") == canon("스트라이드 2") != []
    assert canon("로그 스케일") == canon("log scale") != canon("스케일")  # the longer term wins
