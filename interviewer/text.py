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
_NEGATING_AUX = {"않", "못", "못하", "말"}  # 하지 않다, 하지 못하다, 하지 말다
_CONTENT_TAGS = {"NNG", "NNP", "NR", "VV", "VA", "XR", "SL", "SH", "SN"}
_ASCII_WORD = re.compile(r"[a-z0-9]")
# Kiwi keeps an enumeration marker's dot on the letter or number ("A.", "1." at the start of a line): such a marker is
# list layout, not a word of the answer, and counted as foreign vocabulary it cost answers written as lists.
_LIST_MARKER = re.compile(r"^(?:[a-z]|\d+)\.$")


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
        # Patterns allow any spacing between a variant's words ("배치정규화" for "배치 정규화"): look matches up with
        # the spaces taken out.
        self._by_compact = {re.sub(r"\s+", "", v): e for v, e in reversed(self._by_variant.items())}
        self._patterns = sorted(self._by_variant, key=len, reverse=True)  # longest first, as the alternation tries
        # One alternation of ~1,000 variants is tried at every character (~1 ms a sentence). A variant can only
        # start where its first word's first two characters (one, for a one-letter word) occur, so `concepts`
        # tries each variant only there, longest first, and resolves overlaps the way the alternation would
        # (leftmost start, then the longest variant): the same matches.
        self._by_head: dict[str, list[tuple[int, re.Pattern]]] = {}
        for i, v in enumerate(self._patterns):
            head = v.split(" ")[0][:2]
            self._by_head.setdefault(head, []).append((i, re.compile(_variant_pattern(v))))

    @classmethod
    def load(cls, path: Path) -> "Glossary":
        if not path.exists():
            return cls([])
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            entries = [
                GlossaryEntry(str(d["canonical"]).lower(), tuple(str(v) for v in d.get("variants") or [])) for d in data
            ]
        except (yaml.YAMLError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as e:
            raise BankError(f"{path}: 용어집을 읽을 수 없습니다: {e}") from e
        return cls(entries)

    def concepts(self, text: str) -> list[GlossaryEntry]:
        """Concepts mentioned in text, in order of appearance (repeats kept)."""
        if not self._patterns:
            return []
        folded = _fold(text)
        found, pos = [], 0
        heads = self._by_head
        while pos < len(folded):
            match = None
            two, one = heads.get(folded[pos : pos + 2], ()), heads.get(folded[pos], ())
            for _, regex in sorted(two + one, key=lambda t: t[0]) if two and one else two or one:
                match = regex.match(folded, pos)
                if match:
                    break
            if match is None:
                pos += 1
                continue
            entry = self._by_compact.get(re.sub(r"\s+", "", match.group(0)))
            if entry is not None:
                found.append(entry)
            pos = match.end()
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
    """Tokens for BM25 and lexical evidence. Kiwi takes ~1 s to load, so it is loaded on first use only."""

    VERSION = "kiwi-content-v4"

    def __init__(self, glossary: Glossary | None = None):
        self.glossary = glossary or Glossary([])
        self._lock = threading.Lock()

    @cached_property
    def version(self) -> str:
        """Changes whenever tokens for the same text could change (stored tokens are then refreshed)."""
        spec = json.dumps(
            [self.VERSION, sorted(_CONTENT_TAGS), [(e.canonical, e.variants) for e in self.glossary.entries]],
            ensure_ascii=False,
        )
        return hashlib.sha256(spec.encode("utf-8")).hexdigest()[:12]

    @cached_property
    def _kiwi(self):
        from kiwipiepy import Kiwi

        # Without the typo and multi-word dictionaries Kiwi loads in 1.1 s instead of 2.8 s and tokenizes twice as
        # fast; over the bank and both eval sets only two multi-word names came out differently, and bilingual
        # terms are the glossary's job anyway.
        return Kiwi(load_typo_dict=False, load_multi_dict=False)

    def morphemes(self, text: str) -> list[str]:
        with self._lock:
            tokens = self._kiwi.tokenize(unicodedata.normalize("NFKC", text))
        return [form for t in tokens if t.tag in _CONTENT_TAGS and not _LIST_MARKER.match(form := t.form.lower())]

    def tokens(self, text: str) -> list[str]:
        return self.morphemes(text) + [e.token for e in self.glossary.concepts(text)]

    def negations(self, text: str) -> int:
        """How many times the text negates (않다, 못하다, 아니다, 없다): a misconception and its correction often
        differ only there, and content tokens drop the auxiliaries."""
        with self._lock:
            tokens = self._kiwi.tokenize(unicodedata.normalize("NFKC", text))
        return sum(
            1
            for t in tokens
            if (t.tag == "VX" and t.form in _NEGATING_AUX) or t.tag == "VCN" or (t.tag == "VA" and t.form == "없")
        )
