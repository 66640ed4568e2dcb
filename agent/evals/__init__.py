"""Eval suites: questions with reference answers → scored runs and reports.

Takes a suite YAML (``suite``) and a ``Dalil``; runs each item through retrieval and ``ask``
(``runner``), scores it with the registered metrics (``registry``, ``metrics``, optionally an LLM
``judge``) and returns a ``RunRecord`` written as JSON, Markdown and HTML (``report``), which
``compare`` checks against thresholds or another run.
"""
