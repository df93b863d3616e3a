"""The results file: schema ``lossconf.results/2``, its streaming writer and its reader.

One results file per run (framework × version × device set). Standard JSON only: NaN and ±inf
floats are written as the strings ``"nan"``, ``"inf"``, ``"-inf"`` and read back as floats (so
a text field never holds just one of those three words).

Final form, a single JSON document::

    {"schema": "lossconf.results/2",
     "run": {"framework", "framework_version", "lossconf_version", "python", "platform",
             "machine", "devices", "dtypes", "modes", "profile", "strict", "seed", "corpus",
             "shape_breaks" (optional: {"dtypes", "modes"}, the only dtypes at which those modes
             ran the invalid cases that break a shape), "dtype_modes" (optional: "alternate",
             each configuration ran at every dtype in one mode each, the modes alternating),
             "corpus_every", "corpus_configs", "corpus_pairs" (optional: a replay of every
             K-th case, configuration, or (dtype, mode) pair of the corpus),
             "kernel_asserts" (optional: {"devices",
             "why"}, the devices whose native kernels assert on invalid values, where those cases
             were left out), "command", "started", "finished", "stopped_at"},
     "mapping":  [{"loss", "config_id", "params", "native", "composition", "conversions",
                   "not_offered"}, ...],
     "records":  [RECORD, ...],
     "registry": [{"id", "kind", "loss", "description", "citation", "status", "examples"}, ...],
     "summary":  {"match": 812, "mismatch": 0, ..., "records", "unexpected", "known", "stale"}}

A RECORD describes one loss × configuration × dtype × device × mode::

    loss, family, config_id, params, dtype, device, mode, native, composition,
    verdict     one of reports.verdicts.VERDICTS
    examples    examples tried;  verdicts: {verdict: count}
    worst       {value_ulp, value_rel, grad_ulp, grad_rel, reduced_elements, label,
                 example ({array name: nested list} or {"corpus_id": id}), expected, got} | null
    tolerance   {value_ulp, grad_ulp};  reproducer: python source | null
    divergence  the registry entry {id, kind, description, citation} behind a convention or
                known bug | null;  known: a registry entry expects this verdict;
                unexpected: this record made the conformance test fail
    errors      up to 5 framework exceptions {type, message, label}
    error_value what the framework returned where the reference raised | null
    samples     up to 64 pairs [reduced_elements, value_ulp]
    ulp_hist    value-ULP histogram, keys from ULP_BUCKETS (each an upper bound)
    outputs     up to 200 corpus examples {id, regime, value (first ≤16 numbers), expected (the
                reference's, likewise), value_ulp, grad_ulp, tolerance {value_ulp, grad_ulp}
                (the example's own bounds; optional), prediction {value_ulp, grad_ulp,
                bound_value_ulp, bound_grad_ulp} | null (the errors against the prediction of the
                registry entry that explained it, and their bounds; optional)}
    duration_s
    regime_headline  the verdict over the record's ordinary examples, "not-offered", or null
                (no ordinary example)
    regimes     {regime: {examples, verdicts, unexpected, explained_by {entry id: n},
                signatures {"<part>|<kind>": n}, worst {... as worst, verdict, unexpected,
                divergence_id, signature}, reproducer}} for the regimes that had examples
                (reference.regimes.REGIMES)
    triage      unexplained non-matching examples outside ordinary inputs (crashes excepted)
    failing     the record fails a run that is not strict (an unexplained non-match on ordinary
                inputs, or an unexplained crash)
    api         the native API of the record where an adapter offers several, else null

Required keys are listed in RUN_REQUIRED, RECORD_REQUIRED, MAPPING_REQUIRED and
REGISTRY_REQUIRED; the reader fills every other key with its default, so consumers may index
records directly.

Streaming form, written while the run goes so that a killed run leaves a readable file: JSON
Lines, the first line ``{"schema": ..., "run": {...}}``, then one object per line:
``{"record": {...}}``, ``{"mapping": [...]}``, ``{"registry": [...]}`` or
``{"progress": "<test id now running>"}``. A later record, mapping or registry entry with the
same key replaces the earlier one (so a registry can be written first as "unexercised" and
again with its final status). ``ResultsWriter.close`` rewrites the stream into the final form.
Reading a stream gives ``finished = None`` and ``stopped_at`` = the last progress line; a
half-written last line (the writer was killed mid-line) is ignored.

``READERS`` maps each schema version this code reads to the function that turns such a
document into :class:`Results`. ``lossconf.results/1`` files (before input regimes) are read with
the fields /2 added defaulted: ``regimes`` {} (the report says the file predates regimes and
shows the overall verdict as the headline), ``regime_headline`` null, ``triage`` 0, ``failing``
= ``unexpected``, ``api`` null, and the run ``strict`` (a /1 run failed on every unexplained
non-match).
"""

