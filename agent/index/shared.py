"""One corpus on a Chroma server (``store.url``): the server is the source of truth, each process's registry a cache.

Takes a Chroma client and a store's collection name; gives ``SharedCorpus``, which publishes what an
ingest wrote to the local registry and brings another registry up to date from the server.

On the server, beside the chunk collection (vectors, chunk text, filter metadata), live:

* ``<collection>__documents``: one record per document, id = doc_id, its document a JSON of everything
  the registry holds of it (the record with full text, the chunks' offsets and BM25 terms, the event
  reports, its wire story; ``Registry.export_document``); a one-number dummy embedding.
* ``<collection>__log``: the ingest log, id = the sequence number, metadata ``{seq, op, doc_id,
  content_hash}``; every put or delete of a document gets the next number. Writers allocate the numbers
  while holding the server lease (``agent.index.locks.ServerLease``) and write a document's log entry
  last, after its vectors and its record, so a reader never applies a half-written document.

A reader keeps the last sequence number it applied in its registry (``meta.server_seq``), fetches the
entries after it and applies them through the registry's own write paths (``write_documents``,
``delete_documents``); the BM25 index follows the registry generation as after a local ingest.
Applying is idempotent (a put replaces the document, a delete of a missing one does nothing), so a
crash between applying and recording the number only means applying again.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from agent.errors import DalilError
from agent.index.records import DocumentEvents, PreparedDocument, StoredReport, StoryMark

if TYPE_CHECKING:
    from agent.index.store import Registry

APPLIED = "server_seq"  # the registry's meta key: the last log entry applied to this cache
SHAPE_KEY = "dalil_shape"  # collection metadata: the settings that shape the vectors (``Settings.vector_shape``)
BATCH = 64  # document records fetched or written per request
DUMMY = [0.0]  # the records' and log entries' embedding: Chroma needs one, nothing searches them


class ShapeMismatch(DalilError):
    """The server holds the corpus, but built with other embedding or chunking settings than this process's."""


def documents_name(collection: str) -> str:
    return f"{collection}__documents"


def log_name(collection: str) -> str:
    return f"{collection}__log"


