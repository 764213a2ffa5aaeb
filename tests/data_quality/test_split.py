"""Split: approved digest, content-hash assignment, whole groups, no near-duplicate leakage,
stability as data grows, stratification and a fixed test set."""

from __future__ import annotations

import random
from itertools import combinations

import pandas as pd
import pyarrow as pa
import pytest
from faker import Faker
from faker.providers.lorem.en_US import Provider as Lorem

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.data_quality.dedup import deduplicate, shingles_column
from tunepipe.data_quality.split import SPLITS, bucket, split_dataset
from tunepipe.digest import pandas_digest, row_hash
from tunepipe.errors import TunepipeError

N = 400
FIELDS = [("record_id", pa.string()), ("source", pa.string()), ("source_line", pa.int64()),
          ("shape", pa.string()), ("prompt", pa.string()), ("context", pa.string()), ("response", pa.string())]
SCHEMA = pa.schema(FIELDS)
GROUPED = pa.schema(FIELDS + [("group_id", pa.string())])


def frame(n: int = N) -> pd.DataFrame:
    return pd.DataFrame({
        "record_id": [f"id{i:04d}" for i in range(n)],
        "source": "s.jsonl", "source_line": range(1, n + 1), "shape": "prompt_completion",
        "prompt": [f"Question number {i} about invoices" for i in range(n)],
        "context": [None if i % 3 else f"Context {i}" for i in range(n)],
        "response": [f"Answer {i}. — Northwind Support" for i in range(n)],
    })


def grouped_frame(n: int, start: int = 0, seed: int = 0) -> pd.DataFrame:
    """Rows from three sources of very different sizes and two shapes, in groups of one to three."""
    rng = random.Random(seed)
    rows, group, size = [], None, 0
    for i in range(start, start + n):
        rid = f"r{i:05d}"
        if group is None or size == 3 or rng.random() > 0.3:
            group, size = rid, 0
            source = rng.choices(["big.jsonl", "mid.jsonl", "small.jsonl"], weights=[75, 20, 5])[0]
        size += 1
        rows.append({"record_id": rid, "source": source, "source_line": i + 1,
                     "shape": "rag" if i % 4 == 0 else "prompt_completion",
                     "prompt": f"Question {i} about invoices", "context": None,
                     "response": f"Answer {i}. — Northwind Support", "group_id": group})
    return pd.DataFrame(rows)


def write(df: pd.DataFrame, path, parts: int = 1):
    path.mkdir(parents=True)
    schema = GROUPED if "group_id" in df.columns else SCHEMA
    for k in range(parts):
        df.iloc[k::parts].to_parquet(path / f"part-{k}.parquet", schema=schema, index=False)
    return str(path)


def make_config(tmp, **split) -> Config:
    return Config.model_validate({"data": {"paths": ["unused"]}, "project": {"data_dir": str(tmp / "p")},
                                  "split": {"train": 0.7, "validation": 0.1, "test": 0.2, "salt": "s1", **split}})


def run(cfg, in_dir, out, digest):
    dirs = [str(out / s) for s in ("train", "val", "test")]
    return split_dataset(cfg, in_dir, *dirs, digest), [artifacts.read_parquet_dir(d) for d in dirs]


def split_of(frames) -> dict:
    return {rid: name for name, f in zip(SPLITS, frames) for rid in f["record_id"]}


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    """The same rows split twice: once as written, once reordered across three files."""
    tmp = tmp_path_factory.mktemp("split")
    cfg = make_config(tmp)
    df = frame()
    digest = pandas_digest(df)
    first = run(cfg, write(df, tmp / "a"), tmp / "out_a", digest)
    second = run(cfg, write(df.iloc[::-1], tmp / "b", parts=3), tmp / "out_b", digest)
    return cfg, df, digest, first, second, tmp


def test_counts_ratios_and_summaries(runs):
    cfg, df, digest, (result, frames), _, tmp = runs
    assert {k: result[k] for k in ("train", "validation", "test", "digest")} == {
        "train": len(frames[0]), "validation": len(frames[1]), "test": len(frames[2]), "digest": digest}
    assert result["per_source"] == {"s.jsonl": {"train": len(frames[0]), "validation": len(frames[1]),
                                                "test": len(frames[2])}}
    assert result["stratify_by"] == "none" and result["groups"] == 0
    assert sum(len(f) for f in frames) == N
    assert abs(len(frames[0]) / N - 0.7) < 0.08 and abs(len(frames[2]) / N - 0.2) < 0.07
    assert len(frames[1]) > 0
    assert artifacts.read_summary(tmp / "out_a" / "val") == {
        "digest": digest, "rows": len(frames[1]), "split": "validation", "salt": "s1"}


