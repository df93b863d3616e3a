"""The frozen corpus: the same inputs for every framework and every version, without pickles.

``python -m cases freeze [--out cases/corpus] [--seed 0] [--profile ci]`` writes, for each loss
and each configuration the profile runs, ``profile.corpus_examples`` seeded draws (the strategies'
drawing routine on a NumPy generator seeded by the seed and the configuration id, cycling the
dtype whose bands are drawn from) plus every edge and invalid case. Cases are stored
dtype-independently: float64 master arrays (int64 class indices), which the run rounds to each
dtype.

Layout of the directory:

- ``<loss>.npz`` — one zip of ``.npy`` arrays per loss, keys ``<n>/<argument>`` and
  ``<n>/cotangent``, written with fixed timestamps so two freezes are byte-identical; read back
  with ``allow_pickle=False``;
- ``index.json`` — the schema (:data:`SCHEMA`), lossconf version, seed, profile, each file's
  SHA-256, and one entry per case: ``id`` (``cross_entropy/17``), ``loss``, ``config``,
  ``config_id``, ``params``, ``arrays`` (name → shape, dtype), ``label``, ``cotangent`` (its key or
  null) and ``meta``.

:func:`load` checks everything up front and fails with a one-line :class:`CorpusError` naming the
file: a missing or unreadable file, an index of another schema version, a checksum or shape that
does not match.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import reference as R
from reference.spec import LossSpec

from . import edges, invalid, profiles, selection, strategies

SCHEMA = "lossconf.corpus/1"
LOSSCONF_VERSION = "0.1.0"
INDEX = "index.json"
DEFAULT_DIR = Path(__file__).resolve().parent / "corpus"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that the bytes do not depend on when freeze ran
META_KEYS = ("layout", "sizes", "drawn_from", "bands_for", "argument")  # dtype-independent meta


class CorpusError(Exception):
    """A corpus that cannot be used; the message is one line and names the file."""


# --- writing -------------------------------------------------------------------------------------


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    # ascontiguousarray would turn a 0-d array into shape (1,)
    np.lib.format.write_array(buf, np.array(array, order="C"), allow_pickle=False)
    return buf.getvalue()


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An ``.npz`` (zip of ``.npy``) with fixed timestamps and permissions: deterministic bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, _npy_bytes(array))
    return buf.getvalue()


def _master(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    return values.astype(np.int64 if np.issubdtype(values.dtype, np.integer) else np.float64)


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def config_cases(spec: LossSpec, config: Mapping[str, Any], seed: int, profile) -> list[R.Case]:
    """The corpus's cases for one configuration: seeded draws, then edge and invalid cases."""
    key = zlib.crc32(R.config_id(spec, config).encode())
    rng = np.random.default_rng([seed, key])
    # Drawn at the profile's compiled shapes: every framework replays the corpus in every mode,
    # and jax.jit, tf.function and JAX's eager dispatch compile once per shape, so few shapes keep
    # an upgrade comparison's two runs short (the conformance run's eager draws vary shapes).
    drawn = [
        strategies.seeded_case(
            rng, spec, config, R.DTYPES[i % len(R.DTYPES)], profile, label="seeded", compiled=True
        )
        for i in range(profile.corpus_examples)
    ]
    return (
        drawn
        + edges.edge_cases(spec, config, "float64")
        + invalid.invalid_cases(spec, config, "float64")
    )


def _entry(spec, config, number: int, case: R.Case, stored: dict[str, np.ndarray]) -> dict:
    arrays = {}
    for name, values in case.arrays.items():
        values = _master(values)
        stored[f"{number}/{name}"] = values
        arrays[name] = {"shape": list(values.shape), "dtype": str(values.dtype)}
    cotangent = None
    if case.cotangent is not None:
        cotangent = f"{number}/cotangent"
        stored[cotangent] = _master(case.cotangent)
    return {
        "id": f"{spec.name}/{number}",
        "loss": spec.name,
        "config": _json_safe(config),
        "config_id": R.config_id(spec, config),
        "params": _json_safe(case.params),
        "arrays": arrays,
        "label": case.label,
        "cotangent": cotangent,
        "meta": _json_safe({k: case.meta[k] for k in META_KEYS if k in case.meta}),
    }