class SharedCorpus:
    """The document records and the ingest log of one collection on a Chroma server."""

    def __init__(self, client: Any, collection: str, shape: dict[str, Any], prefix: str) -> None:
        """``prefix`` is ``store.collection`` (collections of the same corpus with other settings start with it)."""
        self.client, self.collection, self.shape, self.prefix = client, collection, shape, prefix

    def _get(self, name: str, create: bool) -> Any:
        if create:
            return self.client.get_or_create_collection(name, embedding_function=None, metadata={SHAPE_KEY: json.dumps(self.shape)})
        names = [getattr(c, "name", c) for c in self.client.list_collections()]
        return self.client.get_collection(name, embedding_function=None) if name in names else None

    # --- reading: bring a registry up to date -----------------------------------------------------

    def catch_up(self, registry: Registry, refuse_other_shapes: bool = True) -> int:
        """Apply to ``registry`` every log entry after the last one it applied; how many documents changed.
        With no log for these settings, ``refuse_other_shapes`` refuses when the server has the corpus with others."""
        log = self._get(log_name(self.collection), create=False)
        applied = int(registry.meta(APPLIED) or 0)
        logged = int(log.count()) if log is not None else 0
        if logged < applied:  # entries are never removed: this is not the server (or the data) the cache came from
            raise DalilError(f"the server's ingest log has {logged} entries but this cache has applied {applied}: the server lost "
                             "its data or is another one; ingest the articles again, or use a new --store for this server")
        if log is None:
            if refuse_other_shapes:
                self._refuse_other_shapes()
            return 0
        entries = _entries(log, {"seq": {"$gt": applied}})
        if not entries:
            return 0
        last: dict[str, dict[str, Any]] = {}  # each document's latest entry, in log order
        for entry in entries:
            last.pop(str(entry["doc_id"]), None)
            last[str(entry["doc_id"])] = entry
        documents = self._get(documents_name(self.collection), create=False)
        changed, puts = 0, []
        for doc_id, entry in last.items():
            if entry["op"] == "put":
                puts.append(doc_id)
                continue
            changed += self._apply_puts(registry, documents, puts)
            puts = []
            changed += registry.delete_documents([doc_id])
        changed += self._apply_puts(registry, documents, puts)
        registry.set_meta(APPLIED, str(int(entries[-1]["seq"])))
        return changed

    @staticmethod
    def _apply_puts(registry: Registry, documents: Any, doc_ids: list[str]) -> int:
        written = 0
        for start in range(0, len(doc_ids), BATCH):
            part = doc_ids[start:start + BATCH]
            found = documents.get(ids=part, include=["documents"]) if documents is not None else {"ids": [], "documents": []}
            records = dict(zip(found["ids"], found["documents"] or [], strict=True))
            # a put whose record is gone is being deleted: the delete's log entry follows
            batch = [prepared(json.loads(records[d])) for d in part if d in records]
            if batch:
                registry.write_documents(batch)
                written += len(batch)
        return written

    def _refuse_other_shapes(self) -> None:
        """Nothing with this process's settings: say so when the server holds the corpus with other settings."""
        others = []
        for c in self.client.list_collections():
            name = getattr(c, "name", c)
            if name.startswith(f"{self.prefix}-") and name.endswith("__log") and name != log_name(self.collection):
                metadata = self.client.get_collection(name, embedding_function=None).metadata or {}
                others.append(metadata.get(SHAPE_KEY) or name)
        if others:
            described = "; ".join(", ".join(f"{k} = {v}" for k, v in json.loads(o).items()) if o.startswith("{") else o
                                  for o in sorted(others))
            current = ", ".join(f"{k} = {v}" for k, v in self.shape.items())
            raise ShapeMismatch(f"the corpus on the Chroma server was built with other embedding or chunking settings ({described}); "
                                f"the current ones ({current}) have nothing there: use the corpus's settings")

    # --- writing (under the server lease) ---------------------------------------------------------

    def last_seq(self) -> int:
        """The last sequence number allocated (entries are numbered from 1 and never removed)."""
        log = self._get(log_name(self.collection), create=False)
        return int(log.count()) if log is not None else 0

    def publish(self, registry: Registry, ops: list[tuple[str, str]], first_seq: int) -> int:
        """Publish ``(op, doc_id)`` ("put": as ``registry`` now holds it; "delete") with sequence numbers from
        ``first_seq``: the records first, the log entries last. Returns the last number used."""
        documents = self._get(documents_name(self.collection), create=True)
        log = self._get(log_name(self.collection), create=True)
        entries: list[dict[str, Any]] = []
        for start in range(0, len(ops), BATCH):
            part = ops[start:start + BATCH]
            records = {doc_id: registry.export_document(doc_id) for op, doc_id in part if op == "put"}
            kept = {d: r for d, r in records.items() if r is not None}
            if kept:
                documents.upsert(ids=list(kept), embeddings=[DUMMY] * len(kept),
                                 documents=[json.dumps(r, ensure_ascii=False) for r in kept.values()],
                                 metadatas=[{"content_hash": r["document"]["content_hash"]} for r in kept.values()])
            gone = [doc_id for op, doc_id in part if op == "delete"]
            if gone:
                documents.delete(ids=gone)
            for op, doc_id in part:
                record = kept.get(doc_id)
                if op == "put" and record is None:
                    continue
                seq = first_seq + len(entries)
                entries.append({"seq": seq, "op": op, "doc_id": doc_id, "content_hash": record["document"]["content_hash"] if record else ""})
        if entries:
            ids = [f"{e['seq']:012d}" for e in entries]
            log.add(ids=ids, embeddings=[DUMMY] * len(entries), metadatas=entries)
            # Chroma keeps an existing id's entry: had another writer numbered entries meanwhile (a lease broken
            # while this one was stalled), ours would be lost without a word
            kept = log.get(ids=ids, include=["metadatas"])
            stored = {i: (m["op"], m["doc_id"]) for i, m in zip(kept["ids"], kept["metadatas"] or [], strict=True)}
            if any(stored.get(i) != (e["op"], e["doc_id"]) for i, e in zip(ids, entries, strict=True)):
                raise DalilError("another writer numbered ingest log entries at the same time (the writer lease was broken): "
                                 "run `dalil ingest` again")
        return first_seq + len(entries) - 1

    def log_entries(self) -> list[dict[str, Any]]:
        """Every log entry, in order (for tests and tools)."""
        log = self._get(log_name(self.collection), create=False)
        return _entries(log, None) if log is not None else []


def _entries(log: Any, where: dict[str, Any] | None, page: int = 5000) -> list[dict[str, Any]]:
    """The log entries matching ``where``, by sequence number (fetched a page at a time)."""
    found: list[dict[str, Any]] = []
    while True:
        got = log.get(where=where, include=["metadatas"], limit=page, offset=len(found))
        metadatas = got.get("metadatas") or []
        found.extend(dict(m) for m in metadatas)
        if len(metadatas) < page:
            return sorted(found, key=lambda m: int(m["seq"]))


def prepared(record: dict[str, Any]) -> PreparedDocument:
    """A published record as the registry's writers take it (no vectors: those stay on the server)."""
    from llama_index.core.schema import Document

    from agent.index.nodes import chunk_node

    meta = dict(record["document"])
    doc = Document(id_=meta["doc_id"], text=record["text"], metadata=meta)
    nodes, terms = [], []
    for chunk_id, ordinal, start, end, paragraph, published_ord, outlet, chunk_terms in record["chunks"]:
        node = chunk_node(chunk_id, "", meta, paragraph, start, end, ordinal)
        node.metadata.update(published_ord=published_ord, outlet=outlet)
        nodes.append(node)
        terms.append(chunk_terms.split(" ") if chunk_terms else [])
    events = None
    if record.get("events") is not None:
        found = record["events"]
        events = DocumentEvents(found["extractor"], int(found["cited"]), [
            StoredReport(r["type"], r["start"], r["end"], base64.b64decode(r["data"]), list(r["chunk_ids"])) for r in found["reports"]])
    story = record.get("story")  # absent from a record published by a Dalil without wire copies
    mark = StoryMark(story["story_id"], base64.b64decode(story["signature"]), tuple(story.get("merges", ()))) if story else None
    return PreparedDocument(doc, nodes, terms, events, mark)
