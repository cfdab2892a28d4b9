"""Korean-aware lexical analysis: kiwipiepy morphemes plus bilingual glossary concepts."""

import hashlib
import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from .errors import BankError

# Content morphemes: nouns, verb/adjective stems, roots, foreign words, numbers, hanja.
_CONTENT_TAGS = {"NNG", "NNP", "NR", "VV", "VA", "XR", "SL", "SH", "SN"}
_ASCII_WORD = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class GlossaryEntry:
    canonical: str
    variants: tuple[str, ...]

    @property
    def token(self) -> str:
        return "g:" + self.canonical.replace(" ", "_")


class Glossary:
    """Treats every spelling of a concept (배치 정규화, BatchNorm, BN) as one canonical concept."""

    def __init__(self, entries: list[GlossaryEntry]):
        self.entries = entries
        self._by_variant: dict[str, GlossaryEntry] = {}
        for e in entries:
            for v in (e.canonical, *e.variants):
                self._by_variant.setdefault(_fold(v), e)
        patterns = sorted(self._by_variant, key=len, reverse=True)
        self._regex = re.compile("|".join(_variant_pattern(p) for p in patterns)) if patterns else None

    @classmethod
    def load(cls, path: Path) -> "Glossary":
        if not path.exists():
            return cls([])
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            entries = [GlossaryEntry(str(d["canonical"]).lower(), tuple(str(v) for v in d.get("variants") or []))
                       for d in data]
        except (yaml.YAMLError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as e:
            raise BankError(f"{path}: 용어집을 읽을 수 없습니다: {e}") from e
        return cls(entries)

    def concepts(self, text: str) -> list[GlossaryEntry]:
        """Concepts mentioned in text, in order of appearance (repeats kept)."""
        if self._regex is None:
            return []
        folded = _fold(text)
        found = []
        for m in self._regex.finditer(folded):
            entry = self._by_variant.get(re.sub(r"\s+", " ", m.group(0)))
            if entry is not None:
                found.append(entry)
        return found


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def _variant_pattern(variant: str) -> str:
    body = r"\s*".join(re.escape(part) for part in variant.split(" "))
    # Latin words need word boundaries ("bn" must not match inside "bnn"); Korean takes particles directly.
    left = r"(?<![a-z0-9])" if _ASCII_WORD.match(variant[0]) else ""
    right = r"(?![a-z0-9])" if _ASCII_WORD.match(variant[-1]) else ""
    return left + body + right


class Analyzer:
    """Tokens for BM25 and lexical evidence. Kiwi takes ~3 s to load, so it is loaded on first use only."""

    VERSION = "kiwi-content-v1"

    def __init__(self, glossary: Glossary | None = None):
        self.glossary = glossary or Glossary([])
        self._lock = threading.Lock()

    @cached_property
    def version(self) -> str:
        """Changes whenever tokens for the same text could change (stored tokens are then refreshed)."""
        spec = json.dumps([self.VERSION, sorted(_CONTENT_TAGS),
                           [(e.canonical, e.variants) for e in self.glossary.entries]], ensure_ascii=False)
        return hashlib.sha256(spec.encode("utf-8")).hexdigest()[:12]

    @cached_property
    def _kiwi(self):
        from kiwipiepy import Kiwi

        return Kiwi()

    def morphemes(self, text: str) -> list[str]:
        with self._lock:
            tokens = self._kiwi.tokenize(unicodedata.normalize("NFKC", text))
        return [t.form.lower() for t in tokens if t.tag in _CONTENT_TAGS]

    def tokens(self, text: str) -> list[str]:
        return self.morphemes(text) + [e.token for e in self.glossary.concepts(text)]
