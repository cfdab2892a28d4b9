"""The one service layer the CLI and the UI call: bank, index and search (grading and interviews build on it)."""

from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from .bank import Bank, BankIssue, Question, check_bank, load_bank
from .bank.importer import import_markdown
from .embeddings import Embedder, make_embedder
from .errors import InterviewerError
from .grading.answer import check_answer
from .grading.evaluate import evaluate
from .grading.offline import OfflineGrader
from .grading.schema import GradeResult
from .index import HybridRetriever, IndexStore, SyncReport, bank_chunks
from .providers import is_offline, local_server, make_chat_model, supports_logprobs
from .settings import Settings
from .text import Analyzer, Glossary

Progress = Callable[[int, int], None]


class Service:
    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None):
        self.settings = settings or Settings()
        self._embedder = embedder
        self._retriever: HybridRetriever | None = None
        self._graders: dict[tuple[str, str], object] = {}  # (model spec, judge mode) -> grader

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

    def import_markdown(
        self, md: Path, out_dir: Path | None, *, prefix: str, topic: str, overwrite: bool = False
    ) -> list[Path]:
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
        key = (spec, self.settings.judge)
        if key not in self._graders:
            self._graders[key] = self._checklist_grader(spec) or self._structured_grader(spec)
        return self._graders[key]

    def _checklist_grader(self, spec: str):
        """The checklist judge combined with the offline evidence, for a model whose server returns token
        probabilities (checked with one tiny call); None otherwise."""
        from .errors import JudgeError
        from .grading.checklist import ChecklistJudge, LogprobsUnavailable
        from .grading.combined import CombinedGrader, CombinedParams

        if self.settings.judge != "checklist" or not supports_logprobs(spec):
            return None
        judge = ChecklistJudge.from_spec(spec, self.settings, self.settings.prompts_dir, contrastive=False)
        try:
            judge.probe()
        except LogprobsUnavailable:
            return None
        except JudgeError:
            pass  # the server failed, not its probabilities: grading says so, answer by answer, and loses nothing
        return CombinedGrader(self.offline_grader, judge, CombinedParams.load(spec), spec)

    def _structured_grader(self, spec: str):
        from .grading.llm import LLMGrader

        model = make_chat_model(spec, self.settings.data_dir)
        server = local_server(spec, self.settings.data_dir)
        return LLMGrader(
            model,
            spec,
            self.offline_grader,
            self.settings.prompts_dir,
            slots=server.slots if server else None,
            reuse_prefix=server.reuse_prefix if server else None,
        )

    def question(self, text_or_id: str) -> Question:
        return self.bank.find(text_or_id)

    def grade(self, question: str, answer: str, model: str | None = None) -> GradeResult:
        """Grade one answer typed by a person: an empty or over-long answer is refused with a message."""
        q = self.question(question)
        check_answer(answer)
        return self.grader(model).grade(q, answer)

    # -- interviews -----------------------------------------------------------------------------------------------
    def _interview_grade(
        self,
        q: Question,
        answer: str,
        model: str,
        follow_up: bool,
        on_text: Callable[[str], None] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> GradeResult:
        """One interview turn's grade. `progress` is told what the grader is doing (shown while the candidate
        waits); `on_text` receives the interviewer's words as a model streams them."""
        grader = self.grader(model)
        if grader is self.offline_grader:
            return grader.grade(q, answer, progress=progress)
        return grader.grade(q, answer, follow_up=follow_up, on_text=on_text, progress=progress)

    def start_interview(self, *, model: str | None = None, **options):
        """A new interview; the model is checked and the index made ready before the first question."""
        spec = (model or self.settings.model).strip()
        self.grader(spec)
        self.retriever()
        return self.interviews.start(model=spec, **options)

    def report(self, session_id: str, owner: str | None = None) -> dict:
        """A session's report (per question, per topic, what to review next), for every front end alike."""
        from .interview.report import build_report

        iv = self.interviews
        return build_report(iv.meta(session_id, owner=owner), iv.values(session_id, owner=owner), self.bank)

    @cached_property
    def interviews(self):
        from .interview import Interviews

        return Interviews(self.bank, self._interview_grade, self.offline_grader.grade, self.settings.sessions_path)

    def calibrate(self, train: Path, dev: Path | None, out: Path | None = None, progress=None) -> dict:
        """Fit the offline grader on `train` (see grading/fitting.py) and write its parameter file."""
        from .grading.calibration import PARAMS_PATH, Calibration
        from .grading.fitting import calibrate
        from .grading.offline import MIS_SIGNALS

        for path in (train, dev):
            if path is not None and not path.is_file():
                raise InterviewerError(f"{path}: 파일이 없습니다")
        grader = OfflineGrader(self.bank, self.retriever(), calibration=Calibration.neutral(len(MIS_SIGNALS)))
        step = (lambda name, n, total: progress(n, total)) if progress else None
        fitted = calibrate(grader, self.bank, train, dev, out or PARAMS_PATH, step)
        self.__dict__.pop("offline_grader", None)  # the next grade loads the new parameters
        self._graders.clear()
        return fitted

    def calibrate_checklist(
        self, spec: str, train: Path, every: int, cache: Path, out: Path | None = None, progress=None
    ) -> dict:
        """Fit how `spec`'s checklist judgments combine with the offline grade, on train's answers to every
        `every`-th question family (see grading/fitting_checklist.py)."""
        from .grading.checklist import ChecklistJudge
        from .grading.fitting import read_items
        from .grading.fitting_checklist import calibrate_checklist

        if not train.is_file():
            raise InterviewerError(f"{train}: 파일이 없습니다")
        grader = self.offline_grader
        families = {q.id for q in self.bank.mains()[::every]}
        items = read_items(train, self.bank, grader)
        judge = ChecklistJudge.from_spec(spec, self.settings, self.settings.prompts_dir, contrastive=False)
        judge.probe()
        lam = grader.calibration.fitted.get("ridge_lambda", 1.0)
        fitted = calibrate_checklist(spec, items, families, grader, judge, lam, cache, out, progress)
        self._graders.clear()
        return fitted

    def evaluate(self, dataset: Path, model: str | None = None, **kwargs) -> dict:
        spec = model or self.settings.model
        return evaluate(dataset, self.bank, self.grader(spec).grade, "offline" if is_offline(spec) else spec, **kwargs)
