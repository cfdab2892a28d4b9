"""The offline grader: no LLM, deterministic. Judges each key point from dense and lexical evidence."""

import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..bank import Bank, Question
from ..index import HybridRetriever
from ..index.retriever import Hit, collapse_by_question
from .answer import PreparedAnswer, prepare
from .calibration import PARTIAL_AT, Calibration, coverage_of, kp_statuses
from .feedback import build_feedback
from .schema import GradeResult, KeyPointJudgment, Passage, Progress, Status


@dataclass(frozen=True)
class OfflineParams:
    """How evidence is measured (not fitted: these define the signals). What the signals are worth, and every
    threshold that turns them into statuses and a score, is fitted on train by `interviewer calibrate`
    (see calibration.py) and loaded from its parameter file."""

    baseline_percentile: float = 75.0
    dense_lo: float = -0.04  # cosine above the sentence's baseline at which it starts to count as saying the point
    dense_hi: float = 0.08  # ... and at which it fully says it
    w_dense: float = 0.5
    w_terms: float = 0.3
    w_overlap: float = 0.2
    terms_needed: int = 2  # term hits that count as full lexical evidence
    reuse_weight: float = 0.35  # evidence words already used by a stronger key point count this much
    other_support_cos: float = 0.9  # a sentence this close to another question's reference is supported there
    # Off topic: retrieval favours another question this many times over our own family, the answer covers that
    # question better than ours, and ours little. Hard rules: train holds no off-topic answers to fit them on.
    off_topic_ratio: float = 1.6
    off_topic_max_coverage: float = 0.45
    off_topic_min_other: float = 0.2
    dont_know_max_coverage: float = 0.35
    family_weight: float = 0.8  # evidence for a sibling question is weaker proof of being on topic
    elsewhere_lo: float = 0.15  # relevance below which nothing of the score is kept (see Calibration.score)
    elsewhere_hi: float = 0.35  # ... and above which all of it is
    query_chars: int = 160  # the answer's opening embedded as the retrieval query (cost bounded for long answers)


@dataclass
class Evidence:
    """Everything the offline grader measures about one answer, before any fitted weight (calibration fits on it)."""

    kp_dense: np.ndarray  # per key point: its best sentence's dense evidence, 0-1 (spent sentences discounted)
    kp_terms: np.ndarray  # per key point: share of its terms present, 0-1
    kp_overlap: np.ndarray  # per key point: idf-weighted share of its words present, 0-1
    kp_best: list[int]  # per key point: the sentence shown as its evidence
    mis: np.ndarray  # (sentences, pitfalls, signals): misconception signals, see MIS_SIGNALS
    novelty: float
    relevance: float
    off_topic: bool
    closer: str
    dont_know: bool
    restated: bool
    n_tokens: int
    support_share: float  # share of sentences that are some key point's dense evidence
    flags: list[str]
    passages: list[Passage]
    sentences: tuple[str, ...] = ()  # the answer's sentences, which the indices above refer to


# Per (sentence, misconception): closer to the claim than to its correction; closer to the claim than to the rest
# of the bank; claim-only minus correction-only words; the same negation as the claim where the pair differs in it.
MIS_SIGNALS = ("margin", "claim_rel", "lex", "polarity")


@dataclass
class _QuestionCache:
    kp_vectors: np.ndarray  # key points, passage-embedded (from the index)
    claim_vectors: np.ndarray
    correction_vectors: np.ndarray
    kp_terms: list[list[set[str]]]  # per key point, per term: the tokens that term needs
    kp_tokens: list[dict[str, float]]  # per key point: content token -> idf weight
    family: set[str]
    vocabulary: set[str]  # tokens of the family's references, key points, terms and corrections
    echo: set[str]  # the question's own words
    claim_only: list[dict[str, float]]  # per misconception: words of the claim its correction lacks -> idf
    correction_only: list[dict[str, float]]
    pair_words: list[dict[str, float]]  # words of claim and correction together
    claim_negated: list[int]  # per misconception: +1 the claim negates and the correction not, -1 reverse, 0


def _note_key(off_topic: bool, dont_know: bool, restated: bool) -> str | None:
    return "off_topic" if off_topic else "dont_know" if dont_know else "restates_question" if restated else None


def _share(tokens: set[str], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in tokens) / total if total else 0.0


def _unit(m: np.ndarray) -> np.ndarray:
    if m.size == 0:
        return m
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)


