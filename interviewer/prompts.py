"""Prompt templates live in prompts/ as Jinja files, rendered strictly (a missing variable is an error)."""

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from .errors import ConfigError


@lru_cache(maxsize=8)
def _environment(prompts_dir: str) -> Environment:
    return Environment(
        loader=FileSystemLoader(prompts_dir), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def render(prompts_dir: Path, name: str, **values) -> str:
    try:
        return _environment(str(prompts_dir)).get_template(name).render(**values)
    except TemplateNotFound as e:
        raise ConfigError(f"프롬프트 파일이 없습니다: {prompts_dir / name}") from e
