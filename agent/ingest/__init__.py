"""Ingest: files → documents → chunks written to the index; web pages and feeds → files first.

Takes paths (folders, ``.txt``/``.md``/JSON/JSONL files, a ``manifest.yaml``); ``readers`` turns
them into llama-index ``Document``s with their metadata, ``chunking`` into ``TextNode`` chunks
with exact character offsets, and ``run`` writes chunks, vectors, BM25 terms and each
document's event reports to the store, returning an ``IngestReport``. For URLs and RSS/Atom feeds,
``fetch`` gets the bytes (behind the address guard), ``web`` extracts a page's article, ``feeds``
reads a feed's items, and ``web_run`` writes each page as a JSON article file and ingests those
through ``run``, returning a ``WebReport``.
"""
