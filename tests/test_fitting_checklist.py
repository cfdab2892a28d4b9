"""The blend fit of `interviewer calibrate --model SPEC` on judgment records (no model needed: the records are what
a judge would have written)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from interviewer.grading.combined import Anchor, CombinedGrader, CombinedParams, question_digest
from interviewer.grading.fitting_checklist import (
    TOP_K_CHOICES,
    choose_top_k,
    collect,
    collect_anchors,
    compare_top_k,
    cross_validated,
    fit,
    mis_max,
    predict,
)

TIERS = {"excellent": 5.0, "concise": 4.0, "partial": 2.0, "subtle_wrong": 1.0, "wrong": 0.0}


def _records(where: int, n_families: int = 8, seed: int = 0, affirmed: int | None = None) -> list[dict]:
    """Answers whose wrong ones assert a misconception the offline ranking puts at position `where` (0-based); the
    other misconceptions carry noise, except `affirmed`, which the model affirms for any answer of the family.
    Key-point probability and offline score follow the gold loosely."""
    rng = np.random.default_rng(seed)
    out = []
    for f in range(n_families):
        for tier, gold in TIERS.items():
            p = list(rng.uniform(0.1, 0.4, size=10))
            if tier in ("subtle_wrong", "wrong"):
                p[where] = rng.uniform(0.8, 0.95)
            if affirmed is not None:
                p[affirmed] = rng.uniform(0.9, 0.99)
            out.append(
                {
                    "id": f"{f}-{tier}",
                    "question_id": f"fam{f}",
                    "family": f"fam{f}",
                    "tier": tier,
                    "gold": gold,
                    "offline": gold * 0.5 + 1.5 + rng.normal(0, 0.5),  # offline over-scores wrong answers
                    "kp_mean": 0.4 + 0.08 * gold + rng.normal(0, 0.05),
                    "pitfalls": {str(j): float(v) for j, v in enumerate(p)},
                }
            )
    return out


def test_mis_max_reads_the_likeliest_k_in_ranking_order():
    r = {"pitfalls": {"7": 0.2, "1": 0.3, "4": 0.9, "0": 0.1}}
    assert mis_max(r, 2) == 0.3 and mis_max(r, 3) == 0.9 and mis_max(r, None) == 0.9
    assert mis_max({"pitfalls": {}}, 3) == 0.0


def test_asking_too_few_misses_what_the_offline_ranking_put_low():
    table = compare_top_k(_records(where=7), {})
    assert set(table) == {str(k or "all") for k in TOP_K_CHOICES}
    assert choose_top_k(table) is None
    assert table["all"]["misconception_auc"] > 0.95 > table["3"]["misconception_auc"]
    assert table["all"]["mae"] < table["3"]["mae"]


@pytest.mark.parametrize("best", [3, 5, None])
def test_the_choice_with_the_lowest_cross_validated_error_wins(best):
    table = {str(k or "all"): {"mae": 0.5 if k == best else 0.9} for k in TOP_K_CHOICES}
    assert choose_top_k(table) == best


def test_a_fitted_blend_lowers_an_asserted_misconception_and_flags_it():
    records = _records(1)
    params = fit(records, 3, {})
    assert params.coef[2] + params.coef[3] < 0 and params.top_k == 3 and 0.0 <= params.misconception_at <= 1.0
    clean = records[3] | {"pitfalls": {"0": 0.1, "1": 0.1}}  # a subtle_wrong answer, as if nothing were asserted
    assert predict([records[3]], params)[0] < predict([clean], params)[0]


def test_cross_validation_never_sees_the_answers_own_family():
    records = _records(1)
    before, detected = cross_validated(records, 3, {})
    moved = [r | {"gold": 5.0 - r["gold"]} if r["family"] == "fam0" else r for r in records]
    after, _ = cross_validated(moved, 3, {})
    fam0 = [i for i, r in enumerate(records) if r["family"] == "fam0"]
    assert [before[i] for i in fam0] == [after[i] for i in fam0]
    assert detected[fam0[3]] and not detected[fam0[0]]  # subtle_wrong flagged, excellent not


def test_ruled_answers_score_zero_and_stay_out_of_the_fit():
    records = _records(1) + [{"id": "x", "family": "fam0", "tier": "wrong", "gold": 0.0, "ruled": True}]
    assert predict(records[-1:], fit(records, 3, {})) == [0.0]


def test_a_cache_judged_again_keeps_one_line_per_answer_the_latest(tmp_path):
    """A re-judged answer is appended (a cut-off run keeps it); once the run ends, its old line is gone."""
    item = SimpleNamespace(id="q-1", question=SimpleNamespace(pitfalls=["a", "b"]))
    old = {"id": "q-1", "ruled": False, "pitfalls": {"0": 0.9}}  # made when fewer misconceptions were asked
    new = {"id": "q-1", "ruled": False, "pitfalls": {"0": 0.2, "1": 0.7}}
    cache = tmp_path / "records.jsonl"
    cache.write_text(json.dumps(old) + "\n" + json.dumps(new) + "\n", encoding="utf-8")
    records = collect([item], [2.5], grader=None, judge=None, cache=cache)  # complete: neither is called
    assert records == [new | {"offline": 2.5}]
    assert [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()] == [new]


def _anchors(records: list[dict], affirmed: int) -> dict[str, Anchor]:
    """What the reference answer of each family gets: the claim the model affirms for anything, affirmed again."""
    pitfalls = [0.95 if j == affirmed else 0.2 for j in range(10)]
    return {r["question_id"]: Anchor(digest="-", key_points=[0.9], pitfalls=pitfalls) for r in records}


def test_an_anchor_discounts_a_claim_the_model_affirms_for_any_answer():
    records = _records(where=1, affirmed=0)
    anchors = _anchors(records, affirmed=0)
    table = compare_top_k(records, anchors)["all"]
    assert table["misconception_auc"] > 0.95 and table["misconception_auc_unanchored"] < 0.7
    _, detected = cross_validated(records, None, anchors)
    tiers = [r["tier"] for r in records]
    flagged = {t: np.mean([d for d, u in zip(detected, tiers) if u == t]) for t in TIERS}
    assert flagged["subtle_wrong"] > 0.8 and flagged["excellent"] < 0.2
    _, unanchored = cross_validated(records, None, {})
    assert np.mean([d for d, u in zip(unanchored, tiers) if u == "subtle_wrong"]) < flagged["subtle_wrong"]


class _CountingJudge:
    """Stands in for the model: P(Yes) .9 for every key point and .3 for every misconception; counts its answers."""

    def __init__(self):
        self.judged: list[str] = []

    def judge(self, question, answer, progress=None):
        self.judged.append(answer)
        n, m = len(question.key_points), len(question.pitfalls)
        return SimpleNamespace(key_points=[0.9] * n, pitfalls=[0.3] * m)


def test_anchors_are_judged_on_the_reference_once_and_again_when_the_question_changes(bank, tmp_path):
    q = bank.get("dropout")
    judge, cache = _CountingJudge(), tmp_path / "records.jsonl"
    first = collect_anchors([q], judge, cache)
    assert judge.judged == [q.reference] and first[q.id].pitfalls == [0.3] * len(q.pitfalls)
    assert collect_anchors([q], judge, cache) == first and len(judge.judged) == 1  # from the cache
    edited = q.model_copy(update={"reference": q.reference + " 추가 문장."})
    collect_anchors([edited], judge, cache)
    assert len(judge.judged) == 2 and len(cache.read_text(encoding="utf-8").splitlines()) == 1


def test_the_grader_uses_a_fitted_anchor_and_judges_a_stale_one_itself(bank):
    q = bank.get("dropout")
    fitted = Anchor(digest=question_digest(q), key_points=[1.0], pitfalls=[0.5] * len(q.pitfalls))
    params = CombinedParams(coef=[0.0] * 4, intercept=0.0, misconception_at=0.2, anchors={q.id: fitted})
    judge = _CountingJudge()
    grader = CombinedGrader(offline=None, judge=judge, params=params, name="local")
    assert grader.anchor(q) is fitted and judge.judged == []
    edited = q.model_copy(update={"pitfalls": q.pitfalls[:-1]})
    assert grader.anchor(edited).pitfalls == [0.3] * (len(q.pitfalls) - 1)
    grader.anchor(edited)
    assert judge.judged == [q.reference]  # judged once, then kept
