"""The checklist judge: small yes/no questions about one answer, answered with one token each, read as probabilities.

For every key point: "does the answer state this correctly?"; for every misconception: "does the answer assert this
claim?"; and, in the contrastive form, "which of A (the misconception) / B (its correction) / C (neither) does the
answer assert?", asked in both orders. Each question is one chat completion with `max_tokens: 1`, `logprobs`,
`top_logprobs: 20` and temperature 0; the probability of a label is read from the top 20 and renormalised over the
labels. The judge measures; it does not score: its probabilities feed a fitted scoring model beside the offline
grader's evidence.

Every question about one answer opens with the same prompt (instructions, interview question, answer) and differs
only in its last lines. On the in-process llama.cpp server that opening is computed once, saved from the slot and
restored before each question (`LocalServer.reuse_prefix`), so the same answer always meets the same computation and
gets exactly the same probabilities, whatever was judged before it. Other servers just get the requests."""

import contextlib
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import openai
from pydantic import BaseModel, Field

from ..bank import Question
from ..errors import ConfigError, JudgeError, LogprobsUnavailable
from ..prompts import render
from ..providers import LOCAL_TIMEOUT_S, TIMEOUT_S, describe_call_error, endpoint, local_server
from .answer import PreparedAnswer, prepare
from .schema import Progress

if TYPE_CHECKING:
    from ..local_llm import LocalServer
    from ..settings import Settings

TOP_LOGPROBS = 20  # the most OpenAI's API returns; llama.cpp, vLLM and Ollama accept it too
# The labels the prompts offer, as the model's first token spells them. Each must be one token in the judge's
# tokenizer (tests/test_checklist.py checks it with llama.cpp's /tokenize): a label split over two tokens would be
# read from its first piece only.
YES_NO = ("Yes", "No")
OPTIONS = ("A", "B", "C")
LABELS = YES_NO + OPTIONS


class ChecklistResult(BaseModel):
    key_points: list[float] = Field(description="P(the answer states key point i correctly), bank order")
    pitfalls: list[float] = Field(description="P(the answer asserts misconception j), yes/no form, bank order")
    pitfalls_choice: list[float] | None = Field(
        None,
        description="P(the answer asserts misconception j) from the forced choice claim / correction / "
        "neither, both orders averaged; None when the contrastive form was not asked",
    )
    calls: int = Field(description="chat completions sent for judgments (the prefix computation not counted)")
    decoded_tokens: int = Field(description="tokens the server generated for them (one per call)")
    latency_ms: float
    prompt_tokens: int = 0
    cached_tokens: int = Field(0, description="prompt tokens the server reused instead of computing")
    unlabelled: int = Field(0, description="judgments whose top tokens held none of the labels (read as uniform)")


def _yes_no_label(token: str) -> str | None:
    # A tokenizer may glue a leading space to the word, and a model may capitalise or not: " yes" is Yes.
    word = token.strip().lower()
    return {"yes": "Yes", "no": "No"}.get(word)


def _option_label(token: str) -> str | None:
    # Capitals only: "a" is an English article, not option A.
    letter = token.strip()
    return letter if letter in OPTIONS else None


def renormalise(
    top: list[tuple[str, float]], labels: tuple[str, ...], label_of: Callable[[str], str | None]
) -> tuple[dict[str, float], bool]:
    """P(label) among `labels` from the top (token, logprob) pairs of one position, and whether none was found.

    Every spelling of a label adds to it. A label missing from the top 20 gets the smallest listed probability: its
    true probability is at most that, so the floor is an upper bound, and it keeps P strictly inside (0, 1), where a
    0 would claim a certainty the list cannot give (the fitted model reads these on a logit scale). When no label is
    listed at all, every label gets the floor: uniform, i.e. the model said nothing about it."""
    mass = dict.fromkeys(labels, 0.0)
    found = set()
    for token, logprob in top:
        label = label_of(token)
        if label in mass:
            mass[label] += math.exp(logprob)
            found.add(label)
    floor = min((math.exp(lp) for _, lp in top), default=1.0)
    for label in labels:
        if label not in found:
            mass[label] = floor
    total = sum(mass.values())
    if total <= 0:  # every listed logprob underflowed: no information either
        return {label: 1 / len(labels) for label in labels}, True
    return {label: m / total for label, m in mass.items()}, not found


@dataclass
class _Tally:
    calls: int = 0
    decoded: int = 0
    prompt: int = 0
    cached: int = 0
    unlabelled: int = 0

    def add(self, reply) -> None:
        self.calls += 1
        usage = getattr(reply, "usage", None)
        decoded = getattr(usage, "completion_tokens", None)
        # A server that reports no usage decoded the one token it was allowed.
        self.decoded += 1 if decoded is None else decoded
        self.prompt += getattr(usage, "prompt_tokens", None) or 0
        details = getattr(usage, "prompt_tokens_details", None)
        self.cached += getattr(details, "cached_tokens", None) or 0


def _escape(answer: str) -> str:
    # Forged delimiters inside the answer cannot close our block: angle brackets become look-alikes (as llm.py).
    return answer.replace("<", "‹").replace(">", "›")


