"""Dedup: exact and near duplicates against a brute-force reference, groups, accounting, determinism."""

from __future__ import annotations

import math
import random
import re
from itertools import combinations

import pandas as pd
import pyarrow as pa
import pytest
from faker import Faker
from faker.providers.lorem.en_US import Provider as Lorem

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality import dedup
from tunepipe.data_quality.common import REMOVED_COLUMNS
from tunepipe.data_quality.dedup import connected_components, deduplicate, shingles_column
from tunepipe.errors import TunepipeError

SCHEMA = pa.schema([("record_id", pa.string()), ("source", pa.string()), ("source_line", pa.int64()),
                    ("shape", pa.string()), ("prompt", pa.string()), ("context", pa.string()),
                    ("response", pa.string())])
DETAIL = re.compile(r"duplicate of (\w+)(?: via (\w+))? \(jaccard (\d\.\d\d)(?: with \w+)?\)")


def edit(text: str, rng: random.Random, edits: int) -> str:
    words = text.split()
    for _ in range(edits):
        words[rng.randrange(len(words))] = rng.choice(Lorem.word_list)
    return " ".join(words)


def corpus(seed: int = 3) -> pd.DataFrame:
    """Distinct Q&A with an English vocabulary, and every kind of duplicate the stage must handle."""
    fake, rng = Faker("en_US"), random.Random(seed)
    fake.seed_instance(seed)
    a = [(fake.sentence(nb_words=12), fake.paragraph(nb_sentences=5)) for _ in range(90)]
    long = [(fake.sentence(nb_words=12), fake.paragraph(nb_sentences=14)) for _ in range(5)]
    a += long
    a += [a[i] for i in range(3)]                                                # exact, same source
    a += [(p, r.replace(".", "").replace(",", "") + "!") for p, r in a[10:14]]   # jaccard 1.0
    a += [(p, edit(r, rng, 1)) for p, r in long]                                 # jaccard ~0.9
    a += [(p, edit(r, rng, rng.randint(2, 4))) for p, r in a[20:28] for _ in range(3)]  # variants
    b = [(p.upper(), "  ".join(r.split(" "))) for p, r in a[30:38]]              # exact, other source
    rows = [("a.jsonl", p, r) for p, r in a] + [("b.jsonl", p, r) for p, r in b]
    ids = [f"{rng.getrandbits(40):010x}" for _ in rows]
    return pd.DataFrame({
        "record_id": ids, "source": [s for s, _, _ in rows],
        "source_line": [i + 1 for i in range(len(rows))], "shape": "prompt_completion",
        "prompt": [p for _, p, _ in rows], "context": None, "response": [r for _, _, r in rows],
    })


def write(df: pd.DataFrame, path, parts: int = 1) -> str:
    path.mkdir(parents=True)
    for k in range(parts):
        df.iloc[k::parts].to_parquet(path / f"part-{k}.parquet", schema=SCHEMA, index=False)
    return str(path)


def config(tmp, **dedup_cfg) -> Config:
    return Config.model_validate({"data": {"paths": ["unused"]}, "project": {"data_dir": str(tmp / "p")},
                                  "dedup": dedup_cfg})


def run(cfg, in_dir, out):
    summary = deduplicate(cfg, in_dir, str(out / "kept"), str(out / "removed"))
    return summary, artifacts.read_parquet_dir(out / "kept"), artifacts.read_parquet_dir(out / "removed")


def components(ids, pairs) -> dict:
    """Union-find: id -> smallest id of its component."""
    parent = {i: i for i in ids}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    return {i: find(i) for i in ids}


def exact_key(row) -> tuple:
    return tuple(" ".join(str(v).split()).lower() if v is not None else None
                 for v in (row.prompt, row.context, row.response))


def reference(df: pd.DataFrame, shingles: dict, near: float, group: float):
    """Brute force over every pair: (removed id -> representative, kept id -> group_id)."""
    first: dict = {}
    removed = {}
    for row in df.sort_values("record_id").itertuples():
        key = exact_key(row)
        if key in first:
            removed[row.record_id] = first[key]
        else:
            first[key] = row.record_id
    survivors = sorted(first.values())
    sims = {(a, b): jaccard(shingles[a], shingles[b]) for a, b in combinations(survivors, 2)}
    near_of = components(survivors, [p for p, s in sims.items() if s >= near])
    removed.update({i: r for i, r in near_of.items() if i != r})
    kept = [i for i in survivors if i not in removed]
    group_of = components(kept, [(a, b) for (a, b), s in sims.items()
                                 if s >= group and a not in removed and b not in removed])
    return removed, group_of


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