from __future__ import annotations

import json
import math
import os
import platform
import stat
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .verdicts import FAILING, VERDICTS

SCHEMA = "lossconf.results/2"
SCHEMA_V1 = "lossconf.results/1"

RUN_REQUIRED = ("framework", "framework_version", "devices", "started")
RUN_DEFAULTS: dict[str, Any] = {
    "lossconf_version": None,
    "python": None,
    "platform": None,
    "machine": None,
    "dtypes": [],
    "modes": [],
    "profile": None,
    "strict": None,
    "seed": None,
    "corpus": None,
    "shape_breaks": None,
    "dtype_modes": None,
    "kernel_asserts": None,
    "command": None,
    "finished": None,
    "stopped_at": None,
}
RECORD_REQUIRED = ("loss", "config_id", "dtype", "device", "mode", "verdict")
RECORD_DEFAULTS: dict[str, Any] = {
    "family": None,
    "params": {},
    "native": None,
    "composition": None,
    "examples": 0,
    "verdicts": {},
    "worst": None,
    "tolerance": None,
    "reproducer": None,
    "divergence": None,
    "known": False,
    "unexpected": False,
    "errors": [],
    "error_value": None,
    "samples": [],
    "ulp_hist": {},
    "outputs": [],
    "duration_s": None,
    "regime_headline": None,
    "regimes": {},
    "triage": 0,
    "failing": False,
    "not_run": 0,
    "api": None,
}
MAPPING_REQUIRED = ("loss", "config_id")
MAPPING_DEFAULTS: dict[str, Any] = {
    "params": {},
    "native": None,
    "composition": None,
    "conversions": [],
    "not_offered": None,
}
REGISTRY_REQUIRED = ("id", "kind", "status")
REGISTRY_DEFAULTS: dict[str, Any] = {
    "loss": None,
    "description": "",
    "citation": None,
    "examples": 0,
}

# Upper bounds of the value-ULP histogram buckets, then the two open-ended buckets.
ULP_BOUNDS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0)
ULP_BUCKETS = (*(f"{bound:g}" for bound in ULP_BOUNDS), ">1024", "nonfinite")

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class ResultsError(Exception):
    """A results file that cannot be used; the message is one line naming the file."""


@dataclass
class Results:
    """One run as read from a results file, every optional key filled with its default."""

    path: str
    run: dict[str, Any]
    mapping: list[dict[str, Any]]
    records: list[dict[str, Any]]
    registry: list[dict[str, Any]]
    summary: dict[str, int]

    @property
    def finished(self) -> bool:
        return self.run["finished"] is not None

    @property
    def label(self) -> str:
        return f"{self.run['framework']} {self.run['framework_version']}"


