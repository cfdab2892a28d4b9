"""Agreement between grader scores and gold scores. Only scored items count."""

from collections import defaultdict
from collections.abc import Sequence


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # ties share their mean rank
        i = j + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sx = sum((a - mx) ** 2 for a in x) ** 0.5
    sy = sum((b - my) ** 2 for b in y) ** 0.5
    return sxy / (sx * sy) if sx and sy else None


def spearman(scores: Sequence[float], gold: Sequence[float]) -> float | None:
    return pearson(_ranks(scores), _ranks(gold))


def pairwise_accuracy(groups: Sequence[str], scores: Sequence[float], gold: Sequence[float]) -> float | None:
    """Over all pairs of the same group (question) whose gold differs: the share the scores order the same way,
    a tie in score counting one half."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    agree = total = 0.0
    for idx in by_group.values():
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                i, j = idx[a], idx[b]
                if gold[i] == gold[j]:
                    continue
                total += 1
                d = (scores[i] - scores[j]) * (gold[i] - gold[j])
                agree += 1.0 if d > 0 else 0.5 if scores[i] == scores[j] else 0.0
    return agree / total if total else None


def quadratic_weighted_kappa(scores: Sequence[float], gold: Sequence[float], lo: int = 0, hi: int = 5) -> float | None:
    """Cohen's kappa with quadratic weights on scores rounded to whole points."""
    a = [min(hi, max(lo, int(round(s)))) for s in scores]
    b = [min(hi, max(lo, int(round(g)))) for g in gold]
    n, k = len(a), hi - lo + 1
    if n == 0:
        return None
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b):
        observed[x - lo][y - lo] += 1
    hist_a = [sum(row) for row in observed]
    hist_b = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * observed[i][j]
            den += w * hist_a[i] * hist_b[j] / n
    return 1.0 - num / den if den else None


def mae(scores: Sequence[float], gold: Sequence[float]) -> float | None:
    return sum(abs(s - g) for s, g in zip(scores, gold)) / len(scores) if scores else None


def by_tier(tiers: Sequence[str | None], scores: Sequence[float]) -> dict[str, float]:
    sums: dict[str, list[float]] = defaultdict(list)
    for t, s in zip(tiers, scores):
        if t:
            sums[t].append(s)
    return {t: round(sum(v) / len(v), 3) for t, v in sorted(sums.items())}


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """Probability that a random positive outranks a random negative (ties half)."""
    if not positives or not negatives:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))
