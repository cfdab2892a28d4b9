"""Mock interviewer for Korean deep-learning job interviews, graded against a knowledge bank."""

__version__ = "0.1.0"
