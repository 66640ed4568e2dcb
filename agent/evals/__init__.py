"""Eval suites: run questions with reference answers through Dalil and score them."""