def freeze(out_dir: str | Path = DEFAULT_DIR, seed: int = 0, profile="ci") -> dict[str, Any]:
    """Write the corpus for ``profile`` (a name or a Profile) into ``out_dir``; return a summary."""
    profile = profiles.get(profile) if isinstance(profile, str) else profile
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CorpusError(f"{out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CorpusError(f"{out}: cannot create the corpus directory ({exc.strerror})") from None
    entries, files = [], {}
    for spec in R.REGISTRY.values():
        stored: dict[str, np.ndarray] = {}
        number = 0
        for config in selection.configs(spec, profile):
            for case in config_cases(spec, config, seed, profile):
                entries.append(_entry(spec, config, number, case, stored))
                number += 1
        data = _npz_bytes(stored)
        name = f"{spec.name}.npz"
        _write(out / name, data)
        files[spec.name] = {
            "file": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "cases": number,
        }
    index = {
        "schema": SCHEMA,
        "lossconf_version": LOSSCONF_VERSION,
        "seed": seed,
        "profile": profile.name,
        "generator": "cases.strategies.RngDrawer on numpy.random.default_rng([seed, crc32(config id)])",
        "files": files,
        "cases": entries,
    }
    text = _index_text(index)
    _write(out / INDEX, text.encode())
    size = sum((out / f["file"]).stat().st_size for f in files.values()) + len(text.encode())
    return {"directory": str(out), "cases": len(entries), "files": len(files) + 1, "bytes": size}


def _index_text(index: Mapping[str, Any]) -> str:
    """Readable JSON with one line per case, so that a diff of two corpora shows changed cases."""
    head = json.dumps(
        {k: v for k, v in index.items() if k != "cases"},
        indent=1,
        ensure_ascii=False,
        allow_nan=False,
    )
    lines = [json.dumps(e, ensure_ascii=False, allow_nan=False) for e in index["cases"]]
    return head[:-2] + ',\n "cases": [\n  ' + ",\n  ".join(lines) + "\n ]\n}\n"


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CorpusError(f"{path}: cannot write ({exc.strerror})") from None


# --- reading -------------------------------------------------------------------------------------


@dataclass
class Corpus:
    """A loaded corpus: every case, looked up by loss and configuration."""

    directory: Path
    index: dict[str, Any]
    by_config: dict[tuple[str, str], list[R.Case]] = field(default_factory=dict)

    # keep every ``every``-th case of each configuration, from the first (a deterministic share
    # for a quick replay: CI's upgrade diff; both sides of a diff replay the same share)
    every: int = 1
    # keep every ``configs_every``-th configuration of each loss, from the first: a replay costs
    # a compilation per item (configuration x dtype x mode) far more than per case, so this is
    # the share that shortens a replay on a compiling framework (CI's upgrade diff)
    configs_every: int = 1
    # keep every ``pairs_every``-th (dtype, mode) pair of each configuration it keeps, the first
    # pair rotating from one configuration to the next, so that the replay still runs every dtype
    # and every mode (a run of the whole corpus needs no such share; CI's upgrade diff does:
    # with one configuration per loss, its 4 dtypes x 2 modes are most of a replay's items)
    pairs_every: int = 1

    def replays_pair(self, rotation: int, pair: int) -> bool:
        """Whether the ``pair``-th (dtype, mode) pair (dtype index x modes + mode index) of a
        configuration replays; ``rotation`` numbers the configuration (its loss's place in the
        registry plus its own among the loss's), so consecutive ones start at different pairs."""
        return (pair + rotation) % self.pairs_every == 0

    def configs_of(self, configs: list) -> list:
        """The share of a loss's configurations (in the profile's order) that the replay runs."""
        return list(configs)[:: self.configs_every]

    def cases_for(self, spec: LossSpec, config: Mapping[str, Any]) -> list[R.Case]:
        """The stored cases of one configuration (dtype float64 masters; the run sets the dtype)."""
        return list(self.by_config.get((spec.name, R.config_id(spec, config)), []))[:: self.every]

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_config.values())

    @property
    def seed(self) -> int:
        return self.index["seed"]

    @property
    def profile(self) -> str:
        return self.index["profile"]


