from pathlib import Path

import pytest

from interviewer.bank import check_bank, load_bank
from interviewer.bank.schema import MAX_KEY_POINTS, MIN_KEY_POINTS
from interviewer.errors import BankError, QuestionNotFound

from .conftest import KNOWLEDGE

GOOD = """\
id: q-main
question: "좋은 질문?"
parent: null
topics: [fundamentals]
difficulty: 1
answer_source: written
reference: |
  참고 답안입니다.
key_points:
  - point: 하나
    terms: [a]
  - point: 둘
  - point: 셋
pitfalls:
  - claim: 틀린 주장
    correction: 바른 설명
"""


def write_bank(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "questions").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp_path / "questions" / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_real_bank_has_every_seed_question_in_order(seed_questions):
    bank = load_bank(KNOWLEDGE)
    mains = bank.mains()
    assert [q.question for q in mains] == [s["question"] for s in seed_questions]
    assert len(mains) == len(seed_questions)
    assert len(bank) == len(seed_questions) + sum(len(s["subs"]) for s in seed_questions)
    for main, seed in zip(mains, seed_questions):
        assert [q.question for q in bank.subs_of(main.id)] == seed["subs"]


def test_real_bank_is_complete_and_gradable():
    questions, issues = check_bank(KNOWLEDGE)
    assert [str(i) for i in issues if i.severity == "error"] == []
    for q in questions:
        assert q.gradable, q.id
        assert MIN_KEY_POINTS <= len(q.key_points) <= MAX_KEY_POINTS, q.id
        assert all(p.key_point is None or p.key_point < len(q.key_points) for p in q.pitfalls), q.id
        assert q.pitfalls and q.reference.strip(), q.id
        assert q.sources, q.id


def test_seed_answers_are_credited_verbatim():
    from interviewer.bank.importer import parse_markdown

    from .conftest import shared_file

    parsed = parse_markdown(shared_file("seed/deep-learning-interview.md").read_text(encoding="utf-8"))
    bank = load_bank(KNOWLEDGE)
    answered = [p for p in parsed if p.answer]
    assert len(answered) == 10
    for p in answered:
        q = bank.find(p.question)
        assert q.answer_source == "seed" and q.sources[0] == "seed"
        assert " ".join(q.seed_answer.split()) == " ".join(p.answer.split()), q.id


def test_find_by_id_wording_and_loose_wording():
    bank = load_bank(KNOWLEDGE)
    q = bank.get("relu-problems")
    assert bank.find("relu-problems") is q
    assert bank.find("ReLU의 문제점은?") is q
    assert bank.find("  relu의 문제점은 ") is q
    with pytest.raises(QuestionNotFound):
        bank.find("양자역학이란?")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    kdir = write_bank(tmp_path, {"01-a.yaml": GOOD + "---\nid: [unclosed\n"})
    _, issues = check_bank(kdir)
    assert len(issues) == 1
    assert issues[0].file.name == "01-a.yaml" and issues[0].line == 18
    assert "YAML" in issues[0].message


@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
def test_a_control_character_is_an_issue_with_its_line_not_a_crash(tmp_path, monkeypatch, loader):
    import yaml

    from interviewer.bank import loader as bank_loader

    if not hasattr(yaml, loader):
        pytest.skip("PyYAML built without libyaml")
    monkeypatch.setattr(bank_loader, "_Loader", getattr(yaml, loader))
    lines = GOOD.splitlines(keepends=True)
    kdir = write_bank(tmp_path, {"01-a.yaml": "".join(lines[:3]) + "\x00" + "".join(lines[3:])})
    _, issues = check_bank(kdir)
    assert [(i.file.name, i.line) for i in issues] == [("01-a.yaml", 4)]
    assert "YAML" in issues[0].message


def test_missing_field_and_bad_key_points_name_their_lines(tmp_path):
    _, issues = check_bank(write_bank(tmp_path / "a", {"01-a.yaml": GOOD.replace("difficulty: 1\n", "")}))
    assert [(i.line, "difficulty" in i.message and "필수" in i.message) for i in issues] == [(1, True)]
    _, issues = check_bank(write_bank(tmp_path / "k", {"01-a.yaml": GOOD.replace("  - point: 셋\n", "")}))
    assert [(i.line, "3-8" in i.message) for i in issues] == [(9, True)]
    linked = GOOD.replace("  - claim:", "  - key_point: 7\n    claim:", 1)
    _, issues = check_bank(write_bank(tmp_path / "p", {"01-a.yaml": linked}))
    assert len(issues) == 1 and "key_point" in issues[0].message and "7번" in issues[0].message
    bad_type = GOOD.replace("difficulty: 1", "difficulty: 9")
    _, issues = check_bank(write_bank(tmp_path / "b", {"01-a.yaml": bad_type}))
    assert issues[0].line == 5 and "difficulty" in issues[0].message


def test_duplicate_ids_and_dangling_parents(tmp_path):
    sub = GOOD.replace("id: q-main", "id: q-sub").replace("parent: null", "parent: nowhere")
    kdir = write_bank(tmp_path, {"01-a.yaml": GOOD, "02-b.yaml": GOOD + "---\n" + sub})
    _, issues = check_bank(kdir)
    text = [str(i) for i in issues]
    assert any("02-b.yaml:1:" in t and "중복" in t and "01-a.yaml:1" in t for t in text)
    assert any("02-b.yaml:20:" in t and "nowhere" in t for t in text)


def test_unreadable_and_non_mapping_files(tmp_path):
    kdir = write_bank(tmp_path, {"01-a.yaml": "- just\n- a list\n"})
    (kdir / "questions" / "02-bin.yaml").write_bytes(b"\xff\xfe\x00binary")
    _, issues = check_bank(kdir)
    by_file = {i.file.name: i.message for i in issues}
    assert "매핑" in by_file["01-a.yaml"]
    assert "UTF-8" in by_file["02-bin.yaml"]
    with pytest.raises(BankError) as e:
        load_bank(kdir)
    assert len(e.value.issues) == 2


def test_missing_questions_dir_is_a_clear_error(tmp_path):
    with pytest.raises(BankError, match="질문 폴더"):
        check_bank(tmp_path / "nope")
