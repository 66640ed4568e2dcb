"""Ingest: files → chunks written to the index.

Takes paths (folders, ``.txt``/``.md``/JSON/JSONL files, a ``manifest.yaml``); ``readers`` turns
them into llama-index ``Document``s with their metadata, ``chunking`` into ``TextNode`` chunks
with exact character offsets, and ``run`` writes chunks, vectors, BM25 terms and each
document's event reports to the store, returning an ``IngestReport``.
"""
