"""Retrieval: a question → the passages and events it is about.

Takes a question and a ``Store``; returns a ``QuestionFrame`` (``question``: what is asked,
names, dates, event kind), ranked ``NodeWithScore`` passages (``retrieve``: dense, BM25 or
hybrid, with date and outlet filters; ``copies``: one passage per wire story and content) and the events of the event index the frame matches,
with their passages (``grounding``).
"""