class OfflineGrader:
    name = "offline"

    def __init__(
        self,
        bank: Bank,
        retriever: HybridRetriever,
        params: OfflineParams | None = None,
        calibration: "Calibration | None" = None,
    ):
        self.bank = bank
        self.retriever = retriever
        self.analyzer = retriever.analyzer
        self.params = params or OfflineParams()
        self.calibration = calibration or Calibration.load()
        got = retriever.store.collection.get(include=["embeddings", "metadatas"])
        self._vectors = dict(zip(got["ids"], (np.asarray(v, dtype=np.float32) for v in got["embeddings"])))
        self._all_ids = list(got["ids"])
        self._all_qids = np.array([m["question_id"] for m in got["metadatas"]])
        self._all = _unit(np.vstack([self._vectors[i] for i in self._all_ids])) if self._all_ids else None
        self._cache = lru_cache(maxsize=None)(self._build_cache)
        self._lock = threading.RLock()

    # -- per-question material, computed once -------------------------------------------------------------
    def _stack(self, ids: list[str]) -> np.ndarray:
        vecs = [self._vectors[i] for i in ids if i in self._vectors]
        return _unit(np.vstack(vecs)) if vecs else np.zeros((0, self.retriever.embedder.dimension), dtype=np.float32)

    def _tokens(self, chunk_id: str, text: str) -> list[str]:
        """A bank text's tokens as the index stored them (no second Kiwi pass), else analysed now."""
        chunk = self.retriever.chunk(chunk_id)
        return chunk.tokens if chunk is not None else self.analyzer.tokens(text)

    def _build_cache(self, qid: str) -> _QuestionCache:
        q = self.bank.get(qid)
        kp_ids = [f"{qid}:key_point:{i}" for i in range(len(q.key_points))]
        claims = [f"{qid}:pitfall:{i}" for i in range(len(q.pitfalls))]
        corrections = [f"{qid}:correction:{i}" for i in range(len(q.pitfalls))]
        # Repeating the question's own words shows nothing: they are not evidence for any key point.
        echo = set(self._tokens(f"{qid}:question:0", q.question + " " + (q.context or "")))
        kp_terms = []
        for kp in q.key_points:
            needs = [set(self.analyzer.tokens(t)) - echo for t in kp.terms]
            kp_terms.append([n for n in needs if n])
        kp_tokens = []
        for i, kp in enumerate(q.key_points):
            toks = set(self._tokens(f"{qid}:key_point:{i}", kp.point)) - echo
            kp_tokens.append({t: self.retriever.idf(t) for t in toks})
        main = q.parent or q.id
        family = {main} | {s.id for s in self.bank.subs_of(main)}
        vocabulary: set[str] = set()
        for member in {q.id, main}:
            m = self.bank.get(member)
            for c in self.retriever.chunks_of(member):
                if c.kind != "pitfall":  # a misconception's words are not the reference's vocabulary
                    vocabulary.update(c.tokens)
            for kp in m.key_points:
                vocabulary.update(self.analyzer.tokens(" ".join(kp.terms)))
        claim_only, correction_only, pair_words, negated = [], [], [], []
        for i, pit in enumerate(q.pitfalls):
            ct = set(self._tokens(f"{qid}:pitfall:{i}", pit.claim)) - echo
            kt = set(self._tokens(f"{qid}:correction:{i}", pit.correction)) - echo if pit.correction else set()
            claim_only.append({t: self.retriever.idf(t) for t in ct - kt})
            correction_only.append({t: self.retriever.idf(t) for t in kt - ct})
            pair_words.append({t: self.retriever.idf(t) for t in ct | kt})
            nc, nk = self.analyzer.negations(pit.claim), self.analyzer.negations(pit.correction)
            negated.append(int(np.sign((nc > 0) - (nk > 0))))
        return _QuestionCache(
            self._stack(kp_ids),
            self._stack(claims),
            self._stack(corrections),
            kp_terms,
            kp_tokens,
            family,
            vocabulary,
            echo,
            claim_only,
            correction_only,
            pair_words,
            negated,
        )

    # -- grading --------------------------------------------------------------------------------------------
    def grade(self, question: Question, answer: str, *, progress: Progress | None = None) -> GradeResult:
        """`progress` is told, in Korean, what the grader is doing (a UI shows it while a slow grader works)."""
        if progress:
            progress("답변 분석 중")
        return self.assess(question, answer)[0]

    def assess(self, question: Question, answer: str) -> tuple[GradeResult, Evidence | None]:
        """The grade and the evidence behind it (None for an empty answer or an ungradable question)."""
        start = time.perf_counter()
        prepared = prepare(answer)
        with self._lock:  # Kiwi, the embedder and the per-question cache are shared by UI sessions in threads
            result, evidence = self._grade(question, prepared)
        result.latency_ms = round((time.perf_counter() - start) * 1000, 1)
        return result, evidence

    def _grade(self, q: Question, a: PreparedAnswer) -> tuple[GradeResult, Evidence | None]:
        flags = list(a.flags)
        if not q.gradable:
            return GradeResult(
                question_id=q.id,
                grader=self.name,
                flags=flags,
                unscored_reason="이 질문에는 아직 참고 답안이 없어 채점할 수 없습니다.",
            ), None
        if a.empty:
            judgments = [
                KeyPointJudgment(index=i, point=kp.point, status=Status.missed) for i, kp in enumerate(q.key_points)
            ]
            result = GradeResult(
                question_id=q.id, score=0.0, key_points=judgments, dont_know=True, grader=self.name, flags=flags
            )
            result.feedback = build_feedback(q, judgments, note_key="dont_know")
            return result, None
        evidence = self._evidence(q, a)
        return self.calibration.grade(q, a, evidence, self.params, grader=self.name), evidence

    def evidence(self, question: Question, answer: str) -> Evidence | None:
        """The measured evidence of a gradable question's non-empty answer (what calibration fits on)."""
        a = prepare(answer)
        if not question.gradable or a.empty:
            return None
        with self._lock:
            return self._evidence(question, a)

    def _evidence(self, q: Question, a: PreparedAnswer) -> Evidence:
        p = self.params
        flags = list(a.flags)
        cache = self._cache(q.id)
        sent_vecs = _unit(np.asarray(self.retriever.embedder.embed_passages(a.sentences), dtype=np.float32))
        sent_lists = [self.analyzer.tokens(s) for s in a.sentences]  # one Kiwi pass: the answer is its sentences
        answer_tokens = [t for toks in sent_lists for t in toks]
        token_set = set(answer_tokens)
        sent_tokens = [set(toks) for toks in sent_lists]
        # Retrieval grounding: the whole answer against the whole bank. The dense side embeds the answer's opening
        # as an E5 *query* (the prefix E5 was trained to retrieve passages with): the own question comes first
        # more often than with the mean of its passage vectors; kept short because the opening says what an answer
        # is about.
        query_vec = self.retriever.embedder.embed_queries([a.text[: p.query_chars]])[0]
        hits = self.retriever.rank_chunks(a.text, vector=query_vec, tokens=answer_tokens)
        baseline = self._baseline(sent_vecs, cache)
        kp_sims = sent_vecs @ cache.kp_vectors.T if cache.kp_vectors.size else np.zeros((len(a.sentences), 0))
        # E5 rates any short on-topic sentence ~0.87 against everything; what counts is how much closer a sentence
        # is to a key point than to the rest of the bank (a high percentile of its similarity to other questions).
        kp_sims = kp_sims - baseline[:, None]
        dense, terms, overlap, best = self._kp_components(q, a, kp_sims, token_set, sent_tokens, cache)
        coverage = self._coverage(q, dense, terms, overlap)
        off_topic, closer, relevance = self._off_topic(q, a, hits, cache, coverage, sent_vecs, token_set, sent_tokens)
        if off_topic:
            flags.append(f"closer_to:{closer}")
        # An answer in the question's own words only says nothing; one with no words at all restates nothing.
        restated = bool(token_set) and token_set <= cache.echo
        if restated:
            flags.append("restates_question")
        dont_know = a.dont_know_phrase and coverage <= p.dont_know_max_coverage
        # How much of the answer is about some key point: the mean over sentences of their best dense evidence.
        cols = np.clip((kp_sims - p.dense_lo) / (p.dense_hi - p.dense_lo), 0, 1)
        support = float(cols.max(axis=1).mean()) if cols.shape[1] else 0.0
        return Evidence(
            dense,
            terms,
            overlap,
            best,
            self._misconception_signals(a, sent_vecs, baseline, sent_tokens, cache),
            self._novelty(a, sent_vecs, sent_tokens, cache, hits),
            relevance,
            off_topic,
            closer,
            dont_know,
            restated,
            len(answer_tokens),
            support,
            flags,
            self._passages(q, hits),
            tuple(a.sentences),
        )

    def _coverage(self, q: Question, dense: np.ndarray, terms: np.ndarray, overlap: np.ndarray) -> float:
        """Key-point coverage 0-1 (covered 1, partial 0.5), for the off-topic and don't-know rules."""
        return coverage_of(kp_statuses(self.params, dense, terms, overlap))

    @staticmethod
    def _passages(q: Question, hits: list[Hit], own_n: int = 4, other_n: int = 2) -> list[Passage]:
        """Evidence to show: the question's own reference passages nearest the answer, then the nearest passages of
        other questions. Misconception chunks are for detection only and never shown as support."""
        factual = [h for h in hits if h.kind in ("reference", "key_point", "correction")]
        own = [h for h in factual if h.question_id == q.id][:own_n]
        other = [h for h in factual if h.question_id != q.id][:other_n]
        return [
            Passage(chunk_id=h.chunk_id, question_id=h.question_id, kind=h.kind, text=h.text, score=round(h.score, 5))
            for h in own + other
        ]

    def _baseline(self, sent_vecs: np.ndarray, cache: _QuestionCache) -> np.ndarray:
        if self._all is None:
            return np.zeros(len(sent_vecs))
        others = ~np.isin(self._all_qids, list(cache.family))
        sims = sent_vecs @ self._all[others].T
        return np.percentile(sims, self.params.baseline_percentile, axis=1)

    def _kp_components(
        self,
        q: Question,
        a: PreparedAnswer,
        kp_sims: np.ndarray,
        token_set: set[str],
        sent_tokens: list[set[str]],
        cache: _QuestionCache,
    ):
        """Per key point: dense evidence of its best sentence, share of its terms, share of its words, and the
        sentence to show. Words and sentences that already served a stronger key point count for less, so one
        phrase cannot cover several points ("DL is a deep neural network" is close to every point of its question)."""
        n = len(q.key_points)
        dense_cols = [self._dense_col(kp_sims, i, len(a.sentences)) for i in range(n)]
        used_sents = np.zeros(len(a.sentences), dtype=bool)
        used: set[str] = set()
        out = np.zeros((3, n))
        order = sorted(
            range(n), key=lambda i: -self._strength(i, set(), used_sents, token_set, sent_tokens, dense_cols, cache)[0]
        )
        for i in order:
            value, parts, tokens = self._strength(i, used, used_sents, token_set, sent_tokens, dense_cols, cache)
            out[:, i] = parts
            if value >= PARTIAL_AT:  # a point that holds counts its words and its best sentence as spent
                used |= tokens
                used_sents[int(np.argmax(dense_cols[i]))] = True
        best = []
        for i in range(n):
            words = set(cache.kp_tokens[i])
            col = kp_sims[:, i] if kp_sims.shape[1] > i else np.zeros(len(a.sentences))
            # The sentence with the most lexical and dense support is the evidence shown to the candidate.
            best.append(max(range(len(a.sentences)), key=lambda s: len(sent_tokens[s] & words) + col[s]))
        return out[0], out[1], out[2], best

    def _dense_col(self, kp_sims: np.ndarray, i: int, n_sents: int) -> np.ndarray:
        p = self.params
        col = kp_sims[:, i] if kp_sims.shape[1] > i else np.zeros(n_sents)
        return np.clip((col - p.dense_lo) / (p.dense_hi - p.dense_lo), 0, 1)

    def _strength(
        self,
        i: int,
        used: set[str],
        used_sents: np.ndarray,
        token_set: set[str],
        sent_tokens: list[set[str]],
        dense_cols: list[np.ndarray],
        cache: _QuestionCache,
    ):
        """(strength, (dense, terms, overlap), evidence words) of key point i given what stronger points spent."""
        p = self.params
        terms = cache.kp_terms[i]
        matched = [need for need in terms if need <= token_set]
        term_hits = sum(p.reuse_weight if need <= used else 1.0 for need in matched)
        term_score = min(1.0, term_hits / max(1, min(p.terms_needed, len(terms))))
        weights = cache.kp_tokens[i]
        total = sum(weights.values())
        overlap = (
            sum(w * (p.reuse_weight if t in used else 1.0) for t, w in weights.items() if t in token_set) / total
            if total
            else 0.0
        )
        evidence_tokens = set().union(*matched) | {t for t in weights if t in token_set}
        # A sentence that was a stronger point's best dense evidence is paid again only if it also names this
        # point in words of its own ("filters, padding and stride" lists three points in one line).
        own_words = set(weights).union(*terms) - used
        spent = used_sents & ~np.array([bool(st & own_words) for st in sent_tokens])
        d = float(np.max(np.where(spent, p.reuse_weight, 1.0) * dense_cols[i]))
        value = p.w_dense * d + p.w_terms * term_score + p.w_overlap * overlap
        return value, (d, term_score, overlap), evidence_tokens

    def _novelty(
        self,
        a: PreparedAnswer,
        sent_vecs: np.ndarray,
        sent_tokens: list[set[str]],
        cache: _QuestionCache,
        hits: list[Hit],
    ) -> float:
        """Share of the answer's idf-weighted vocabulary that the question's references never use. Wrong answers
        state things the references do not; correct extras are usually backed by another question's reference,
        so a sentence close to one counts half."""
        other = [
            h.chunk_id
            for h in hits[:8]
            if h.question_id not in cache.family
            and h.kind in ("reference", "key_point", "correction")
            and h.chunk_id in self._vectors
        ]
        other_sims = (sent_vecs @ self._stack(other).T).max(axis=1) if other else np.zeros(len(sent_tokens))
        foreign = total = 0.0
        for toks, sim in zip(sent_tokens, other_sims):
            weight = 0.5 if sim >= self.params.other_support_cos else 1.0
            for t in toks:
                if t.startswith("g:") or (t.endswith(".") and len(t) <= 2):
                    continue  # glossary concepts repeat their morphemes (count each word once); list markers (1., A.)
                w = self.retriever.idf(t)
                total += w
                if t not in cache.vocabulary:
                    foreign += w * weight
        return foreign / total if total else 0.0

    def _misconception_signals(
        self,
        a: PreparedAnswer,
        sent_vecs: np.ndarray,
        baseline: np.ndarray,
        sent_tokens: list[set[str]],
        cache: _QuestionCache,
    ) -> np.ndarray:
        """(sentences, misconceptions, MIS_SIGNALS). Dense similarity barely separates a claim from its correction
        (E5 puts them ~0.95 apart), so the words that differ between the two and their negation are measured too."""
        n_s, n_p = len(a.sentences), cache.claim_vectors.shape[0]
        out = np.zeros((n_s, n_p, len(MIS_SIGNALS)), dtype=np.float32)
        if not n_p or not n_s:
            return out
        claim = sent_vecs @ cache.claim_vectors.T
        corr = sent_vecs @ cache.correction_vectors.T if cache.correction_vectors.shape[0] == n_p else claim
        out[:, :, 0] = claim - corr
        out[:, :, 1] = claim - baseline[:, None]
        negations = [self.analyzer.negations(s) > 0 for s in a.sentences]
        for j in range(n_p):
            pair = cache.pair_words[j]
            total = sum(pair.values()) or 1.0
            for s, toks in enumerate(sent_tokens):
                topical = sum(w for t, w in pair.items() if t in toks) / total  # about what the pair is about
                out[s, j, 2] = topical * (_share(toks, cache.claim_only[j]) - _share(toks, cache.correction_only[j]))
                if cache.claim_negated[j]:
                    same = negations[s] == (cache.claim_negated[j] > 0)
                    out[s, j, 3] = topical * (1.0 if same else -1.0)
        return out

    def _off_topic(
        self,
        q: Question,
        a: PreparedAnswer,
        hits: list[Hit],
        cache: _QuestionCache,
        coverage: float,
        sent_vecs: np.ndarray,
        token_set: set[str],
        sent_tokens: list[set[str]],
    ) -> tuple[bool, str, float]:
        """(off topic?, the closer question, relevance 0-1: our family's share of the retrieval evidence, the rest
        of the family weighted below the question itself).

        Off topic needs two things: retrieval favours another question clearly, and the answer covers that
        question's key points better than ours. Retrieval alone misfires on terse notes."""
        p = self.params
        ranked = collapse_by_question(hits, k=len(hits) or 1)
        own = max(
            (
                h.score * (1.0 if h.question_id == q.id else p.family_weight)
                for h in ranked
                if h.question_id in cache.family
            ),
            default=0.0,
        )
        other = next((h for h in ranked if h.question_id not in cache.family), None)
        if other is None:
            return False, "", 1.0 if own else 0.0
        relevance = own / (own + other.score) if own + other.score else 0.0
        if other.score < p.off_topic_ratio * own or coverage > p.off_topic_max_coverage:
            return False, other.question_id, relevance
        oq = self.bank.get(other.question_id)
        if not oq.gradable:
            return False, other.question_id, relevance
        ocache = self._cache(oq.id)
        osims = sent_vecs @ ocache.kp_vectors.T - self._baseline(sent_vecs, ocache)[:, None]
        other_cov = self._coverage(oq, *self._kp_components(oq, a, osims, token_set, sent_tokens, ocache)[:3])
        return other_cov >= max(p.off_topic_min_other, coverage + 0.1), other.question_id, relevance
