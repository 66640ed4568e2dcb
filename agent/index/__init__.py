"""Index: where ingested chunks live and how they are found again.

Takes chunks (from ``agent.ingest``) and settings; returns a ``Store`` (``store``: Chroma vectors
plus the SQLite registry of documents, chunks and event reports), its BM25 index (``bm25``), the
embedder that turns texts into vectors (``embeddings``), the lease that lets one process at a
time open the embedded Chroma and one writer at a time write to a Chroma server (``locks``), and the
sync that makes a Chroma server the one source of truth for every machine's store (``shared``), and the
wire stories that tie copies of one agency text together (``wire``).
"""
