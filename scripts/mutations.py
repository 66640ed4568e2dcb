"""Apply known one-line mutations of agent/ one at a time and check that a named test kills each.

    python scripts/mutations.py            # every mutation below
    python scripts/mutations.py cut fusion # only these

Each mutation is applied to a temporary copy of the tree (the working tree is never touched);
the named tests run there first on the real code (they must pass), then on the mutated copy
(they must fail). Prints one line per mutation and exits 1 when one survives or does not apply.
The list holds the mutations that once left every test green (docs/MUTATION.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = "tests/test_core_promises.py"


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation("support-threshold", "agent/answer/citations.py", "MIN_OVERLAP = 0.5", "MIN_OVERLAP = 0",
             (f"{CORE}::test_a_template_line_is_supported_only_when_most_of_its_words_are_in_the_cited_passage",)),
    Mutation("fusion", "agent/retrieval/retrieve.py", "weights = [1.0 - bm25_weight, bm25_weight]", "weights = [bm25_weight, 1.0 - bm25_weight]",
             (f"{CORE}::test_bm25_weight_is_the_weight_of_the_bm25_list_in_hybrid_fusion",)),
    Mutation("quote-offsets", "agent/answer/citations.py", 'base = int(passage.node.metadata["start_char"])', "base = 0",
             (f"{CORE}::test_llm_quotes_carry_their_offsets_in_the_article",
              f"{CORE}::test_llm_quote_offsets_point_past_the_chunk_start_for_a_later_sentence")),
    Mutation("cut", "agent/answer/extractive.py", "cutoff = max(min_coverage, 0.75 * best)", "cutoff = min_coverage",
             (f"{CORE}::test_an_extractive_answer_quotes_no_sentence_far_weaker_than_its_best",)),
    Mutation("searchable-queries", "agent/pipeline.py", "        return keep or queries[:1]", "        return queries",
             (f"{CORE}::test_a_query_the_corpus_cannot_read_is_left_out_of_the_fusion",)),
    # survivors of the mutmut run on agent/answer/citations.py (mutmut's names)
    Mutation("x__negations__mutmut_15", "agent/answer/citations.py", "first=i == 0))]", "first=i != 0))]",
             (f"{CORE}::test_a_claim_opening_with_ma_is_a_negated_claim",)),
    Mutation("x__negations__mutmut_4", "agent/answer/citations.py", "first=i == 0))]", "first=None))]",
             (f"{CORE}::test_a_claim_opening_with_ma_is_a_negated_claim",)),
    Mutation("x__scoped_negation__mutmut_7", "agent/answer/citations.py", "range(i + 1, len(sentence.tokens))", "range(i - 1, len(sentence.tokens))",
             (f"{CORE}::test_a_passage_negation_covers_the_words_after_it_not_before",)),
    Mutation("x__scoped_negation__mutmut_8", "agent/answer/citations.py", "range(i + 1, len(sentence.tokens))", "range(i + 2, len(sentence.tokens))",
             (f"{CORE}::test_a_passage_negation_covers_the_words_after_it_not_before",)),
    Mutation("x_overlap_score__mutmut_18", "agent/answer/citations.py", "len(c.alternatives) > 1]", "len(c.alternatives) >= 1]",
             (f"{CORE}::test_a_template_line_is_judged_on_its_arabic_and_bridged_words",)),
    Mutation("x_overlap_score__mutmut_19", "agent/answer/citations.py", "len(c.alternatives) > 1]", "len(c.alternatives) > 2]",
             (f"{CORE}::test_a_template_line_is_judged_on_its_arabic_and_bridged_words",)),
    Mutation("x_check_claim__mutmut_18", "agent/answer/citations.py", ", *(_name_terms(n, analyzer) for n in known)))", "))",
             (f"{CORE}::test_names_already_tied_to_the_passages_count_as_found",)),
    Mutation("x__name_terms__mutmut_1", "agent/answer/citations.py", "analyzer.concepts(name) for t", "analyzer.concepts(None) for t",
             (f"{CORE}::test_names_already_tied_to_the_passages_count_as_found",)),
)


def copy_tree(into: Path) -> None:
    """The tracked and new (not ignored) files of the working tree, as they are now."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


def run_tests(tree: Path, tests: tuple[str, ...]) -> bool:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=tree, env=env,
                          capture_output=True)
    return done.returncode == 0


def check(mutation: Mutation) -> str:
    with tempfile.TemporaryDirectory(prefix="dalil-mutant-") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        target = tree / mutation.file
        text = target.read_text(encoding="utf-8")
        if text.count(mutation.old) != 1:
            return f"does not apply ({mutation.old!r} occurs {text.count(mutation.old)} times in {mutation.file})"
        if not run_tests(tree, mutation.tests):
            return "tests fail on the real code"
        target.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
        return "killed" if not run_tests(tree, mutation.tests) else "SURVIVED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutations to check (default: all)")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    failed = 0
    for mutation in chosen:
        started = time.monotonic()
        verdict = check(mutation)
        failed += verdict != "killed"
        print(f"{mutation.name:20} {mutation.file}: {mutation.old!r} -> {mutation.new!r}: {verdict} ({time.monotonic() - started:.0f}s)",
              flush=True)
    print(f"{len(chosen) - failed}/{len(chosen)} killed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