# ---------------------------------------------------------------------------------------------
# Values


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode(value: Any) -> Any:
    """``value`` as standard-JSON data: nan/inf become strings, NumPy values plain Python."""
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if hasattr(value, "tolist"):  # NumPy arrays and scalars, without importing NumPy
        return encode(value.tolist())
    return value


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`: the strings "nan", "inf", "-inf" become floats."""
    if isinstance(value, dict):
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, str):
        return _NONFINITE.get(value, value)
    return value


def ulp_bucket(value_ulp: float) -> str:
    """The ``ulp_hist`` bucket of one value error: the smallest bound it does not exceed."""
    if not math.isfinite(value_ulp):
        return "nonfinite"
    for bound in ULP_BOUNDS:
        if value_ulp <= bound:
            return f"{bound:g}"
    return ">1024"


def ulp_histogram(value_ulps: Iterable[float]) -> dict[str, int]:
    """The ``ulp_hist`` of a record: every bucket present, in order."""
    counts = Counter(ulp_bucket(value) for value in value_ulps)
    return {name: counts.get(name, 0) for name in ULP_BUCKETS}


def record_key(record: dict[str, Any]) -> tuple[str, ...]:
    """What identifies a record within a run (and across runs of the same framework)."""
    return (
        *(record[k] for k in ("loss", "config_id", "dtype", "device", "mode")),
        record.get("api") or "",
    )


def summarize(records: Iterable[dict[str, Any]], registry: Iterable[dict[str, Any]]) -> dict:
    """Counts per verdict (all six, zeros included), then records, unexpected, known, stale."""
    records = list(records)
    counts = Counter(record["verdict"] for record in records)
    return {
        **{verdict: counts.get(verdict, 0) for verdict in VERDICTS},
        "records": len(records),
        "unexpected": sum(1 for record in records if record.get("unexpected")),
        "known": sum(1 for r in records if r.get("known") and r["verdict"] in FAILING),
        "stale": sum(1 for entry in registry if entry.get("status") == "stale"),
    }


# ---------------------------------------------------------------------------------------------
# Read helpers for the regime fields of results format 2 (issue 11). The report reads records
# through these, so that it treats a /1 file (no regimes) and a /2 file alike.

SCHEMA_V2 = SCHEMA  # the format these helpers read; a /1 file reads with the defaults below

# The input regimes in display order; the same names as reference.regimes.REGIMES (reports may
# not import reference; tests/reports checks the two agree).
REGIMES = ("ordinary", "boundary", "kink", "range", "special", "invalid")

REGIME_DEFAULTS: dict[str, Any] = {"regime_headline": None, "regimes": {}, "triage": 0, "api": None}


def with_regime_defaults(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the format-2 fields filled where absent, as a /1 file reads: no regimes,
    no headline, nothing to triage, ``failing`` = ``unexpected``, the one API. In place."""
    for key, default in REGIME_DEFAULTS.items():
        record.setdefault(key, default.copy() if isinstance(default, dict) else default)
    record.setdefault("failing", bool(record.get("unexpected")))
    return record


def predates_regimes(results: Results) -> bool:
    """True for a run whose records carry no per-regime verdicts (a /1 file)."""
    return not any(record.get("regimes") for record in results.records)


def run_label(results: Results) -> str:
    """The run's name in the report: "torch 2.13.0", "keras 3.15.1 · jax 0.10.2"."""
    run = results.run
    label = f"{run['framework']} {run['framework_version']}"
    if run.get("backend"):
        label += f" · {run['backend']} {run.get('backend_version') or ''}".rstrip()
    return label


# ---------------------------------------------------------------------------------------------
# Writing


def _missing(entry: dict[str, Any], required: Iterable[str]) -> list[str]:
    return [key for key in required if key not in entry]


def _require(entry: dict[str, Any], required: Iterable[str], what: str) -> None:
    missing = _missing(entry, required)
    if missing:
        raise ValueError(f"{what} lacks required field(s): {', '.join(missing)}")


class ResultsWriter:
    """Writes a results file as the run goes; ``close()`` turns it into the final document.

    Every line is flushed and fsynced before the call returns, so a run killed at any point
    leaves a file :func:`load` reads. Used as a context manager, an exception inside the block
    leaves the stream unfinished on purpose: the run did not end, and the report says so.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        run: dict[str, Any],
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self.path = Path(path)
        self._clock = clock  # the time stamps' source; fixtures pass a fixed one
        automatic = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "started": clock(),
        }
        self.run = {key: value for key, value in run.items() if value is not None}
        for key, default in {**RUN_DEFAULTS, **automatic}.items():
            self.run.setdefault(key, default)
        _require(self.run, RUN_REQUIRED, "run")
        self._records: dict[tuple, dict] = {}
        self._mapping: dict[tuple, dict] = {}  # (config id, api) -> row
        self._registry: dict[str, dict] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        self._write_line({"schema": SCHEMA, "run": self.run})

    def record(self, record: dict[str, Any]) -> None:
        _require(record, RECORD_REQUIRED, "record")
        if record["verdict"] not in VERDICTS:
            raise ValueError(f"unknown verdict {record['verdict']!r}; known: {VERDICTS}")
        self._records[record_key(record)] = record
        self._write_line({"record": record})

    def mapping(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            _require(entry, MAPPING_REQUIRED, "mapping entry")
            self._mapping[entry["config_id"], entry.get("api")] = entry
        self._write_line({"mapping": entries})

    def registry(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            _require(entry, REGISTRY_REQUIRED, "registry entry")
            self._registry[entry["id"]] = entry
        self._write_line({"registry": entries})

    def progress(self, item_id: str) -> None:
        self._write_line({"progress": item_id})

    def stop(self, item_id: str) -> None:
        """Close the stream unfinished, stopped at ``item_id``: the run ended without it (a
        pytest-xdist worker died while running it), and the reader says so."""
        if not self._file.closed:
            self.progress(item_id)
            self._file.close()

    def close(self) -> None:
        """Rewrite the stream atomically as the final document, with ``finished`` set."""
        if self._file.closed:
            return
        self._file.close()
        records = list(self._records.values())
        registry = list(self._registry.values())
        document = {
            "schema": SCHEMA,
            "run": {**self.run, "finished": self._clock(), "stopped_at": None},
            "mapping": list(self._mapping.values()),
            "records": records,
            "registry": registry,
            "summary": summarize(records, registry),
        }
        _replace_atomically(self.path, _document_text(document))

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self._file.close()

    def _write_line(self, entry: dict[str, Any]) -> None:
        self._file.write(_dumps(entry) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def _dumps(value: Any) -> str:
    # allow_nan=False: encode() already turned nan/inf into strings; anything left is a bug.
    return json.dumps(encode(value), ensure_ascii=False, allow_nan=False)


def _document_text(document: dict[str, Any]) -> str:
    """The final document with one list entry per line: compact, yet grep- and diff-friendly."""
    parts = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            entries = ",\n  ".join(_dumps(entry) for entry in value)
            parts.append(f"{_dumps(key)}: [\n  {entries}\n ]")
        else:
            parts.append(f"{_dumps(key)}: {_dumps(value)}")
    return "{" + ",\n ".join(parts) + "}\n"


def _replace_atomically(path: Path, text: str) -> None:
    # The temporary file sits next to the target so that os.replace stays on one filesystem;
    # it takes the target's permissions (mkstemp creates it private).
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".partial")
    try:
        if path.exists():
            os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# Reading


def load(path: str | os.PathLike[str]) -> Results:
    """Read a results file in either form; :class:`ResultsError` says why one is unusable."""
    name = str(path)
    document = read_document(path)
    return _reader_for(document, name)(decode(document), name)


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A results file in either form as the final-form document, its entries as written (no
    defaults filled in, nan/inf still strings): what merging part files copies."""
    name = str(path)
    text = _read_text(name)
    try:
        # A final document, or a stream of just its header line (which reads the same).
        document = json.loads(text)
    except json.JSONDecodeError:
        header, lines = _stream_header(text, name)
        _reader_for(header, name)
        document = _assemble_stream(header, lines, name)
    _reader_for(document, name)
    return document


def _read_text(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ResultsError(f"{name}: is a directory, not a results file") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{name}: not JSON (not UTF-8 text)") from None
    except OSError as error:
        raise ResultsError(f"{name}: cannot read ({error.strerror})") from None


def _stream_header(text: str, name: str) -> tuple[dict, list[str]]:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ResultsError(f"{name}: empty, not a results file")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError as error:
        raise ResultsError(f"{name}: not JSON ({error.msg} at line 1)") from None
    return header, lines[1:]


def _reader_for(document: Any, name: str) -> Callable[[dict, str], Results]:
    if not isinstance(document, dict) or "schema" not in document:
        raise ResultsError(f'{name}: not a lossconf results file (no "schema" field)')
    version = document["schema"]
    if version not in READERS:
        readable = ", ".join(READERS)
        raise ResultsError(
            f"{name}: unknown schema version {version!r}; this lossconf reads {readable}"
        )
    return READERS[version]


def _assemble_stream(header: dict, lines: list[str], name: str) -> dict:
    """The final-form document a stream describes, unfinished (``finished`` is None)."""
    records: dict[tuple, dict] = {}
    mapping: dict[tuple, dict] = {}
    registry: dict[str, dict] = {}
    run = dict(header["run"]) if isinstance(header.get("run"), dict) else {}
    run["finished"] = None
    run["stopped_at"] = None
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines) + 1:
                break  # the writer was killed in the middle of its last line
            raise ResultsError(f"{name}: line {number} is not JSON") from None
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ResultsError(f"{name}: line {number} is not a results-stream entry")
        ((kind, payload),) = entry.items()
        if kind == "record":
            _check_required(payload, RECORD_REQUIRED, f"line {number} (record)", name)
            records[record_key(payload)] = payload
        elif kind == "mapping":
            for item in _entries(payload, MAPPING_REQUIRED, f"line {number} (mapping)", name):
                mapping[item["config_id"], item.get("api")] = item
        elif kind == "registry":
            for item in _entries(payload, REGISTRY_REQUIRED, f"line {number} (registry)", name):
                registry[item["id"]] = item
        elif kind == "progress":
            run["stopped_at"] = payload
        else:
            raise ResultsError(f"{name}: line {number} has unknown entry {kind!r}")
    return {
        "schema": header["schema"],
        "run": run,
        "mapping": list(mapping.values()),
        "records": list(records.values()),
        "registry": list(registry.values()),
    }


def _entries(payload: Any, required: tuple[str, ...], what: str, name: str) -> list[dict]:
    if not isinstance(payload, list):
        raise ResultsError(f"{name}: {what} is not a list")
    for entry in payload:
        _check_required(entry, required, what, name)
    return payload


def _check_required(entry: Any, required: Iterable[str], what: str, name: str) -> None:
    if not isinstance(entry, dict):
        raise ResultsError(f"{name}: {what} is not a JSON object")
    missing = _missing(entry, required)
    if missing:
        raise ResultsError(f"{name}: {what} lacks required field(s) {', '.join(missing)}")


def _with_defaults(
    entries: Any, required: tuple[str, ...], defaults: dict, what: str, name: str
) -> list[dict]:
    if not isinstance(entries, list):
        raise ResultsError(f"{name}: {what} is not a list")
    filled = []
    for index, entry in enumerate(entries):
        _check_required(entry, required, f"{what} entry {index}", name)
        filled.append({**defaults, **entry})
    return filled


def _read_v1(document: dict, name: str) -> Results:
    _check_required(document.get("run"), RUN_REQUIRED, "run", name)
    run = {**RUN_DEFAULTS, **document["run"]}
    records = _with_defaults(
        document.get("records", []), RECORD_REQUIRED, RECORD_DEFAULTS, "records", name
    )
    for index, record in enumerate(records):
        if record["verdict"] not in VERDICTS:
            raise ResultsError(
                f"{name}: records entry {index} has unknown verdict {record['verdict']!r}"
            )
    mapping = _with_defaults(
        document.get("mapping", []), MAPPING_REQUIRED, MAPPING_DEFAULTS, "mapping", name
    )
    registry = _with_defaults(
        document.get("registry", []), REGISTRY_REQUIRED, REGISTRY_DEFAULTS, "registry", name
    )
    # The summary is derived data: recomputed, so a stream and a final file read the same.
    return Results(name, run, mapping, records, registry, summarize(records, registry))


def _read_v2(document: dict, name: str) -> Results:
    return _read_v1(document, name)


def _upgrade_v1(document: dict, name: str) -> Results:
    """A ``/1`` document read as ``/2``: the fields /2 added, with the defaults that say what
    a /1 run meant (every unexplained non-match failed it)."""
    results = _read_v1(document, name)
    if results.run.get("strict") is None:
        results.run["strict"] = True
    for record in results.records:
        record["failing"] = bool(record.get("unexpected"))
    return results


READERS: dict[str, Callable[[dict, str], Results]] = {SCHEMA: _read_v2, SCHEMA_V1: _upgrade_v1}
