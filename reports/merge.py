"""Joining the shards of one run (``pytest tests/conformance --shard i/n``) into its results file.

    python -m reports merge SHARD.json ... -o RUN.json

A CI matrix runs each framework as n shards on n machines; each shard writes its own results file
with ``run.shard = {"index": i, "count": n}`` and every record's ``item_index`` (its place in the
whole run's order). The merge checks that the files are the n shards of one run (same framework,
releases, profile, seed, selection, corpus; indices 1..n each once), puts the records back in the
whole run's order, joins the mappings, and judges the registry as the whole run would have: an
entry's counts are summed over the shards; it is stale when it applied somewhere, diverged
nowhere, and no shard found its own example still diverging (then it is *imprecise*).

The merged file equals the unsharded run's results file except for time stamps, the command line,
each record's duration, and ``run.merged_shards``. ``reports html`` and ``reports summary`` merge
shards they are given on the fly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .schema import (
    Results,
    ResultsError,
    _document_text,
    _reader_for,
    _replace_atomically,
    decode,
    load,
    read_document,
    record_key,
    summarize,
)

# What makes two shard files parts of the same run.
IDENTITY = (
    "framework",
    "framework_version",
    "versions",
    "lossconf_version",
    "devices",
    "dtypes",
    "modes",
    "profile",
    "seed",
    "corpus",
)


def shard_of(document: dict[str, Any]) -> tuple[int, int] | None:
    shard = document.get("run", {}).get("shard")
    if not shard:
        return None
    return int(shard["index"]), int(shard["count"])


def _check_one_run(documents: Sequence[dict], names: Sequence[str]) -> int:
    """The shard count, after checking ``documents`` are every shard of one run, once each."""
    shards = [shard_of(d) for d in documents]
    for name, shard in zip(names, shards, strict=True):
        if shard is None:
            raise ResultsError(f"{name}: not a shard (its run has no 'shard' field)")
    first, first_name = documents[0]["run"], names[0]
    if len({d["schema"] for d in documents}) > 1:
        raise ResultsError(f"{names[1]}: another schema version than {first_name}")
    for document, name in zip(documents[1:], names[1:], strict=True):
        for key in IDENTITY:
            if document["run"].get(key) != first.get(key):
                raise ResultsError(
                    f"{name}: not a shard of the same run as {first_name} "
                    f"({key} {document['run'].get(key)!r} vs {first.get(key)!r})"
                )
    count = shards[0][1]
    for name, (index, n) in zip(names, shards, strict=True):
        if n != count:
            raise ResultsError(f"{name}: shard {index} of {n}, but {first_name} is one of {count}")
    indices = sorted(index for index, _ in shards)
    if indices != list(range(1, count + 1)):
        seen = set(indices)
        duplicate = sorted(i for i in seen if indices.count(i) > 1)
        missing = sorted(set(range(1, count + 1)) - seen)
        problem = (
            f"shard {duplicate[0]} given twice" if duplicate else f"shard(s) {missing} missing"
        )
        raise ResultsError(f"{first_name}: the run has {count} shards; {problem}")
    return count


def _registry(documents: Sequence[dict]) -> list[dict]:
    merged: dict[str, dict] = {}
    imprecise: set[str] = set()
    for document in documents:
        for entry in document.get("registry", []):
            if entry.get("status") == "imprecise":
                imprecise.add(entry["id"])
            if entry["id"] not in merged:
                merged[entry["id"]] = dict(entry)
                continue
            into = merged[entry["id"]]
            for count in ("examples", "applied", "diverged"):
                if count in entry:
                    into[count] = into.get(count, 0) + entry[count]
    for entry_id, entry in merged.items():
        if entry.get("diverged"):
            entry["status"] = "applied"
        elif entry.get("applied"):
            entry["status"] = "imprecise" if entry_id in imprecise else "stale"
        elif "applied" in entry:
            entry["status"] = "unexercised"
    return list(merged.values())


def merge_documents(documents: Sequence[dict], names: Sequence[str]) -> dict[str, Any]:
    """The results document of the run whose shards ``documents`` are (read_document form)."""
    count = _check_one_run(documents, names)
    records = [r for d in documents for r in d.get("records", [])]
    for record, name in (
        (r, n) for d, n in zip(documents, names, strict=True) for r in d["records"]
    ):
        if "item_index" not in record:
            raise ResultsError(f"{name}: record {record_key(record)} has no item_index")
    records.sort(key=lambda r: r["item_index"])
    first_seen: dict[str, int] = {}
    for record in records:
        first_seen.setdefault(record["config_id"], record["item_index"])
    mapping: dict[str, dict] = {}
    for document in documents:
        for row in document.get("mapping", []):
            mapping.setdefault(row["config_id"], row)
    rows = sorted(mapping.values(), key=lambda row: first_seen.get(row["config_id"], len(records)))
    registry = _registry(documents)
    runs = [d["run"] for d in documents]
    finished = [r.get("finished") for r in runs]
    run = {key: value for key, value in runs[0].items() if key != "shard"}
    run["started"] = min(r["started"] for r in runs)
    run["finished"] = None if None in finished else max(finished)
    run["stopped_at"] = next((r["stopped_at"] for r in runs if r.get("stopped_at")), None)
    run["merged_shards"] = count
    return {
        "schema": documents[0]["schema"],
        "run": run,
        "mapping": rows,
        "records": records,
        "registry": registry,
        "summary": summarize(records, registry),
    }


def merge_files(paths: Sequence[str], output: str) -> dict[str, Any]:
    names = [str(p) for p in paths]
    document = merge_documents([read_document(p) for p in paths], names)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    _replace_atomically(Path(output), _document_text(document))
    return document


def group_shards(documents: Sequence[dict], names: Sequence[str]) -> list[tuple[dict, str]]:
    """Documents as given, the shards of each run joined into one (in the place of its first
    shard); each as (document, name)."""
    out: list[tuple[dict, str]] = []
    groups: dict[tuple, list[int]] = {}
    for i, document in enumerate(documents):
        if shard_of(document) is None:
            out.append((document, names[i]))
            continue
        identity = tuple(repr(document["run"].get(k)) for k in IDENTITY)
        if identity not in groups:
            out.append((None, names[i]))  # filled in below
        groups.setdefault(identity, []).append(i)
    merged = iter(
        merge_documents([documents[i] for i in members], [names[i] for i in members])
        for members in groups.values()
    )
    return [(doc if doc is not None else next(merged), name) for doc, name in out]


def load_runs(paths: Sequence[str]) -> list[Results]:
    """Every results file in ``paths`` read as :func:`reports.schema.load` reads it, except that
    the shards of one run come back as that run."""
    names = [str(p) for p in paths]
    documents = [read_document(p) for p in names]
    if not any(shard_of(d) for d in documents):
        return [load(p) for p in names]
    return [
        _reader_for(document, name)(decode(document), name)
        for document, name in group_shards(documents, names)
    ]
