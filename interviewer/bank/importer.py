"""`bank import`: a markdown question list in the seed's format turned into bank files.

The format: `## heading` lines group questions; `- question` at the start of a line is a main question; a tab- or
space-indented `- question` is a sub-question of the last main question; `> text` lines are the answer to the last
question (a `> ref` line starts its sources); other indented lines continue the answer.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import ImportFormatError

_MAIN = re.compile(r"^[-*] (?P<text>.+)$")
_SUB = re.compile(r"^(?:\t+| {2,})[-*] (?P<text>.+)$")
_QUOTE = re.compile(r"^\s*>\s?(?P<text>.*)$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+)$")
_URL = re.compile(r"^https?://\S+$")


@dataclass
class ParsedQuestion:
    question: str
    line: int
    heading: str | None
    answer_lines: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    subs: list["ParsedQuestion"] = field(default_factory=list)

    @property
    def answer(self) -> str:
        return "\n".join(self.answer_lines).strip()


def parse_markdown(text: str, source: str = "<text>") -> list[ParsedQuestion]:
    mains: list[ParsedQuestion] = []
    current: ParsedQuestion | None = None
    heading: str | None = None
    in_refs = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if m := _HEADING.match(line):
            heading, current, in_refs = m["text"].strip(), None, False
        elif m := _MAIN.match(line):
            current = ParsedQuestion(m["text"].strip(), lineno, heading)
            mains.append(current)
            in_refs = False
        elif m := _SUB.match(line):
            if not mains:
                raise ImportFormatError(f"{source}:{lineno}: 상위 질문 없이 들여쓴 꼬리질문이 있습니다")
            current = ParsedQuestion(m["text"].strip(), lineno, heading)
            mains[-1].subs.append(current)
            in_refs = False
        elif m := _QUOTE.match(line):
            if current is None:
                raise ImportFormatError(f"{source}:{lineno}: 질문 없이 '>' 답변 줄이 있습니다")
            body = m["text"].strip()
            if body.lower() in ("ref", "refs", "reference", "references", "참고"):
                in_refs = True
            elif in_refs and _URL.match(body):
                current.sources.append(body)
            else:
                in_refs = False
                current.answer_lines.append(body)
        elif current is not None and current.answer_lines:
            current.answer_lines.append(line.strip())  # indented continuation, e.g. "  -> Define and Run ..."
    if not mains:
        raise ImportFormatError(f"{source}: 질문 목록('- 질문' 줄)을 찾지 못했습니다")
    return mains


class _Literal(str):
    pass


def _literal_representer(dumper: yaml.SafeDumper, data: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal_representer)


def _doc(qid: str, q: ParsedQuestion, parent: str | None, topic: str) -> dict:
    answer = q.answer
    doc = {
        "id": qid,
        "question": q.question,
        "parent": parent,
        "topics": [topic],
        "difficulty": 2,
        "answer_source": "imported" if answer else "missing",
        "reference": _Literal(answer + "\n") if answer else "",
        "key_points": [],
        "pitfalls": [],
    }
    if answer:
        doc["seed_answer"] = _Literal(answer + "\n")
    doc["sources"] = (["seed"] if answer else []) + q.sources
    return doc


def render_files(mains: list[ParsedQuestion], prefix: str, topic: str) -> dict[str, str]:
    """File name -> YAML text, one file per main question with its sub-questions."""
    files = {}
    width = max(2, len(str(len(mains))))
    for i, main in enumerate(mains, 1):
        main_id = f"{prefix}-{i:0{width}d}"
        docs = [_doc(main_id, main, None, topic)]
        docs += [_doc(f"{main_id}-{j}", sub, main_id, topic) for j, sub in enumerate(main.subs, 1)]
        header = "# bank import: " + (
            "답변 없음 — 참고 답안과 key_points를 채워 주세요\n"
            if any(d["answer_source"] == "missing" for d in docs)
            else "검토 필요\n"
        )
        body = yaml.dump_all(docs, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
        files[f"{main_id}.yaml"] = header + body
    return files


def import_markdown(
    md_path: Path, out_dir: Path, *, prefix: str, topic: str, existing_ids: set[str], overwrite: bool = False
) -> list[Path]:
    try:
        text = md_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ImportFormatError(f"{md_path}: UTF-8 텍스트가 아닙니다") from e
    except OSError as e:
        raise ImportFormatError(f"{md_path}: 읽을 수 없습니다: {e.strerror or e}") from e
    files = render_files(parse_markdown(text, str(md_path)), prefix, topic)
    new_ids = {d["id"] for body in files.values() for d in yaml.safe_load_all(body)}
    clash = sorted(new_ids & existing_ids)
    if clash and not overwrite:
        raise ImportFormatError(
            f"이미 있는 id와 겹칩니다: {', '.join(clash[:5])}",
            hint="--prefix 로 다른 접두어를 주거나 --out 으로 다른 폴더를 고르세요.",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in files.items():
        path = out_dir / name
        if path.exists() and not overwrite:
            raise ImportFormatError(f"파일이 이미 있습니다: {path}", hint="--overwrite 또는 다른 --out 을 쓰세요.")
        path.write_text(body, encoding="utf-8")
        written.append(path)
    return written