@pytest.fixture(scope="module")
def data(spark, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dedup")
    df = corpus()
    in_dir = write(df, tmp / "in")
    shingles = {r.record_id: set(r.s) for r in
                spark.read.parquet(in_dir).select("record_id", shingles_column(5).alias("s")).collect()}
    cfg = config(tmp, report_clusters=3)
    first = run(cfg, in_dir, tmp / "out")
    shuffled = write(df.sample(frac=1.0, random_state=1), tmp / "shuffled", parts=3)
    second = run(cfg, shuffled, tmp / "out2")
    return df, shingles, cfg, first, second


def test_matches_brute_force_reference(data):
    df, shingles, cfg, (summary, kept, removed), _ = data
    expected_removed, expected_groups = reference(df, shingles, cfg.dedup.near_threshold,
                                                  cfg.dedup.group_threshold)
    assert set(removed["record_id"]) == set(expected_removed)
    assert dict(zip(kept["record_id"], kept["group_id"])) == expected_groups
    assert summary["exact_duplicates"] == 3 + 8 and summary["near_duplicates"] >= 4 + 3
    assert summary["groups"] >= 1


def test_exact_duplicates_keep_the_smallest_record_id_across_sources(data):
    df, _, _, (summary, kept, removed), _ = data
    exact = removed[removed["reason"] == "exact_duplicate"]
    by_key = df.assign(key=[exact_key(r) for r in df.itertuples()]).groupby("key")["record_id"]
    smallest = {i: ids.min() for _, ids in by_key for i in ids}
    for row in exact.itertuples():
        assert row.detail == f"duplicate of {smallest[row.record_id]}"
    assert summary["per_source"]["b.jsonl"]["exact_duplicates"] + \
        summary["per_source"]["a.jsonl"]["exact_duplicates"] == len(exact)
    cross = [r for r in exact.itertuples()
             if df.set_index("record_id").loc[smallest[r.record_id], "source"] != r.source]
    assert cross


def test_near_duplicate_detail_names_the_kept_row_and_true_jaccard(data):
    _, shingles, cfg, (_, kept, removed), _ = data
    near = removed[removed["reason"] == "near_duplicate"]
    assert len(near) >= 4 + 3
    for row in near.itertuples():
        rep, via, score = DETAIL.fullmatch(row.detail).groups()
        assert rep in set(kept["record_id"])
        other = via or rep
        assert abs(jaccard(shingles[row.record_id], shingles[other]) - float(score)) <= 0.011
        assert float(score) >= cfg.dedup.near_threshold - 0.005
    assert any(d.endswith("(jaccard 1.00)") for d in near["detail"])


def test_accounting_and_removed_table(data):
    df, _, _, (summary, kept, removed), _ = data
    assert summary["input_rows"] == len(df) == summary["kept"] + summary["exact_duplicates"] + \
        summary["near_duplicates"]
    assert summary["kept"] == len(kept) and len(removed) == summary["exact_duplicates"] + summary["near_duplicates"]
    for src, entry in summary["per_source"].items():
        assert entry["input_rows"] == (df["source"] == src).sum()
        assert entry["input_rows"] == entry["kept"] + entry["exact_duplicates"] + entry["near_duplicates"]
        assert entry["kept"] == (kept["source"] == src).sum()
    assert list(removed.columns) == REMOVED_COLUMNS and set(removed["stage"]) == {"dedup"}
    assert set(kept["record_id"]).isdisjoint(removed["record_id"])
    assert set(kept["record_id"]) | set(removed["record_id"]) == set(df["record_id"])
    assert list(kept.columns) == list(df.columns) + ["group_id"]


def test_groups_are_named_by_their_smallest_record_id(data):
    _, _, _, (summary, kept, _), _ = data
    sizes = kept.groupby("group_id")["record_id"].agg(["min", "count"])
    assert (sizes.index == sizes["min"]).all()
    assert summary["groups"] == (sizes["count"] > 1).sum()
    assert summary["grouped_rows"] == sizes.loc[sizes["count"] > 1, "count"].sum()


def test_same_result_on_shuffled_input_and_other_partitioning(data):
    _, _, _, (s1, kept1, removed1), (s2, kept2, removed2) = data
    assert s1 == s2
    assert sorted(zip(kept1["record_id"], kept1["group_id"])) == sorted(zip(kept2["record_id"], kept2["group_id"]))
    assert sorted(zip(removed1["record_id"], removed1["detail"])) == \
        sorted(zip(removed2["record_id"], removed2["detail"]))


def test_largest_clusters(data):
    df, _, _, (summary, _, removed), _ = data
    clusters = summary["largest_clusters"]
    assert len(clusters) == 3
    assert [c["size"] for c in clusters] == sorted((c["size"] for c in clusters), reverse=True)
    ids = set(df["record_id"])
    for c in clusters:
        assert c["representative"] in ids and c["size"] >= 2
        assert 1 <= len(c["examples"]) <= 3 and all(len(e) <= dedup.EXAMPLE_CHARS for e in c["examples"])
        assert set(c["sources"]) <= {"a.jsonl", "b.jsonl"}
        named = removed["detail"].str.contains(c["representative"]).sum()
        assert named >= 1


def test_exact_and_near_off_remove_nothing_but_still_group(spark, tmp_path):
    df = corpus().iloc[list(range(40)) + list(range(95, 102)) + list(range(131, 139))]
    summary, kept, removed = run(config(tmp_path, exact=False, near=False), write(df, tmp_path / "in"),
                                 tmp_path / "out")
    assert summary["kept"] == len(df) and len(removed) == 0
    group_of = dict(zip(kept["record_id"], kept["group_id"]))
    twins = df.groupby(df["prompt"].str.lower())["record_id"].agg(list)
    assert [ids for ids in twins if len(ids) > 1] and all(
        len({group_of[i] for i in ids}) == 1 for ids in twins)
    assert summary["groups"] >= 3 + 4 + 8


def test_shingles_are_word_grams_or_character_grams_for_short_texts(spark):
    rows = spark.createDataFrame([("a", "The cat, the HAT!", "sat down"), ("b", "Hi", "yo"), ("c", "?!", "...")],
                                 "record_id string, prompt string, response string")
    got = {r.record_id: sorted(r.s) for r in rows.select("record_id", shingles_column(3).alias("s")).collect()}
    assert got == {"a": sorted(["the cat the", "cat the hat", "the hat sat", "hat sat down"]),
                   "b": sorted(["hi ", "i y", " yo"]), "c": []}


def test_connected_components_and_its_round_limit(spark, monkeypatch):
    ids = [f"n{i:02d}" for i in range(12)]
    random.Random(0).shuffle(ids)
    chain = spark.createDataFrame(list(zip(ids, ids[1:])) + [("x1", "x2")], "a string, b string")
    labels = {r.id: r.label for r in connected_components(chain, "test").collect()}
    assert labels == {**{i: "n00" for i in ids}, "x1": "x1", "x2": "x1"}
    monkeypatch.setattr(dedup, "MAX_ROUNDS", 1)
    with pytest.raises(TunepipeError, match="did not settle in 1 rounds"):
        connected_components(chain, "test")


def test_input_without_the_clean_columns_is_refused(spark, tmp_path):
    path = tmp_path / "in"
    path.mkdir()
    pd.DataFrame({"record_id": ["a"], "prompt": ["p"]}).to_parquet(path / "part-0.parquet")
    with pytest.raises(TunepipeError, match="lacks the columns .*run it first"):
        deduplicate(config(tmp_path), str(path), str(tmp_path / "o"), str(tmp_path / "r"))


def test_banded_candidates_and_the_oversized_bucket_star(spark, tmp_path):
    cfg = config(tmp_path, max_bucket=3)
    rows = spark.createDataFrame(
        [(f"r{i}", "the same long question about the quarterly report", "and the very same answer" + "!" * i)
         for i in range(6)] + [("z", "a different question entirely here", "with another answer too")],
        "record_id string, prompt string, response string")
    bands, r = dedup.band_shape(cfg, 0.5)
    signed = dedup.signatures(cfg, rows, bands * r).persist()
    assert {len(v._values) for v in signed.collect()} == {bands * r}
    pairs = {(r.a, r.b) for r in dedup.candidate_pairs(signed, bands, r, cfg.dedup.max_bucket).collect()}
    assert pairs == {("r0", f"r{i}") for i in range(1, 6)}
    full = {(r.a, r.b) for r in dedup.candidate_pairs(signed, bands, r, 100).collect()}
    assert full == {(f"r{i}", f"r{j}") for i in range(6) for j in range(i + 1, 6)}
    scored = {(r.a, r.b): r.jaccard for r in dedup.similar_pairs(cfg, rows, 0.5).collect()}
    assert scored == {p: 1.0 for p in pairs}


@pytest.mark.parametrize("threshold", [0.95, 0.85, 0.7, 0.5, 0.3, 0.1])
def test_band_shape_finds_pairs_at_the_threshold_with_the_wanted_recall(tmp_path, threshold):
    cfg = config(tmp_path)
    bands, r = dedup.band_shape(cfg, threshold)
    assert 1 - (1 - threshold ** r) ** bands >= cfg.dedup.candidate_recall
    assert bands * r <= dedup.MAX_VALUES or r == 1
    if r < dedup.MAX_VALUES and threshold < 1:
        longer = r + 1
        wanted = math.log1p(-cfg.dedup.candidate_recall) / math.log1p(-threshold ** longer)
        assert math.ceil(wanted) * longer > dedup.MAX_VALUES


def test_configured_band_shape_wins_and_must_be_whole(tmp_path):
    assert dedup.band_shape(config(tmp_path, bands=20, rows_per_band=3), 0.5) == (20, 3)
    with pytest.raises(ValueError, match="set both dedup.bands and dedup.rows_per_band"):
        config(tmp_path, bands=20)
