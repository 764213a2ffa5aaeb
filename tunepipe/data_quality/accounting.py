"""Row accounting across the data stages, per source and in total: where every input row went.

    input = kept + quarantined + filtered (by reason) + exact duplicates + near duplicates

`accounting(ingest, clean, dedup)` reads only the stage summaries (small dicts), never the data, and
marks each source `balanced`; `check_balanced` turns an imbalance into an error, because a row that
is in none of these buckets was lost without a trace.
"""

from __future__ import annotations

from tunepipe.errors import TunepipeError

BUCKETS = ("kept", "quarantined", "filtered", "exact_duplicates", "near_duplicates")


def _source_row(src: str, ingest: dict, clean: dict, dedup: dict) -> dict:
    i = ingest.get("per_source", {}).get(src, {})
    c = clean.get("per_source", {}).get(src, {})
    d = dedup.get("per_source", {}).get(src, {})
    filtered = dict(sorted((c.get("filtered") or {}).items()))
    row = {
        "input": i.get("input_rows", 0),
        "quarantined": i.get("quarantined", 0),
        "quarantine_reasons": dict(sorted((i.get("quarantine_reasons") or {}).items())),
        "filtered": sum(filtered.values()),
        "filter_reasons": filtered,
        "exact_duplicates": d.get("exact_duplicates", 0),
        "near_duplicates": d.get("near_duplicates", 0),
        "kept": d.get("kept", 0),
    }
    row["balanced"] = row["input"] == sum(row[b] for b in BUCKETS)
    return row


def _merge(rows: list[dict]) -> dict:
    total: dict = {"quarantine_reasons": {}, "filter_reasons": {}}
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    total[key][k] = total[key].get(k, 0) + v
            elif key != "balanced":
                total[key] = total.get(key, 0) + value
    for key in ("quarantine_reasons", "filter_reasons"):
        total[key] = dict(sorted(total[key].items()))
    total["balanced"] = all(r["balanced"] for r in rows) if rows else True
    return total


def accounting(ingest: dict, clean: dict, dedup: dict) -> dict:
    """{"total": {...}, "per_source": {source: {...}}} from the three stage summaries."""
    sources = sorted(set(ingest.get("per_source", {})) | set(clean.get("per_source", {}))
                     | set(dedup.get("per_source", {})))
    per_source = {src: _source_row(src, ingest, clean, dedup) for src in sources}
    return {"total": _merge(list(per_source.values())), "per_source": per_source}


def check_balanced(report: dict) -> None:
    bad = {src: row for src, row in report["per_source"].items() if not row["balanced"]}
    if bad:
        src, row = next(iter(bad.items()))
        accounted = sum(row[b] for b in BUCKETS)
        raise TunepipeError(
            f"row accounting does not add up for {len(bad)} source(s), e.g. {src}: input {row['input']} "
            f"but {accounted} accounted for ({', '.join(f'{b} {row[b]}' for b in BUCKETS)}). This is a "
            "tunepipe bug: please report it with the stage summaries (_tunepipe.json in each output)."
        )
