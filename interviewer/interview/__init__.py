"""The interview: a LangGraph conversation over the bank and the graders, with sessions, reports and review."""

from .sessions import GradingStatus, Interviews, TurnOutput

__all__ = ["GradingStatus", "Interviews", "TurnOutput"]
