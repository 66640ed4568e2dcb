"""Baseline for the ingest benchmark: a plain llama-index pipeline with Dalil's embedder into Chroma.

    python bench/baseline_ingest.py CORPUS_DIR STORE_DIR [--same-tokenizer]

Reads the corpus's JSONL shards into llama-index ``Document``s (text plus the article id, date
and outlet as metadata), then ``VectorStoreIndex.from_documents`` with ``SentenceSplitter(200,
40)`` and the same offline ``HashingEmbedding(dim=1024)`` Dalil uses by default, into a
persistent Chroma collection created the way Dalil creates its own (cosine, no Chroma embedding
function). Prints one JSON line: ``{"articles", "chunks", "seconds", "import_seconds"}``, where
``seconds`` runs from reading the first shard to the end of ``from_documents`` (as Dalil's
``ingest --json`` reports it, imports excluded). Run by bench/run.py in its own process, so
its peak RSS is its own. ``--same-tokenizer`` gives the splitter Dalil's tiktoken encoding
(o200k_base) instead of llama-index's default, so both pipelines cut chunks of the same size
(about 5,000 chunks per 1,000 articles instead of 11,800): the fairer comparison of the two.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()

import chromadb  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402
from llama_index.core import StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index.core.schema import Document  # noqa: E402
from llama_index.vector_stores.chroma import ChromaVectorStore  # noqa: E402

from agent.index.embeddings import HashingEmbedding  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _T0


def read_documents(corpus: Path) -> list[Document]:
    docs = []
    for shard in sorted(corpus.glob("*.jsonl")):
        with shard.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                docs.append(Document(
                    text=record["text"], id_=record["id"],
                    metadata={"source": record["id"], "published": record.get("published"), "outlet": record.get("outlet")},
                ))
    return docs


def main(argv: list[str]) -> int:
    same_tokenizer = "--same-tokenizer" in argv
    argv = [a for a in argv if a != "--same-tokenizer"]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    corpus, store = Path(argv[0]), Path(argv[1])
    splitter = SentenceSplitter(chunk_size=200, chunk_overlap=40)
    if same_tokenizer:
        from agent import runtime
        from agent.ingest.chunking import token_counter

        runtime.setup()  # tiktoken reads the BPE files bundled with llama-index
        import tiktoken

        token_counter("o200k_base")  # fails loudly here rather than inside the splitter
        splitter = SentenceSplitter(chunk_size=200, chunk_overlap=40, tokenizer=tiktoken.get_encoding("o200k_base").encode)
    started = time.perf_counter()
    docs = read_documents(corpus)
    client = chromadb.PersistentClient(path=str(store / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("baseline", embedding_function=None, metadata={"hnsw:space": "cosine"})
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    VectorStoreIndex.from_documents(
        docs, storage_context=storage, embed_model=HashingEmbedding(dim=1024),
        transformations=[splitter],
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"articles": len(docs), "chunks": collection.count(), "seconds": round(seconds, 3),
                      "import_seconds": round(IMPORT_SECONDS, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