def test_union_of_splits_has_the_approved_digest(runs):
    _, _, digest, (_, frames), _, _ = runs
    assert pandas_digest(*frames) == digest


def test_assignment_is_deterministic_and_content_based(runs):
    cfg, df, _, (_, first), (_, second), _ = runs
    for a, b in zip(first, second):
        assert sorted(a["record_id"]) == sorted(b["record_id"])
    train_ids = set(first[0]["record_id"])
    for row in df.itertuples():
        u = bucket("s1", row_hash(row.prompt, row.context, row.response))
        assert (u < 0.7) == (row.record_id in train_ids)


def test_salt_changes_the_assignment(runs, tmp_path):
    cfg, df, digest, (_, first), _, tmp = runs
    cfg = cfg.model_copy(update={"split": cfg.split.model_copy(update={"salt": "other"})})
    _, frames = run(cfg, str(tmp / "a"), tmp_path / "o", digest)
    assert set(frames[0]["record_id"]) != set(first[0]["record_id"])


def test_changed_dataset_is_refused(runs, tmp_path):
    cfg, df, digest, *_ = runs
    changed = df.copy()
    changed.loc[5, "response"] = "edited after review"
    in_dir = write(changed, tmp_path / "changed")
    with pytest.raises(TunepipeError, match="the dataset changed after approval: .* approved digest is "
                                            + digest[:12]):
        run(cfg, in_dir, tmp_path / "o", digest)
    assert not (tmp_path / "o" / "train").exists()


def tempting(seed: int = 5) -> pd.DataFrame:
    """Records with many small-edit variants each, and exact copies of some in a second source."""
    fake, rng = Faker("en_US"), random.Random(seed)
    fake.seed_instance(seed)
    rows = []
    for _ in range(40):
        prompt, words = fake.sentence(nb_words=10), fake.paragraph(nb_sentences=4).split()
        rows.append(("a.jsonl", prompt, " ".join(words)))
        for _ in range(5):
            edited = list(words)
            for _ in range(rng.randint(1, 3)):
                edited[rng.randrange(len(edited))] = rng.choice(Lorem.word_list)
            rows.append(("a.jsonl", prompt, " ".join(edited)))
    rows += [("b.jsonl", p.lower(), " " + r + " ") for _, p, r in rng.sample(rows, 15)]
    return pd.DataFrame({
        "record_id": [f"{rng.getrandbits(40):010x}" for _ in rows], "source": [s for s, _, _ in rows],
        "source_line": range(1, len(rows) + 1), "shape": "prompt_completion",
        "prompt": [p for _, p, _ in rows], "context": None, "response": [r for _, _, r in rows],
    })


def cross_split_pairs(shingles: dict, assignment: dict, threshold: float) -> list:
    def jaccard(a, b):
        return len(shingles[a] & shingles[b]) / len(shingles[a] | shingles[b])

    return [(a, b) for a, b in combinations(sorted(shingles), 2)
            if assignment[a] != assignment[b] and jaccard(a, b) >= threshold]


def test_no_near_duplicate_leaks_across_splits(spark, tmp_path):
    data = tempting()
    cfg = Config.model_validate({
        "data": {"paths": ["unused"]}, "project": {"data_dir": str(tmp_path / "p")},
        "dedup": {"near_threshold": 0.95, "group_threshold": 0.5},
        "split": {"train": 0.6, "validation": 0.2, "test": 0.2, "salt": "leak"}})
    summary = deduplicate(cfg, write(data, tmp_path / "in"), str(tmp_path / "dedup"), str(tmp_path / "removed"))
    kept = artifacts.read_parquet_dir(tmp_path / "dedup")
    assert summary["exact_duplicates"] >= 10 and summary["groups"] >= 30 and len(kept) > 200

    result, frames = run(cfg, str(tmp_path / "dedup"), tmp_path / "out", pandas_digest(kept))
    assigned = split_of(frames)
    assert len(assigned) == len(kept) and min(result[s] for s in SPLITS) > 20
    shingles = {r.record_id: set(r.s) for r in spark.read.parquet(str(tmp_path / "dedup"))
                .select("record_id", shingles_column(cfg.dedup.shingle_size).alias("s")).collect()}

    by_row = {r.record_id: bucket("leak", row_hash(r.prompt, r.context, r.response)) for r in kept.itertuples()}
    naive = {rid: "train" if u < 0.6 else "validation" if u < 0.8 else "test" for rid, u in by_row.items()}
    assert len(cross_split_pairs(shingles, naive, 0.5)) > 50, "the data must tempt a per-row split to leak"
    assert cross_split_pairs(shingles, assigned, 0.5) == []
    assert all(len({assigned[r] for r in ids}) == 1 for _, ids in kept.groupby("group_id")["record_id"])


