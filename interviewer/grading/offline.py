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
from .feedback import offline_feedback
from .schema import GradeResult, KeyPointJudgment, Passage, Status, score_from_judgments


@dataclass(frozen=True)
class OfflineParams:
    """Calibrated on ../shared/eval (dev + external); see benchmarks/grader.py. Few knobs on purpose."""

    baseline_percentile: float = 75.0
    dense_lo: float = -0.04  # cosine above the sentence's baseline at which it starts to count as saying the point
    dense_hi: float = 0.08  # ... and at which it fully says it
    w_dense: float = 0.5
    w_terms: float = 0.3
    w_overlap: float = 0.2
    covered_at: float = 0.55
    partial_at: float = 0.32
    min_dense_for_covered: float = 0.2  # keyword lists without a sentence that says the point stay partial
    terms_needed: int = 2  # term hits that count as full lexical evidence
    reuse_weight: float = 0.35  # evidence words already used by a stronger key point count this much
    contradiction_cos: float = 0.95  # dense similarity barely separates a claim from its correction: be strict
    contradiction_margin: float = 0.03
    novelty_free: float = 0.25  # share of the answer's weighted vocabulary foreign to the question, unpenalized
    novelty_penalty: float = 1.0  # score lost per unit of foreign vocabulary above that
    relevance_bonus: float = 1.0  # points for being plainly about this question (see _grade)
    # Retrieval evidence mostly elsewhere scales the score down, from nothing kept at `lo` to all kept at `hi`: a soft
    # off-topic for answers too thin to cover another question's key points (the hard rule below needs that).
    elsewhere_lo: float = 0.15
    elsewhere_hi: float = 0.35
    curve: float = 0.8  # strict statuses mapped onto the usual 0-5 scale (see score_from_judgments)
    other_support_cos: float = 0.9  # a sentence this close to another question's reference is supported there
    off_topic_ratio: float = 1.6  # another question's evidence this many times our own family's
    off_topic_max_coverage: float = 0.45
    off_topic_min_other: float = 0.2  # ... and the answer covers at least this much of the other question
    dont_know_max_coverage: float = 0.35
    # Relevance: evidence for a sibling sub-question (or the main question) is weaker proof of being on topic than
    # evidence for the question itself. External own-vs-other AUC .958 -> .965 at 0.6-0.9 alike; dev unchanged.
    family_weight: float = 0.8
    query_chars: int = 160  # the answer's opening embedded as the retrieval query (cost bounded for long answers)


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


def _unit(m: np.ndarray) -> np.ndarray:
    if m.size == 0:
        return m
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)


