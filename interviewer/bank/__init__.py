from .loader import Bank, BankIssue, check_bank, load_bank, normalize_wording
from .schema import KeyPoint, Pitfall, Question

__all__ = ["Bank", "BankIssue", "KeyPoint", "Pitfall", "Question", "check_bank", "load_bank", "normalize_wording"]