@pytest.fixture(scope="module")
def grown(spark, tmp_path_factory):
    """One dataset split with and without stratification, then again after it grew by 20%."""
    tmp = tmp_path_factory.mktemp("grown")
    base = grouped_frame(400)
    base.loc[11, ["prompt", "response"]] = base.loc[17, ["prompt", "response"]].values
    more = pd.concat([base, grouped_frame(80, start=400, seed=1)], ignore_index=True)
    out = {}
    for name, df, stratify in (("base", base, "none"), ("more", more, "none"),
                               ("base_src", base, "source"), ("more_src", more, "source")):
        out[name] = run(make_config(tmp, stratify_by=stratify), write(df, tmp / name), tmp / f"out_{name}",
                        pandas_digest(df))
    return base, more, out, tmp


def test_groups_and_identical_content_stay_in_one_split(grown):
    base, _, out, _ = grown
    for result, frames in out.values():
        assigned = split_of(frames)
        assert all(len({assigned[r] for r in ids}) == 1 for _, ids in base.groupby("group_id")["record_id"])
        assert assigned[base.loc[11, "record_id"]] == assigned[base.loc[17, "record_id"]]
    merged = base["group_id"].replace(base.loc[17, "group_id"], base.loc[11, "group_id"])
    sizes = merged.value_counts()
    result, _ = out["base"]
    assert result["groups"] == (sizes > 1).sum() and result["grouped_rows"] == sizes[sizes > 1].sum()


def test_existing_rows_keep_their_split_when_data_grows(grown):
    base, more, out, _ = grown
    before, after = split_of(out["base"][1]), split_of(out["more"][1])
    assert len(after) == len(more)
    assert {rid: after[rid] for rid in before} == before


def test_stratified_split_cuts_each_source_at_the_ratios(grown):
    base, more, out, _ = grown
    result, frames = out["base_src"]
    counts = pd.concat([f.assign(split=s) for s, f in zip(SPLITS, frames)]).groupby(["source", "split"]).size()
    for source, n in base["source"].value_counts().items():
        for split, ratio in (("train", 0.7), ("validation", 0.1), ("test", 0.2)):
            assert abs(counts.get((source, split), 0) - ratio * n) <= 2, (source, split)
            assert result["per_source"][source][split] == counts.get((source, split), 0)
    assert sum(sum(v.values()) for v in result["per_shape"].values()) == len(base)
    before, after = split_of(out["base_src"][1]), split_of(out["more_src"][1])
    moved = sum(before[r] != after[r] for r in before) / len(before)
    assert moved < 0.15


def test_fixed_test_set_holds_old_test_rows_and_their_groups(grown, tmp_path):
    base, more, out, tmp = grown
    old_test = out["base"][1][2]
    candidates = sorted(set(old_test["record_id"]) - {"r00011", "r00017"})
    gone = candidates[:3]
    joiner = base[base["record_id"] == candidates[5]].iloc[0].copy()
    joiner.update({"record_id": "r99999", "prompt": "A new variant", "response": "of an old test row"})
    data = pd.concat([more[~more["record_id"].isin(gone)], joiner.to_frame().T], ignore_index=True)
    data["source_line"] = data["source_line"].astype("int64")
    cfg = make_config(tmp_path, fixed_test_dir=str(tmp / "out_base" / "test"))
    result, frames = run(cfg, write(data, tmp_path / "in"), tmp_path / "out", pandas_digest(data))

    expected_test = (set(old_test["record_id"]) - set(gone)) | {"r99999"}
    assert set(frames[2]["record_id"]) == expected_test
    assert result["fixed_test"] == {"dir": cfg.split.fixed_test_dir, "matched_rows": len(old_test) - 3,
                                    "missing_rows": 3}
    rest = len(frames[0]) + len(frames[1])
    assert rest == len(data) - len(expected_test) and abs(len(frames[0]) / rest - 0.875) < 0.06
    before, after = split_of(out["base"][1]), split_of(frames)
    assert all(after[r] == split for r, split in before.items() if split != "test")


def test_missing_fixed_test_dir_is_a_clear_error(runs, tmp_path):
    cfg, df, digest, *_ = runs
    cfg = make_config(tmp_path, fixed_test_dir=str(tmp_path / "nope"))
    with pytest.raises(TunepipeError, match="split.fixed_test_dir .* does not exist"):
        run(cfg, str(runs[5] / "a"), tmp_path / "o", digest)
