"""Event extraction: articles → dated event reports, grouped events, and the event index.

Takes the store's articles (``corpus``: documents with their chunks and publication dates) and the
lexicon (``entities``); returns each article's ``Report``s found by the offline rules (``events``,
``vocab``, ``textmap``), their dates resolved and explained (``when``: ``EventDate``), the reports of
every outlet grouped into ``Event``s with their disagreements (``grouping``), and the event index
that ingest fills and readers query (``index``). ``models`` is their JSON contract. Nothing here
calls a model or renders: the sequence commands (``agent.sequence``), the answerers and retrieval
read what it returns.
"""
