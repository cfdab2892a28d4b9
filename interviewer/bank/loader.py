"""Reading and validating the bank's YAML files, with file:line for every problem."""

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import BankError, QuestionNotFound
from .schema import Question

# libyaml composes the bank's node trees (kept for line numbers) about 8x faster than the pure-Python loader.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class BankIssue:
    file: Path
    line: int
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


def _node_line(node: yaml.Node, loc: tuple) -> int:
    """Line (1-based) of the YAML node at a pydantic error location, as deep as the location resolves."""
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _documents(path: Path, issues: list[BankIssue]) -> Iterator[tuple[yaml.Node, object]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        issues.append(BankIssue(path, 1, f"UTF-8 텍스트가 아닙니다 ({e.reason})"))
        return
    except OSError as e:
        issues.append(BankIssue(path, 1, f"읽을 수 없습니다: {e.strerror or e}"))
        return
    loader = None
    try:
        loader = _Loader(text)  # the pure-Python reader rejects control characters here, before any node
        while loader.check_node():
            node = loader.get_node()
            yield node, loader.construct_document(node)
    except yaml.YAMLError as e:
        # The context mark is where the broken construct starts (an unclosed bracket), which is what needs fixing.
        mark = getattr(e, "context_mark", None) or getattr(e, "problem_mark", None)
        if mark:
            line = mark.line + 1
        else:  # a reader error (a control character) knows only its offset
            line = text.count("\n", 0, max(0, getattr(e, "position", 0))) + 1
        issues.append(BankIssue(path, line, f"YAML 문법 오류: {getattr(e, 'problem', None) or e}"))
    finally:
        if loader is not None:
            loader.dispose()


def _pydantic_message(err: dict) -> str:
    field = ".".join(str(p) for p in err["loc"]) or "(문서)"
    if err["type"] == "missing":
        return f"{field}: 필수 항목이 없습니다"
    if err["type"] == "extra_forbidden":
        return f"{field}: 알 수 없는 항목입니다"
    msg = err["msg"].removeprefix("Value error, ")
    return msg if err["type"] == "value_error" else f"{field}: {msg}"


def read_questions(files: list[Path]) -> tuple[list[Question], list[BankIssue]]:
    questions: list[Question] = []
    issues: list[BankIssue] = []
    for path in files:
        for node, data in _documents(path, issues):
            doc_line = node.start_mark.line + 1
            if data is None:
                continue
            if not isinstance(data, dict):
                issues.append(BankIssue(path, doc_line, "문서는 YAML 매핑(key: value)이어야 합니다"))
                continue
            try:
                q = Question.model_validate(data)
            except ValidationError as e:
                for err in e.errors():
                    loc = err["loc"]
                    if not loc and err["type"] == "value_error":  # whole-document checks name their field first
                        loc = (_pydantic_message(err).split(":", 1)[0],)
                    issues.append(BankIssue(path, _node_line(node, loc), _pydantic_message(err)))
                continue
            q.file, q.line = path, doc_line
            q.field_lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
            questions.append(q)
    return questions, issues


def _cross_check(questions: list[Question], topics: dict | None) -> list[BankIssue]:
    issues: list[BankIssue] = []
    seen: dict[str, Question] = {}
    for q in questions:
        if q.id in seen:
            issues.append(BankIssue(q.file, q.line, f"id '{q.id}' 중복 (처음: {seen[q.id].location})"))
        else:
            seen[q.id] = q
    wording: dict[str, Question] = {}
    for q in questions:
        key = normalize_wording(q.question)
        if key in wording and wording[key].id != q.id:
            issues.append(BankIssue(q.file, q.line, f"질문 문구가 '{wording[key].id}'와 같습니다", "warning"))
        wording.setdefault(key, q)
        if not q.gradable:
            issues.append(
                BankIssue(
                    q.file,
                    q.field_line("answer_source"),
                    f"'{q.id}': 참고 답안과 key_points가 없어 채점할 수 없습니다 ({q.answer_source})",
                    "warning",
                )
            )
        if q.parent is not None:
            parent = seen.get(q.parent)
            if parent is None:
                issues.append(BankIssue(q.file, q.field_line("parent"), f"parent '{q.parent}'가 문제 은행에 없습니다"))
            elif parent.parent is not None:
                issues.append(BankIssue(q.file, q.line, f"parent '{q.parent}'는 꼬리질문입니다 (한 단계만 허용)"))
            elif questions.index(parent) > questions.index(q):
                issues.append(BankIssue(q.file, q.line, f"꼬리질문이 parent '{q.parent}'보다 앞에 있습니다"))
        if topics is not None:
            for t in q.topics:
                if t not in topics:
                    issues.append(
                        BankIssue(q.file, q.field_line("topics"), f"topics.yaml에 없는 주제 '{t}'", "warning")
                    )
    return issues


_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize_wording(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


class Bank:
    """Questions in bank order (file-name order, then document order)."""

    def __init__(self, questions: list[Question], topics: dict | None = None):
        self.questions = questions
        self.topics = topics or {}
        self._by_id = {q.id: q for q in questions}
        self._by_wording = {normalize_wording(q.question): q for q in questions}

    def __len__(self) -> int:
        return len(self.questions)

    def __iter__(self):
        return iter(self.questions)

    def get(self, qid: str) -> Question:
        try:
            return self._by_id[qid]
        except KeyError:
            raise QuestionNotFound(f"질문 id '{qid}'가 문제 은행에 없습니다") from None

    def mains(self) -> list[Question]:
        return [q for q in self.questions if q.is_main]

    def subs_of(self, qid: str) -> list[Question]:
        return [q for q in self.questions if q.parent == qid]

    def find(self, text_or_id: str) -> Question:
        """By id, by exact wording, or by wording up to spacing and punctuation."""
        key = text_or_id.strip()
        if key in self._by_id:
            return self._by_id[key]
        q = self._by_wording.get(normalize_wording(key))
        if q is None:
            shown = key if len(key) <= 60 else key[:57] + "..."
            raise QuestionNotFound(
                f"문제 은행에 없는 질문입니다: '{shown}'", hint="`interviewer bank list` 로 id를 확인하세요."
            )
        return q


def question_files(questions_dir: Path) -> list[Path]:
    if not questions_dir.is_dir():
        raise BankError(f"질문 폴더가 없습니다: {questions_dir}", hint="INTERVIEWER_KNOWLEDGE_DIR 를 확인하세요.")
    return sorted(p for p in questions_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_topics(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise BankError(f"{path}: 주제 파일을 읽을 수 없습니다: {e}") from e
    return data if isinstance(data, dict) else None


def check_bank(knowledge_dir: Path) -> tuple[list[Question], list[BankIssue]]:
    """Every problem of the bank; never raises for content problems."""
    files = question_files(knowledge_dir / "questions")
    questions, issues = read_questions(files)
    if not files:
        issues.append(BankIssue(knowledge_dir / "questions", 0, "질문 파일(*.yaml)이 없습니다"))
    issues += _cross_check(questions, load_topics(knowledge_dir / "topics.yaml"))
    return questions, issues


def load_bank(knowledge_dir: Path) -> Bank:
    questions, issues = check_bank(knowledge_dir)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (외 {len(errors) - 1}건)" if len(errors) > 1 else ""
        raise BankError(
            f"문제 은행에 오류가 있습니다: {first}{more}",
            issues=errors,
            hint="`interviewer bank check` 로 전체 목록을 보세요.",
        )
    return Bank(questions, load_topics(knowledge_dir / "topics.yaml"))