class ChecklistJudge:
    """One judge per model. `client` (an `openai.OpenAI`) or `base_url` names the server; `server`, the in-process
    llama.cpp server, adds its slot and the deterministic prefix reuse. `contrastive` also asks the forced-choice
    form for each misconception (two more calls each)."""

    def __init__(
        self,
        prompts_dir: Path,
        *,
        client: openai.OpenAI | None = None,
        base_url: str | None = None,
        model: str = "local",
        server: "LocalServer | None" = None,
        contrastive: bool = True,
        api_key: str | None = None,
        timeout: float | None = None,
    ):
        if client is None:
            base_url = base_url or (server.base_url if server else None)
            if base_url is None:
                raise ConfigError("ChecklistJudge needs a client, a base_url or a server")
            # The in-process server is not retried (a failure is local and immediate), a remote one twice.
            client = openai.OpenAI(
                base_url=base_url,
                api_key=api_key or "none",
                timeout=timeout or (LOCAL_TIMEOUT_S if server else TIMEOUT_S),
                max_retries=0 if server else 2,
            )
        self.client = client
        self.model = model
        self.prompts_dir = Path(prompts_dir)
        self.server = server
        self.contrastive = contrastive
        # The in-process server decodes one request at a time; every caller waits for its slot around a request.
        self._slots = server.slots if server else contextlib.nullcontext()

    @classmethod
    def from_spec(cls, spec: str, settings: "Settings | Path", prompts_dir: Path, **kwargs) -> "ChecklistJudge":
        """A judge for a model spec (`local[:NAME]`, `openai:MODEL`, `ollama:MODEL`, `http://HOST:PORT/v1#MODEL`),
        with the key and URLs the settings hold."""
        spec = spec.strip()
        server = local_server(spec, settings)
        if server is not None:
            return cls(prompts_dir, server=server, model=spec, **kwargs)
        ep = endpoint(spec, settings)  # a typed error for a spec it does not know or a missing key
        client = openai.OpenAI(base_url=ep.base_url, api_key=ep.api_key, timeout=TIMEOUT_S, max_retries=2)
        return cls(prompts_dir, client=client, model=ep.model, **kwargs)

    # -- prompts ------------------------------------------------------------------------------------------------
    # prompts/checklist.*.j2: English instructions around Korean content, with English labels. Korean labels are not
    # one token (Qwen2.5: 아니오 = 3 tokens; SmolLM2: 예 = 3, 아니오 = 8), and on a train pilot (dl-vs-ml, concise vs
    # subtle_wrong, the 2 misconceptions the latter asserts) Korean instructions separated no better: P(yes) rose by
    # .20 / .24 against .18 / .35 in English, with the 1.5B model.
    def prefix(self, question: Question, prepared: PreparedAnswer, original: str) -> list[dict]:
        """The opening every judgment of this answer shares: instructions, then the question and the answer."""
        # The tag's code comes from the answer itself, not from a random draw: the same answer must meet the same
        # prompt (and the same saved prefix). Forging it is impossible either way: the answer's brackets are escaped.
        nonce = hashlib.sha256(f"{question.id}\n{original}".encode("utf-8", "replace")).hexdigest()[:8]
        system = render(self.prompts_dir, "checklist.system.j2")
        user = render(
            self.prompts_dir,
            "checklist.answer.j2",
            question=question.question,
            context=question.context,
            nonce=nonce,
            answer=_escape(prepared.text),
            removed=len(prepared.set_aside),
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _suffix(self, name: str, **values) -> str:
        return render(self.prompts_dir, name, **values)

    # -- calls --------------------------------------------------------------------------------------------------
    def _create(self, messages: list[dict], extra: dict):
        try:
            return self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=1,
                temperature=0,
                logprobs=True,
                top_logprobs=TOP_LOGPROBS,
                **({"extra_body": extra} if extra else {}),
            )
        except openai.APIError as e:  # the provider failed (connection, timeout, HTTP error): expected, typed
            raise JudgeError(describe_call_error(e)) from e

    def _top(self, reply) -> list[tuple[str, float]] | None:
        """The (token, logprob) alternatives of the one decoded position; None when the model ended at once."""
        choices = getattr(reply, "choices", None)
        if not choices:
            raise JudgeError(f"모델 서버의 응답에 choices가 없습니다 ({self.model})")
        logprobs = getattr(choices[0], "logprobs", None)
        content = getattr(logprobs, "content", None)
        if not content:
            # An end-of-turn as the very first token decodes nothing: the model gave no label, not the server none.
            if logprobs is not None and choices[0].finish_reason == "stop":
                return None
            raise LogprobsUnavailable(f"모델 서버가 토큰 확률(logprobs)을 돌려주지 않았습니다 ({self.model})")
        top = content[0].top_logprobs or []
        if not top:
            raise LogprobsUnavailable(f"모델 서버가 상위 토큰 확률(top_logprobs)을 돌려주지 않았습니다 ({self.model})")
        return [(t.token, t.logprob) for t in top]

    def _ask(
        self,
        prefix: list[dict],
        suffix: str,
        labels: tuple[str, ...],
        label_of: Callable[[str], str | None],
        tally: _Tally,
    ) -> dict[str, float]:
        """One one-token judgment: the shared prefix, then `suffix` in the same user message."""
        messages = [prefix[0], {"role": "user", "content": prefix[1]["content"] + suffix}]
        with self._slots:
            # Restored before every judgment, never left to what the slot last held: a longer common prefix with the
            # previous judgment would be reused from a computation in another batch shape.
            extra = self.server.reuse_prefix([prefix[:1], prefix]) if self.server else {}
            reply = self._create(messages, extra)
        tally.add(reply)
        top = self._top(reply)
        probs, none_found = renormalise(top or [], labels, label_of)
        tally.unlabelled += none_found
        return probs

    def probe(self) -> None:
        """One tiny judgment: raises LogprobsUnavailable when the server answers without token probabilities, a
        JudgeError when it fails. Cheap enough to run before choosing this judge over the structured grader."""
        messages = [{"role": "user", "content": "Is 2 greater than 1? Answer Yes or No."}]
        with self._slots:
            self._top(self._create(messages, {"cache_prompt": False} if self.server else {}))

    def label_token_counts(self) -> dict[str, int]:
        """How many tokens each label is in the server's tokenizer (llama.cpp's /tokenize; other servers have none)."""
        import httpx

        root = str(self.client.base_url).rstrip("/").removesuffix("/v1")
        counts = {}
        for label in LABELS:
            r = httpx.post(f"{root}/tokenize", json={"content": label, "add_special": False}, timeout=30)
            r.raise_for_status()
            counts[label] = len(r.json()["tokens"])
        return counts

    # -- judging ------------------------------------------------------------------------------------------------
    def judge(self, question: Question, answer: str, progress: Progress | None = None) -> ChecklistResult:
        """Every key point and misconception of `question` judged on `answer` (its manipulation sentences set aside)."""
        start = time.perf_counter()
        prepared = prepare(answer)
        tally = _Tally()
        if not prepared.judgeable:
            # Nothing a model could read (no sentence, or punctuation and emoji only): it states and asserts nothing.
            n, m = len(question.key_points), len(question.pitfalls)
            return ChecklistResult(
                key_points=[0.0] * n,
                pitfalls=[0.0] * m,
                pitfalls_choice=[0.0] * m if self.contrastive else None,
                calls=0,
                decoded_tokens=0,
                latency_ms=round((time.perf_counter() - start) * 1000, 1),
            )
        prefix = self.prefix(question, prepared, answer)
        key_points = []
        for i, kp in enumerate(question.key_points, 1):
            if progress:
                progress(f"핵심 포인트 {i}/{len(question.key_points)} 확인 중")
            suffix = self._suffix("checklist.key_point.j2", point=kp.point)
            key_points.append(self._ask(prefix, suffix, YES_NO, _yes_no_label, tally)["Yes"])
        pitfalls, choices = [], []
        for j, pitfall in enumerate(question.pitfalls, 1):
            if progress:
                progress(f"흔한 오해 {j}/{len(question.pitfalls)} 확인 중")
            suffix = self._suffix("checklist.pitfall.j2", claim=pitfall.claim)
            pitfalls.append(self._ask(prefix, suffix, YES_NO, _yes_no_label, tally)["Yes"])
            if self.contrastive:
                choices.append(self._choice(prefix, question, j - 1, tally))
        return ChecklistResult(
            key_points=key_points,
            pitfalls=pitfalls,
            pitfalls_choice=choices if self.contrastive else None,
            calls=tally.calls,
            decoded_tokens=tally.decoded,
            latency_ms=round((time.perf_counter() - start) * 1000, 1),
            prompt_tokens=tally.prompt,
            cached_tokens=tally.cached,
            unlabelled=tally.unlabelled,
        )

    def _choice(self, prefix: list[dict], question: Question, j: int, tally: _Tally) -> float:
        """P(the answer asserts misconception j) from "A / B / C (neither)?", claim first then correction first,
        averaged: a model that favours a position favours it for both, and the average cancels it."""
        pitfall = question.pitfalls[j]
        # The other option is what is right instead: the bank's correction, else the key point the claim
        # contradicts, else the bare negation.
        other = (
            pitfall.correction.strip()
            or (question.key_points[pitfall.key_point].point if pitfall.key_point is not None else "")
            or f"It is not true that: {pitfall.claim}"
        )
        as_a = self._ask(
            prefix,
            self._suffix("checklist.choice.j2", first=pitfall.claim, second=other),
            OPTIONS,
            _option_label,
            tally,
        )["A"]
        as_b = self._ask(
            prefix,
            self._suffix("checklist.choice.j2", first=other, second=pitfall.claim),
            OPTIONS,
            _option_label,
            tally,
        )["B"]
        return (as_a + as_b) / 2


__all__ = ["ChecklistJudge", "ChecklistResult", "LogprobsUnavailable", "LABELS", "renormalise"]
