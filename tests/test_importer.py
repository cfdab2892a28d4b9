import pytest
import yaml

from interviewer.bank import check_bank
from interviewer.bank.importer import import_markdown, parse_markdown
from interviewer.errors import ImportFormatError

from .conftest import shared_file


def test_seed_import_round_trip(tmp_path, seed_questions):
    md = shared_file("seed/deep-learning-interview.md")
    written = import_markdown(md, tmp_path / "questions", prefix="dl", topic="fundamentals", existing_ids=set())
    n_subs = sum(len(m["subs"]) for m in seed_questions)
    assert len(written) == len(seed_questions)  # one file per main question, its sub-questions inside
    questions, issues = check_bank(tmp_path)
    assert [i for i in issues if i.severity == "error"] == []
    mains = [q for q in questions if q.parent is None]
    subs = [q for q in questions if q.parent is not None]
    assert (len(mains), len(subs)) == (len(seed_questions), n_subs)
    assert [q.question for q in mains] == [s["question"] for s in seed_questions]
    assert [q.question for q in subs] == [s for m in seed_questions for s in m["subs"]]
    assert [q.answer_source for q in mains[:10]] == ["imported"] * 10
    assert all(q.answer_source == "missing" and q.reference == "" for q in mains[10:] + subs)
    framework = mains[4]
    assert "Define by Run : 1)" in framework.reference
    assert framework.sources == ["seed", "https://m.blog.naver.com/dsz08082/222122736953"]
    assert "답변 없음" in (tmp_path / "questions" / f"dl-{len(seed_questions):02d}.yaml").read_text(encoding="utf-8")


def test_space_indented_subs_and_star_bullets():
    parsed = parse_markdown("## ML\n* 질문 하나?\n    - 꼬리 하나\n  * 꼬리 둘\n> 답\n- 질문 둘\n")
    assert [p.question for p in parsed] == ["질문 하나?", "질문 둘"]
    assert [s.question for s in parsed[0].subs] == ["꼬리 하나", "꼬리 둘"]
    assert parsed[0].subs[1].answer == "답" and parsed[0].heading == "ML"


@pytest.mark.parametrize(
    "text, message",
    [
        ("> 답만 있음\n", "질문 없이"),
        ("\t- 꼬리만\n", "상위 질문"),
        ("그냥 문단입니다.\n", "질문 목록"),
    ],
)
def test_malformed_lists_name_the_problem(text, message):
    with pytest.raises(ImportFormatError, match=message):
        parse_markdown(text, "x.md")


def test_import_refuses_clashing_ids_and_binary_files(tmp_path):
    md = tmp_path / "l.md"
    md.write_text("- 질문?\n", encoding="utf-8")
    import_markdown(md, tmp_path / "q", prefix="ml", topic="t", existing_ids=set())
    with pytest.raises(ImportFormatError, match="겹칩니다"):
        import_markdown(md, tmp_path / "q", prefix="ml", topic="t", existing_ids={"ml-01"})
    with pytest.raises(ImportFormatError, match="이미 있습니다"):
        import_markdown(md, tmp_path / "q", prefix="ml", topic="t", existing_ids=set())
    binary = tmp_path / "b.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xff")
    with pytest.raises(ImportFormatError, match="UTF-8"):
        import_markdown(binary, tmp_path / "q2", prefix="b", topic="t", existing_ids=set())
    doc = yaml.safe_load((tmp_path / "q" / "ml-01.yaml").read_text(encoding="utf-8"))
    assert doc["answer_source"] == "missing" and doc["topics"] == ["t"]


def test_check_lists_what_still_needs_an_answer(tmp_path):
    md = tmp_path / "l.md"
    md.write_text("- 질문 하나?\n> 답 하나\n- 질문 둘?\n", encoding="utf-8")
    import_markdown(md, tmp_path / "questions", prefix="ml", topic="t", existing_ids=set())
    _, issues = check_bank(tmp_path)
    todo = [i for i in issues if "채점할 수 없습니다" in i.message]
    assert [(i.file.name, i.severity) for i in todo] == [("ml-01.yaml", "warning"), ("ml-02.yaml", "warning")]
