"""Deterministic synthetic corpus for the benchmarks: Arabic articles assembled from the seeds.

    python bench/corpus.py --articles 10000 --out /tmp/corpus-10k [--seed 7]

Takes the seed articles' sentences (split on . ؟ ! ؛ and newlines), and for each article
draws 6–16 of them into 2–5 paragraphs, swaps in other people, places and outlets, and
gives it a publication date between 2014 and 2020. Writes JSONL shards of 1,000 articles
(``articles-00000.jsonl`` …) that ``dalil ingest`` reads directly. The same ``--seed`` and
``--articles`` always give byte-identical files, so runs on different machines compare.

``--wire 0.3`` makes 30% of the articles wire copies: another outlet's version of a base article, a
day or two later, with a new lead sentence and a few words changed; ``stories.json`` beside the
output folder maps every article id to the id of its base article (the ground truth of the stories).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SHARD = 1000
_SPLIT = re.compile(r"(?<=[.؟!؛])\s+|\n+")

# (original, replacements): the entity names the seeds use, and who else could be in the news
SWAPS: list[tuple[str, list[str]]] = [
    ("لافروف", ["لافروف", "شويغو", "بيسكوف", "ريابكوف", "نيبينزيا"]),
    ("كيري", ["كيري", "تيلرسون", "بومبيو", "كيربي", "تونر"]),
    ("حلب", ["حلب", "إدلب", "حمص", "دير الزور", "الرقة", "درعا", "الغوطة"]),
    ("جنيف", ["جنيف", "فيينا", "أستانا", "لوزان", "ميونيخ"]),
    ("سوريا", ["سوريا", "سورية", "ليبيا", "اليمن", "العراق"]),
    ("موسكو", ["موسكو", "أنقرة", "طهران", "الرياض", "القاهرة"]),
]
OUTLETS = ["العربي الجديد", "سيريانيوز", "وكالات", "الشرق الأوسط", "الحياة", "سبوتنيك", "روسيا اليوم",
           "الجزيرة نت", "عنب بلدي", "القدس العربي", "النهار", "الأخبار"]


def seed_sentences() -> list[str]:
    sentences: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        for sentence in _SPLIT.split(path.read_text(encoding="utf-8")):
            sentence = sentence.strip()
            if len(sentence.split()) >= 4:
                sentences.append(sentence)
    return sorted(set(sentences))


def articles(count: int, seed: int) -> Iterator[dict[str, str]]:
    """``count`` article records, the same for the same ``seed``."""
    rng = random.Random(seed)
    pool = seed_sentences()
    start = dt.date(2014, 1, 1)
    for number in range(count):
        swap = {old: rng.choice(new) for old, new in SWAPS}
        drawn = [_swapped(rng.choice(pool), swap) for _ in range(rng.randint(6, 16))]
        paragraphs, i = [], 0
        while i < len(drawn):
            size = rng.randint(2, 4)
            paragraphs.append(" ".join(drawn[i:i + size]))
            i += size
        yield {
            "id": f"synthetic-{seed}-{number:07d}",
            "title": drawn[0][:80],
            "text": "\n\n".join(paragraphs),
            "published": (start + dt.timedelta(days=rng.randrange(7 * 365))).isoformat(),
            "outlet": rng.choice(OUTLETS),
            "language": "ar",
        }


def _swapped(sentence: str, swap: dict[str, str]) -> str:
    for old, new in swap.items():
        sentence = sentence.replace(old, new)
    return sentence


def write_corpus(count: int, out: Path, seed: int = 7) -> list[Path]:
    """Write ``count`` articles as JSONL shards under ``out``; returns the shard paths."""
    out.mkdir(parents=True, exist_ok=True)
    shards: list[Path] = []
    handle = None
    for number, record in enumerate(articles(count, seed)):
        if number % SHARD == 0:
            if handle:
                handle.close()
            shards.append(out / f"articles-{number // SHARD:05d}.jsonl")
            handle = shards[-1].open("w", encoding="utf-8")
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    if handle:
        handle.close()
    return shards


def wire_articles(count: int, seed: int, share: float) -> Iterator[tuple[dict[str, str], str]]:
    """``count`` records of which ``share`` are wire copies of the others, shuffled, each with its base article's id."""
    rng = random.Random(seed + 1)
    pool = seed_sentences()
    bases = list(articles(round(count * (1 - share)), seed))
    records = [(b, b["id"]) for b in bases]
    for number in range(count - len(bases)):
        base = rng.choice(bases)
        words = base["text"].split(" ")
        for _ in range(3):  # a few words changed
            words[rng.randrange(len(words))] = rng.choice(rng.choice(pool).split())
        lead = rng.choice(pool)
        published = dt.date.fromisoformat(base["published"]) + dt.timedelta(days=rng.randint(0, 2))
        copy = {**base, "id": f"{base['id']}-copy-{number:06d}", "title": lead[:80], "text": lead + "\n\n" + " ".join(words),
                "published": published.isoformat(), "outlet": rng.choice([o for o in OUTLETS if o != base["outlet"]])}
        records.append((copy, base["id"]))
    rng.shuffle(records)
    yield from records


def write_wire_corpus(count: int, out: Path, seed: int = 7, share: float = 0.3) -> tuple[list[Path], Path]:
    """Write the wire corpus as JSONL shards under ``out`` and ``<out>.stories.json`` (id → base id) beside it."""
    out.mkdir(parents=True, exist_ok=True)
    shards: list[Path] = []
    stories: dict[str, str] = {}
    for start in range(0, count, SHARD):
        shards.append(out / f"articles-{start // SHARD:05d}.jsonl")
    handles = [p.open("w", encoding="utf-8") for p in shards]
    for number, (record, base) in enumerate(wire_articles(count, seed, share)):
        handles[number // SHARD].write(json.dumps(record, ensure_ascii=False) + "\n")
        stories[record["id"]] = base
    for handle in handles:
        handle.close()
    story_file = out.parent / f"{out.name}.stories.json"
    story_file.write_text(json.dumps(stories, ensure_ascii=False), encoding="utf-8")
    return shards, story_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, required=True, help="number of articles")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--wire", type=float, default=0.0, help="share of wire copies (e.g. 0.3); default none")
    args = parser.parse_args()
    shards = write_wire_corpus(args.articles, args.out, args.seed, args.wire)[0] if args.wire else write_corpus(args.articles, args.out, args.seed)
    size = sum(p.stat().st_size for p in shards)
    print(f"{args.articles} articles in {len(shards)} shards, {size / 1e6:.1f} MB, under {args.out}")


if __name__ == "__main__":
    main()
