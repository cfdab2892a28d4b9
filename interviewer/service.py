"""The one service layer the CLI and the UI call: bank, index and search (grading and interviews build on it)."""

from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from .bank import Bank, BankIssue, Question, check_bank, load_bank
from .bank.importer import import_markdown
from .embeddings import Embedder, make_embedder
from .errors import InterviewerError
from .grading.answer import MAX_ANSWER_CHARS
from .grading.evaluate import evaluate
from .grading.offline import OfflineGrader
from .grading.schema import GradeResult
from .models import is_offline, local_server, make_chat_model
from .index import HybridRetriever, IndexStore, SyncReport, bank_chunks
from .settings import Settings
from .text import Analyzer, Glossary

Progress = Callable[[int, int], None]


class Service:
    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None):
        self.settings = settings or Settings()
        self._embedder = embedder
        self._retriever: HybridRetriever | None = None
        self._graders: dict[str, object] = {}

    @cached_property
    def bank(self) -> Bank:
        return load_bank(self.settings.knowledge_dir)

    @cached_property
    def glossary(self) -> Glossary:
        return Glossary.load(self.settings.glossary_path)

    @cached_property
    def analyzer(self) -> Analyzer:
        return Analyzer(self.glossary)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.embedder)
        return self._embedder

    def check_bank(self) -> tuple[int, list[BankIssue]]:
        questions, issues = check_bank(self.settings.knowledge_dir)
        return len(questions), issues

    def import_markdown(self, md: Path, out_dir: Path | None, *, prefix: str, topic: str,
                        overwrite: bool = False) -> list[Path]:
        out = out_dir or self.settings.questions_dir
        existing: set[str] = set()
        if out.resolve() == self.settings.questions_dir.resolve():
            existing = {q.id for q in check_bank(self.settings.knowledge_dir)[0]}
        return import_markdown(md, out, prefix=prefix, topic=topic, existing_ids=existing, overwrite=overwrite)

    def build_index(self, *, rebuild: bool = False, progress: Progress | None = None) -> SyncReport:
        """Create or update the index so it holds exactly the bank; only changed chunks are embedded."""
        chunks = bank_chunks(self.bank)
        store = IndexStore.open(self.settings, self.embedder, create=True, rebuild=rebuild)
        report = store.sync(chunks, self.analyzer, progress)
        self._store, self._retriever = store, None
        return report

    def retriever(self, progress: Progress | None = None) -> HybridRetriever:
        """A retriever over an index that matches the bank, building or updating the index first if needed."""
        if self._retriever is None:
            self.build_index(progress=progress)  # the synced store is reused, not opened a second time
            self._retriever = HybridRetriever(self._store, self.embedder, self.analyzer)
        return self._retriever

    def search(self, query: str, k: int = 5, progress: Progress | None = None):
        return self.retriever(progress).search(query, k)

    # -- grading ------------------------------------------------------------------------------------------------
    @cached_property
    def offline_grader(self) -> OfflineGrader:
        return OfflineGrader(self.bank, self.retriever())

    def grader(self, model: str | None = None):
        spec = (model or self.settings.model).strip()
        if is_offline(spec):
            return self.offline_grader
        if spec not in self._graders:
            from .grading.llm import LLMGrader

            model = make_chat_model(spec, self.settings.data_dir)
            server = local_server(spec, self.settings.data_dir)
            self._graders[spec] = LLMGrader(model, spec, self.offline_grader, self.settings.prompts_dir,
                                            slots=server.slots if server else None,
                                            reuse_prefix=server.reuse_prefix if server else None)
        return self._graders[spec]

    def question(self, text_or_id: str) -> Question:
        return self.bank.find(text_or_id)

    def grade(self, question: str, answer: str, model: str | None = None) -> GradeResult:
        """Grade one answer typed by a person: an empty or over-long answer is refused with a message."""
        q = self.question(question)
        if not answer or not answer.strip():
            raise InterviewerError("답변이 비어 있습니다. 모르면 '모르겠습니다'라고 답해도 됩니다.")
        if len(answer) > MAX_ANSWER_CHARS:
            raise InterviewerError(f"답변이 너무 깁니다 ({len(answer):,}자). {MAX_ANSWER_CHARS:,}자 이내로 줄여 주세요.")
        return self.grader(model).grade(q, answer)

    # -- interviews -----------------------------------------------------------------------------------------------
    def _interview_grade(self, q: Question, answer: str, model: str, follow_up: bool,
                         on_text: Callable[[str], None] | None = None) -> GradeResult:
        grader = self.grader(model)
        if grader is self.offline_grader:
            return grader.grade(q, answer)
        return grader.grade(q, answer, follow_up=follow_up, on_text=on_text)

    def start_interview(self, *, model: str | None = None, **options):
        """A new interview; the model is checked and the index made ready before the first question."""
        spec = (model or self.settings.model).strip()
        self.grader(spec)
        self.retriever()
        return self.interviews.start(model=spec, **options)

    @cached_property
    def interviews(self):
        from .interview import Interviews

        return Interviews(self.bank, self._interview_grade, self.offline_grader.grade,
                          self.settings.sessions_path)

    def evaluate(self, dataset: Path, model: str | None = None, **kwargs) -> dict:
        spec = model or self.settings.model
        return evaluate(dataset, self.bank, self.grader(spec).grade, "offline" if is_offline(spec) else spec, **kwargs)