def _read_index(directory: Path) -> dict[str, Any]:
    path = directory / INDEX
    if not directory.is_dir():
        raise CorpusError(f"{directory}: no such corpus directory")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise CorpusError(f"{path}: cannot read the corpus index ({reason})") from None
    try:
        index = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    schema = index.get("schema") if isinstance(index, dict) else None
    if schema != SCHEMA:
        raise CorpusError(
            f"{path}: unknown corpus version {schema!r} (this lossconf reads {SCHEMA!r}; "
            "freeze the corpus again with python -m cases freeze)"
        )
    if not isinstance(index.get("files"), dict) or not isinstance(index.get("cases"), list):
        raise CorpusError(f"{path}: the index lacks its 'files' or 'cases' table")
    return index


def _read_npz(path: Path, sha256: str | None) -> dict[str, np.ndarray]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})") from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise CorpusError(f"{path}: corrupt (its SHA-256 differs from the one in {INDEX})")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, EOFError) as exc:
        raise CorpusError(
            f"{path}: corrupt ({type(exc).__name__}: {exc})".splitlines()[0]
        ) from None


def _case(entry: Mapping[str, Any], arrays: Mapping[str, np.ndarray], path: Path) -> R.Case:
    out = {}
    for name, info in entry["arrays"].items():
        key = f"{entry['id'].rsplit('/', 1)[1]}/{name}"
        if key not in arrays:
            raise CorpusError(f"{path}: has no array {key!r} for case {entry['id']}")
        value = arrays[key]
        if list(value.shape) != list(info["shape"]) or str(value.dtype) != info["dtype"]:
            raise CorpusError(
                f"{path}: array {key!r} is {value.dtype}{list(value.shape)}, the index says "
                f"{info['dtype']}{info['shape']}"
            )
        out[name] = value
    cotangent = None
    if entry.get("cotangent"):
        if entry["cotangent"] not in arrays:
            raise CorpusError(f"{path}: has no array {entry['cotangent']!r}")
        cotangent = arrays[entry["cotangent"]]
    meta = {**entry.get("meta", {}), "corpus_id": entry["id"]}
    return R.Case(
        entry["loss"],
        dict(entry["params"]),
        out,
        cotangent=cotangent,
        label=entry["label"],
        meta=meta,
    )


def load(directory: str | Path = DEFAULT_DIR) -> Corpus:
    """Read and check a corpus; any problem is a one-line :class:`CorpusError` naming the file."""
    directory = Path(directory)
    index = _read_index(directory)
    loaded: dict[str, tuple[Path, dict[str, np.ndarray]]] = {}
    for loss, info in index["files"].items():
        try:
            path = directory / info["file"]
            sha = info.get("sha256")
        except (TypeError, KeyError):
            raise CorpusError(f"{directory / INDEX}: bad entry for {loss!r} in 'files'") from None
        loaded[loss] = (path, _read_npz(path, sha))
    corpus = Corpus(directory, index)
    for entry in index["cases"]:
        try:
            loss = entry["loss"]
            path, arrays = loaded[loss]
            case = _case(entry, arrays, path)
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise CorpusError(
                f"{directory / INDEX}: malformed case entry {str(entry)[:80]!r} ({exc!r})"
            ) from None
        if loss not in R.REGISTRY:
            continue  # a loss this lossconf does not know: never asked for
        spec = R.get(loss)
        key = (loss, R.config_id(spec, entry["config"]))
        corpus.by_config.setdefault(key, []).append(case)
    return corpus
