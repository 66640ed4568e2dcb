"""Text: the language rules every stage shares.

Takes raw (mostly Arabic) text; returns normalized text, sentence spans and search terms
(``arabic``), resolved dates (``dates``: "امس الأحد" → a day, against a publication date) and
the lexicon's people, places and English→Arabic bridges (``lexicon``, from ``data/lexicon.yaml``).
"""
