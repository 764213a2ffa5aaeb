"""tunepipe.components.pii through python_func: the redacted dataset carries no planted identifier."""

from __future__ import annotations

from tunepipe import artifacts


def test_pii_step_redacts_and_records_the_digest_of_what_it_wrote(chain, project):
    from tunepipe.digest import parquet_digest

    summary, outputs = chain["pii"]
    rows = artifacts.read_parquet_dir(outputs["redacted"].path)
    assert summary["digest"] == parquet_digest(outputs["redacted"].path) and summary["policy_version"]
    assert sum(summary["entities"].values()) > 0
    raw = open(project[1].data.paths[0], encoding="utf-8", errors="replace").read()
    emails = {word.strip(".,;:()\"'") for word in raw.replace("\\n", " ").split()
              if "@" in word and "." in word.split("@")[-1] and not word.endswith("northwind.example")}
    text = " ".join(rows["prompt"].fillna("") + " " + rows["response"].fillna(""))
    assert emails and not [e for e in emails if e in text]