class OfflineGrader:
    name = "offline"

    def __init__(self, bank: Bank, retriever: HybridRetriever, params: OfflineParams | None = None):
        self.bank = bank
        self.retriever = retriever
        self.analyzer = retriever.analyzer
        self.params = params or OfflineParams()
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
        return _unit(np.vstack(vecs)) if vecs else np.zeros((0, 384), dtype=np.float32)

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
        return _QuestionCache(self._stack(kp_ids), self._stack(claims), self._stack(corrections), kp_terms,
                              kp_tokens, family, vocabulary, echo)

    # -- grading --------------------------------------------------------------------------------------------
    def grade(self, question: Question, answer: str) -> GradeResult:
        start = time.perf_counter()
        prepared = prepare(answer)
        with self._lock:  # Kiwi, the embedder and the per-question cache are shared by UI sessions in threads
            result = self._grade(question, prepared)
        result.latency_ms = round((time.perf_counter() - start) * 1000, 1)
        return result

    def _grade(self, q: Question, a: PreparedAnswer) -> GradeResult:
        p = self.params
        flags = list(a.flags)
        if not q.gradable:
            return GradeResult(question_id=q.id, grader=self.name, flags=flags,
                               unscored_reason="이 질문에는 아직 참고 답안이 없어 채점할 수 없습니다.")
        if a.empty:
            judgments = [KeyPointJudgment(index=i, point=kp.point, status=Status.missed)
                         for i, kp in enumerate(q.key_points)]
            result = GradeResult(question_id=q.id, score=0.0, key_points=judgments, dont_know=True,
                                 grader=self.name, flags=flags)
            result.feedback = offline_feedback(q, result)
            return result

        cache = self._cache(q.id)
        sent_vecs = _unit(np.asarray(self.retriever.embedder.embed_passages(a.sentences), dtype=np.float32))
        sent_lists = [self.analyzer.tokens(s) for s in a.sentences]  # one Kiwi pass: the answer is its sentences
        answer_tokens = [t for toks in sent_lists for t in toks]
        token_set = set(answer_tokens)
        sent_tokens = [set(toks) for toks in sent_lists]

        # Retrieval grounding: the whole answer against the whole bank. The dense side embeds the answer's opening
        # as an E5 *query* (the prefix E5 was trained to retrieve passages with), not the mean of its passage
        # vectors: the own question comes first more often (top-1 on external "ok" answers .71 -> .77, dev partial
        # .71 -> .73) for one more forward pass, kept short because the opening says what an answer is about.
        query_vec = self.retriever.embedder.embed_queries([a.text[: p.query_chars]])[0]
        hits = self.retriever.rank_chunks(a.text, vector=query_vec, tokens=answer_tokens)

        kp_sims = sent_vecs @ cache.kp_vectors.T if cache.kp_vectors.size else np.zeros((len(a.sentences), 0))
        # E5 rates any short on-topic sentence ~0.87 against everything; what counts is how much closer a sentence
        # is to a key point than to the rest of the bank (a high percentile of its similarity to other questions).
        kp_sims = kp_sims - self._baseline(sent_vecs, cache)[:, None]
        judgments = self._judge_key_points(q, a, kp_sims, token_set, sent_tokens, cache)

        self._mark_contradictions(q, a, sent_vecs, cache, judgments, flags)

        coverage = score_from_judgments(judgments) / 5.0
        off_topic, closer, relevance = self._off_topic(q, a, hits, cache, coverage, sent_vecs, token_set,
                                                       sent_tokens)
        if off_topic:
            flags.append(f"closer_to:{closer}")
        # An answer in the question's own words only says nothing, though retrieval finds it plainly on topic (it
        # earned up to 1.3 points of relevance before). An answer with no words at all (emoji, punctuation) restates
        # nothing.
        restated = bool(token_set) and token_set <= cache.echo and coverage <= p.dont_know_max_coverage
        if restated:
            flags.append("restates_question")
        dont_know = a.dont_know_phrase and coverage <= p.dont_know_max_coverage
        novelty = self._novelty(a, sent_vecs, sent_tokens, cache, hits)
        wrong_share = p.novelty_penalty * max(0.0, novelty - p.novelty_free)
        if wrong_share > 0:
            flags.append(f"unsupported:{novelty:.2f}")
        score = score_from_judgments(judgments, off_topic=off_topic, dont_know=dont_know or restated,
                                     wrong_share=wrong_share, curve=p.curve)
        if not (off_topic or dont_know or restated):
            # An answer plainly about this question earns a little even when no key point matched word for word:
            # terse notes are common, and "on topic but thin" must rank above "about something else".
            score = min(5.0, score + p.relevance_bonus * relevance * (1.0 - score / 5.0))
            kept = np.clip((relevance - p.elsewhere_lo) / (p.elsewhere_hi - p.elsewhere_lo), 0.0, 1.0)
            if kept < 1.0:
                flags.append(f"evidence_elsewhere:{closer}")
            score = round(float(score * kept), 2)
        passages = self._passages(q, hits)
        result = GradeResult(question_id=q.id, score=score, key_points=judgments, off_topic=off_topic,
                             dont_know=dont_know, grader=self.name, flags=flags, passages=passages)
        result.feedback = offline_feedback(q, result)
        return result

    @staticmethod
    def _passages(q: Question, hits: list[Hit], own_n: int = 4, other_n: int = 2) -> list[Passage]:
        """Evidence to show: the question's own reference passages nearest the answer, then the nearest passages of
        other questions. Misconception chunks are for detection only and never shown as support."""
        factual = [h for h in hits if h.kind in ("reference", "key_point", "correction")]
        own = [h for h in factual if h.question_id == q.id][:own_n]
        other = [h for h in factual if h.question_id != q.id][:other_n]
        return [Passage(chunk_id=h.chunk_id, question_id=h.question_id, kind=h.kind, text=h.text,
                        score=round(h.score, 5)) for h in own + other]

    def _baseline(self, sent_vecs: np.ndarray, cache: _QuestionCache) -> np.ndarray:
        if self._all is None:
            return np.zeros(len(sent_vecs))
        others = ~np.isin(self._all_qids, list(cache.family))
        sims = sent_vecs @ self._all[others].T
        return np.percentile(sims, self.params.baseline_percentile, axis=1)

    def _judge_key_points(self, q: Question, a: PreparedAnswer, kp_sims: np.ndarray, token_set: set[str],
                          sent_tokens: list[set[str]], cache: _QuestionCache) -> list[KeyPointJudgment]:
        """Each key point from dense similarity of its best sentence, its terms and its words. Words and sentences
        that already served as evidence for a stronger key point count for less, so one phrase cannot cover
        several points at once: "DL is a deep neural network" is close to every point of its question and used to
        earn partial credit for all of them."""
        p = self.params
        n = len(q.key_points)
        dense_cols = []
        for i in range(n):
            col = kp_sims[:, i] if kp_sims.shape[1] > i else np.zeros(len(a.sentences))
            dense_cols.append(np.clip((col - p.dense_lo) / (p.dense_hi - p.dense_lo), 0, 1))
        dense = [float(c.max()) for c in dense_cols]
        used_sents = np.zeros(len(a.sentences), dtype=bool)

        def strength(i: int, used: set[str]) -> tuple[float, set[str]]:
            terms = cache.kp_terms[i]
            matched = [need for need in terms if need <= token_set]
            term_hits = sum(p.reuse_weight if need <= used else 1.0 for need in matched)
            term_score = min(1.0, term_hits / max(1, min(p.terms_needed, len(terms))))
            weights = cache.kp_tokens[i]
            total = sum(weights.values())
            overlap = sum(w * (p.reuse_weight if t in used else 1.0) for t, w in weights.items()
                          if t in token_set) / total if total else 0.0
            evidence_tokens = set().union(*matched) | {t for t in weights if t in token_set} if matched else \
                {t for t in weights if t in token_set}
            # A sentence that was a stronger point's best dense evidence is paid again only if it also names this
            # point in words of its own ("filters, padding and stride" lists three points in one line).
            own_words = set(weights).union(*terms) - used
            spent = used_sents & ~np.array([bool(st & own_words) for st in sent_tokens])
            d = float(np.max(np.where(spent, p.reuse_weight, 1.0) * dense_cols[i]))
            return p.w_dense * d + p.w_terms * term_score + p.w_overlap * overlap, evidence_tokens

        order = sorted(range(n), key=lambda i: -strength(i, set())[0])
        used: set[str] = set()
        statuses: dict[int, Status] = {}
        for i in order:
            value, tokens = strength(i, used)
            if value >= p.covered_at and dense[i] >= p.min_dense_for_covered:
                statuses[i] = Status.covered
            elif value >= p.partial_at:
                statuses[i] = Status.partial
            else:
                statuses[i] = Status.missed
            if statuses[i] is not Status.missed:
                used |= tokens
                used_sents[int(np.argmax(dense_cols[i]))] = True
        judgments = []
        for i, kp in enumerate(q.key_points):
            weights = cache.kp_tokens[i]
            col = kp_sims[:, i] if kp_sims.shape[1] > i else np.zeros(len(a.sentences))
            # The sentence with the most lexical and dense support is the evidence shown to the candidate.
            best = max(range(len(a.sentences)), key=lambda s: len(sent_tokens[s] & set(weights)) + col[s])
            evidence = a.sentences[best] if statuses[i] is not Status.missed else None
            judgments.append(KeyPointJudgment(index=i, point=kp.point, status=statuses[i], evidence=evidence,
                                              support_ids=[f"{q.id}:key_point:{i}"] if evidence else []))
        return judgments

    def _novelty(self, a: PreparedAnswer, sent_vecs: np.ndarray, sent_tokens: list[set[str]],
                 cache: _QuestionCache, hits: list[Hit]) -> float:
        """Share of the answer's idf-weighted vocabulary that the question's references never use. Wrong answers
        state things the references do not; correct extras are usually backed by another question's reference,
        so a sentence close to one counts half."""
        other = [h.chunk_id for h in hits[:8] if h.question_id not in cache.family
                 and h.kind in ("reference", "key_point", "correction") and h.chunk_id in self._vectors]
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

    def _mark_contradictions(self, q: Question, a: PreparedAnswer, sent_vecs: np.ndarray, cache: _QuestionCache,
                             judgments: list[KeyPointJudgment], flags: list[str]) -> None:
        """A sentence closer to a known misconception than to its correction contradicts the key point that the
        correction restates (or, failing that, the first key point it did not cover)."""
        p = self.params
        if not cache.claim_vectors.size or not len(a.sentences):
            return
        claim_sims = sent_vecs @ cache.claim_vectors.T
        corr_sims = sent_vecs @ cache.correction_vectors.T if cache.correction_vectors.size else claim_sims * 0
        for j in range(claim_sims.shape[1]):
            s = int(np.argmax(claim_sims[:, j]))
            claim, corr = float(claim_sims[s, j]), float(corr_sims[s, j]) if corr_sims.shape[1] > j else 0.0
            if claim < p.contradiction_cos or claim - corr < p.contradiction_margin:
                continue
            target = self._kp_for_correction(cache, j, judgments)
            if target is None:
                continue
            jd = judgments[target]
            if jd.status is Status.covered and jd.evidence != a.sentences[s]:
                continue  # said right elsewhere in the answer: the misconception does not cancel it
            jd.status = Status.contradicted
            jd.evidence = a.sentences[s]
            jd.support_ids = [f"{q.id}:pitfall:{j}", f"{q.id}:correction:{j}"]
            flags.append(f"pitfall:{j}")

    @staticmethod
    def _kp_for_correction(cache: _QuestionCache, j: int, judgments: list[KeyPointJudgment]) -> int | None:
        if cache.correction_vectors.shape[0] > j and cache.kp_vectors.size:
            return int(np.argmax(cache.kp_vectors @ cache.correction_vectors[j]))
        open_kps = [jd.index for jd in judgments if jd.status is not Status.covered]
        return open_kps[0] if open_kps else None

    def _off_topic(self, q: Question, a: PreparedAnswer, hits: list[Hit], cache: _QuestionCache, coverage: float,
                   sent_vecs: np.ndarray, token_set: set[str], sent_tokens: list[set[str]]) -> tuple[bool, str, float]:
        """(off topic?, the closer question, relevance 0-1: our family's share of the retrieval evidence, the rest
        of the family weighted below the question itself).

        Off topic needs two things: retrieval favours another question clearly, and the answer covers that
        question's key points better than ours. Retrieval alone misfires on terse notes."""
        p = self.params
        ranked = collapse_by_question(hits, k=len(hits) or 1)
        own = max((h.score * (1.0 if h.question_id == q.id else p.family_weight) for h in ranked
                   if h.question_id in cache.family), default=0.0)
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
        other_cov = score_from_judgments(self._judge_key_points(oq, a, osims, token_set, sent_tokens, ocache)) / 5
        return other_cov >= max(p.off_topic_min_other, coverage + 0.1), other.question_id, relevance
