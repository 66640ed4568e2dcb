"""Terminal chat with the corpus: typed turns → streamed, cited answers.

Takes a ``Dalil`` and the user's turns; a follow-up is rewritten into a standalone question
(``followup``), answered by the pipeline and shown (``view``); returns a saved ``Conversation``
(``conversation``) that exports to Markdown (``markdown``).
"""
