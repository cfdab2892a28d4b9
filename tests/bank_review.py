"""What the expert-review pins (issue #20; tests/test_bank_review_{a,b,c}.py, one per range of bank files) check
alike: which questions a range of files holds, the structure every reviewed question keeps, and the texts a
wording rule reads. Each file keeps only its own question ids and fixes."""

from interviewer.bank import Bank, Question


def question_ids_in_files(bank: Bank, prefixes: tuple[str, ...]) -> list[str]:
    """The ids of the questions whose bank file's name starts with one of `prefixes` ("01", "17-"), in bank order."""
    return [q.id for q in bank.questions if q.file is not None and q.file.name.startswith(prefixes)]


def points(q: Question) -> list[str]:
    return [kp.point for kp in q.key_points]


def texts(q: Question) -> list[str]:
    """Every text of a question a candidate or a grader sees: reference, context, key points and their terms,
    pitfalls' claims and corrections."""
    out = [q.reference, q.context or ""]
    for kp in q.key_points:
        out += [kp.point, *kp.terms]
    for p in q.pitfalls:
        out += [p.claim, p.correction]
    return out


def check_reviewed_structure(q: Question) -> None:
    """The review's rules for every question: 3-8 key points, each with terms (the offline grader's evidence);
    8-12 distinct misconceptions, each with a correction that differs from it and a link, if any, to a key point
    that exists."""
    assert 3 <= len(q.key_points) <= 8
    for kp in q.key_points:
        assert kp.terms, kp.point
    assert 8 <= len(q.pitfalls) <= 12
    for p in q.pitfalls:
        assert p.claim.strip() and p.correction.strip(), p.claim
        assert p.claim != p.correction, p.claim
        assert p.key_point is None or 0 <= p.key_point < len(q.key_points), p.claim
    assert len({p.claim for p in q.pitfalls}) == len(q.pitfalls)  # no duplicate misconception
