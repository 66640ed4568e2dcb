"""A chunk as a llama-index ``TextNode``: the one shape the chunker, the registry and the answerers build."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.schema import NodeRelationship, ObjectType, RelatedNodeInfo, TextNode

# a document's metadata (``agent.ingest.readers`` sets them on each ``Document``)
META_KEYS = ("doc_id", "source", "file", "published", "outlet", "title", "url", "language", "encoding", "content_hash")


def chunk_node(node_id: str, text: str, doc_meta: Mapping[str, Any], para: int, start: int, end: int, ordinal: int) -> TextNode:
    """A chunk as a ``TextNode``: the one shape both the chunker and the registry build."""
    meta: dict[str, Any] = {k: doc_meta.get(k) for k in META_KEYS if k not in ("source", "encoding", "content_hash")}
    published = meta.get("published")
    meta.update({
        "paragraph": para, "ordinal": ordinal, "start_char": start, "end_char": end,
        "published_ord": int(published.replace("-", "")) if published else 0,
    })
    # the source document by id only: its metadata is in the registry, and every byte on a node is
    # stored again with each chunk in Chroma (copies of the document's metadata were a third of a write)
    node = TextNode(id_=node_id, text=text, metadata=meta, start_char_idx=start, end_char_idx=end)
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=meta["doc_id"], node_type=ObjectType.DOCUMENT)
    return node
