"""Dalil: cited answers, summaries and briefings over (mostly Arabic) news articles."""

__version__ = "0.1.0"
