"""The package's exception tree. Only the CLI and the UI turn these into user-facing messages."""


class InterviewerError(Exception):
    """Base of every error a user can cause or fix; carries a one-line message (Korean first)."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class ConfigError(InterviewerError):
    """Settings or a model/embedder spec that cannot be used."""


class BankError(InterviewerError):
    """The knowledge bank cannot be read or is invalid."""

    def __init__(self, message: str, *, issues: list | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.issues = issues or []


class QuestionNotFound(BankError):
    """A question id or wording that is not in the bank."""


class ImportFormatError(BankError):
    """A markdown list that `bank import` cannot read."""


class SearchIndexError(InterviewerError):
    """The search index is missing, corrupted, foreign, or built with another embedder."""

    hint = "`interviewer index --rebuild` 로 색인을 다시 만드세요."


class IndexMissing(SearchIndexError):
    hint = "`interviewer index` 로 색인을 만드세요."


class EmbedderMismatch(SearchIndexError):
    pass


class ForeignIndex(SearchIndexError):
    pass


class EmbeddingError(InterviewerError):
    """The embedder failed (model missing, server down, wrong dimension)."""


class SessionNotFound(InterviewerError):
    """An interview session id that the sessions database does not hold."""

    hint = "`interviewer sessions list` 로 확인하세요."


class JudgeError(InterviewerError):
    """The checklist judge could not judge an answer: the provider failed, or its replies are unusable (no token
    probabilities: LogprobsUnavailable). The caller falls back to the structured grader."""


class LogprobsUnavailable(JudgeError):
    """The server answered without token probabilities (an older Ollama, a proxy that drops them): this judge
    cannot work there; the caller uses the structured grader instead."""

    hint = (
        "토큰 확률(logprobs)을 돌려주는 서버(llama.cpp, vLLM, OpenAI, Ollama 0.12.11+)를 쓰거나 구조화 채점기를 쓰세요."
    )
