"""The coverage table: every public loss API of the frameworks' installed releases, and how the suite
accounts for it.

An API family (:data:`FAMILIES`) is a namespace a user calls losses from, with a *rule* that picks
its public loss APIs out of the installed release (a namespace such as ``tf.nn`` holds far more than
losses). The table, ``adapters/coverage.json``, gives every API the rule picks one status:

``mapped``
    an adapter runs it: the canonical losses and configurations it runs as. Derived, never written
    by hand: ``python -m adapters.coverage update`` reads every configuration's native call from the
    framework's adapter (:meth:`Adapter.mapping` and :meth:`Adapter.alternatives`) and records the
    APIs each call names.
``planned``
    not mapped yet, with a note; when an adapter maps it, ``update`` turns the row into ``mapped``.
``excluded``
    a loss the suite does not test, with the reason.
``helper``
    picked by the rule but not a loss (``tf.nn.compute_average_loss`` reduces losses computed
    elsewhere), with the reason; helpers are not counted among the loss APIs.

``tests/adapters/test_coverage.py`` fails, in each framework's environment, when the installed
release has a public loss API the table does not account for, when the table names one the
release lacks, and when the table's ``mapped`` rows are not what the adapter maps; without a
framework, when the README's coverage section is not what :func:`markdown` writes from the table.

Importing this module imports no framework; :func:`catalogue`, :func:`live_mapping` and
:func:`update` import the one they are asked about.

    python -m adapters.coverage markdown            # the README section, from the table
    python -m adapters.coverage readme              # ... written into README.md
    python -m adapters.coverage check  [--framework NAME]   # the installed release vs the table
    python -m adapters.coverage update [--framework NAME]   # mapped rows from the adapter, README
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import reference as R
from reference.contract import version_in

TABLE = Path(__file__).with_name("coverage.json")
README = Path(__file__).resolve().parent.parent / "README.md"
FORMAT = "lossconf.coverage/1"
STATUSES = ("mapped", "planned", "excluded", "helper")
SELECTIONS = ("loss-named", "functions", "loss-classes")  # the rules :func:`catalogue` knows
MARKERS = ("<!-- coverage:start -->", "<!-- coverage:end -->")

# A name that says "loss": what picks losses out of namespaces that hold everything else too.
LOSS_NAME = re.compile(r"loss|entropy|divergence|^kl_div$")


@dataclass(frozen=True)
class Family:
    """One API family: where its APIs live and which of them the catalogue counts."""

    key: str  # the table's key and the README's name for it
    namespace: str  # as users write a call: "tf.nn" (API names read ``namespace.name``)
    framework: str  # the adapter that maps it (a key of adapters.FRAMEWORKS)
    package: str  # whose release it is: its ``__version__`` is the release
    module: tuple[str, ...]  # the module to import, then attributes: ("tensorflow", "nn")
    select: str  # "loss-named" | "functions" | "loss-classes" (see :func:`catalogue`)
    rule: str  # the rule in words, for the README

    def qualified(self, name: str) -> str:
        return f"{self.namespace}.{name}"


FAMILIES: tuple[Family, ...] = (
    Family(
        "torch.nn.functional",
        "torch.nn.functional",
        "torch",
        "torch",
        ("torch.nn.functional",),
        "loss-named",
        "public functions whose name contains `loss`, `entropy` or `divergence`, or is `kl_div`: "
        "the 21 that torch's docs list under “Loss functions” (docs/source/nn.functional.md), "
        "and any later one (2.13.0 adds `linear_cross_entropy`, with the module "
        "`torch.nn.LinearCrossEntropyLoss`)",
    ),
    Family(
        "tf.nn",
        "tf.nn",
        "tensorflow",
        "tensorflow",
        ("tensorflow", "nn"),
        "loss-named",
        "public functions whose name contains `loss`, `entropy` or `divergence` (tf.nn holds "
        "activations, convolutions and samplers too); the tf.distribute helpers the rule also "
        "picks are listed as helpers",
    ),
    Family(
        "keras.losses (classes)",
        "keras.losses",
        "keras",
        "keras",
        ("keras", "losses"),
        "loss-classes",
        "public subclasses of `keras.losses.Loss` (the base class itself is a helper); the same "
        "on every backend, checked on each",
    ),
    Family(
        "keras.losses (functions)",
        "keras.losses",
        "keras",
        "keras",
        ("keras", "losses"),
        "functions",
        "every public function (the functional form of each class, and the `get`/`serialize`/"
        "`deserialize` helpers)",
    ),
    Family(
        "optax.losses",
        "optax.losses",
        "jax",
        "optax",
        ("optax", "losses"),
        "functions",
        "every public function (the namespace holds losses only, and two helpers)",
    ),
)

BY_KEY = {f.key: f for f in FAMILIES}


def families_of(framework: str) -> tuple[Family, ...]:
    return tuple(f for f in FAMILIES if f.framework == framework)


# --- the installed release ---------------------------------------------------------------------


def namespace_module(family: Family) -> Any:
    """The family's namespace in the installed release (imports the framework)."""
    obj = importlib.import_module(family.module[0])
    for attribute in family.module[1:]:
        obj = getattr(obj, attribute)
    return obj


def release(family: Family) -> str:
    """The installed version of the family's package (``optax`` for optax.losses, not jax)."""
    return str(importlib.import_module(family.package).__version__)


def _is_function(obj: Any) -> bool:
    return callable(obj) and not inspect.isclass(obj) and not inspect.ismodule(obj)


def catalogue(family: Family, module: Any = None) -> list[str]:
    """The public loss APIs (and helpers) the family's rule picks from ``module`` (default: the
    installed release's namespace), sorted.

    ``loss-named``: public callables, not classes, whose name matches :data:`LOSS_NAME`;
    ``functions``: every public callable that is not a class; ``loss-classes``: every public class
    deriving from the namespace's own ``Loss`` (``keras.losses.Loss``), ``Loss`` included.
    """
    module = namespace_module(family) if module is None else module
    names = [n for n in dir(module) if not n.startswith("_")]
    if family.select == "loss-classes":
        base = module.Loss
        return sorted(
            n
            for n in names
            if inspect.isclass(getattr(module, n)) and issubclass(getattr(module, n), base)
        )
    if family.select == "functions":
        return sorted(n for n in names if _is_function(getattr(module, n)))
    if family.select == "loss-named":
        return sorted(n for n in names if LOSS_NAME.search(n) and _is_function(getattr(module, n)))
    raise ValueError(f"{family.key}: unknown selection rule {family.select!r}")


# Where a native call names an API: "jnp.mean(optax.losses.huber_loss(input, …))".
API_CALL = re.compile(
    r"(?<![\w.])(torch\.nn\.functional|tf\.nn|keras\.losses|optax\.losses)\.([A-Za-z_]\w*)"
)


def called_apis(call: str) -> set[tuple[str, str]]:
    """The (namespace, name) pairs a native call's source names."""
    return set(API_CALL.findall(call))


def live_mapping(
    adapter,
    families: tuple[Family, ...] | None = None,
    catalogues: Mapping[str, list[str]] | None = None,
) -> dict[str, dict]:
    """What the adapter runs each API of its families as: {family key: {api: runs_as}}, where
    runs_as maps a canonical loss to ``"all"`` (every configuration of the loss) or the sorted ids
    of the configurations whose native call (the mapping or an alternative) names the API.
    Names the call holds that the family's rule does not pick (``tf.nn.softmax`` in a
    composition) are not APIs of the family. ``catalogues`` (family key -> names) stands for
    the installed release's (:func:`catalogue`)."""
    from . import NotOffered

    families = families_of(adapter.name) if families is None else families
    picked = {f.key: set(catalogues[f.key] if catalogues else catalogue(f)) for f in families}
    found: dict[str, dict[str, dict[str, set[str]]]] = {f.key: {} for f in families}
    for spec in R.REGISTRY.values():
        for config in R.all_configs(spec):
            native = adapter.mapping(spec.name, config)
            if isinstance(native, NotOffered):
                continue
            forms = [native, *adapter.alternatives(spec.name, config).values()]
            calls = set().union(*(called_apis(form.call) for form in forms))
            for family in families:
                for namespace, name in calls:
                    if namespace == family.namespace and name in picked[family.key]:
                        configs = (
                            found[family.key].setdefault(name, {}).setdefault(spec.name, set())
                        )
                        configs.add(R.config_id(spec, config))
    return {
        key: {api: _runs_as(losses) for api, losses in apis.items()} for key, apis in found.items()
    }


def _runs_as(losses: Mapping[str, set[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for loss in sorted(losses):
        every = {R.config_id(R.get(loss), c) for c in R.all_configs(R.get(loss))}
        out[loss] = "all" if losses[loss] == every else sorted(losses[loss])
    return out


# --- the table ---------------------------------------------------------------------------------


def load(path: Path | str = TABLE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        table = json.load(handle)
    if table.get("format") != FORMAT:
        raise ValueError(f"{path}: format {table.get('format')!r}, expected {FORMAT!r}")
    return table


ROW_KEYS = ("status", "runs_as", "note", "reason")


def _row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ROW_KEYS if k in row}


def dumps(table: Mapping[str, Any]) -> str:
    """The table as JSON, one API a line (so a change is one line of diff), families in
    :data:`FAMILIES` order, APIs sorted."""
    families = table["families"]
    keys = [f.key for f in FAMILIES if f.key in families]
    lines = ["{", f'  "format": {json.dumps(FORMAT)},', '  "families": {']
    for i, key in enumerate(keys):
        family = families[key]
        apis = sorted(family["apis"].items())
        lines += [
            f"    {json.dumps(key)}: {{",
            f'      "release": {json.dumps(family["release"])},',
            '      "apis": {',
        ]
        for j, (name, row) in enumerate(apis):
            comma = "," if j < len(apis) - 1 else ""
            text = json.dumps(_row(row), ensure_ascii=False)
            lines.append(f"        {json.dumps(name)}: {text}{comma}")
        lines += ["      }", "    }" + ("," if i < len(keys) - 1 else "")]
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def validate(table: Mapping[str, Any]) -> list[str]:
    """What is malformed in the table, one line each: a family no rule defines (or one missing),
    an unknown status, a planned row without its note, an excluded row or helper without its
    reason, a mapped row without the canonical losses it runs as (or naming an unknown loss)."""
    out = []
    families = table.get("families", {})
    for key in families:
        if key not in BY_KEY:
            out.append(f"{key}: no such API family (known: {', '.join(BY_KEY)})")
    for family in FAMILIES:
        if family.key not in families:
            out.append(f"{family.key}: missing from the table")
            continue
        for name, row in families[family.key]["apis"].items():
            api = family.qualified(name)
            status = row.get("status")
            need = {
                "mapped": "runs_as",
                "planned": "note",
                "excluded": "reason",
                "helper": "reason",
            }
            if status not in STATUSES:
                out.append(f"{api}: status {status!r} is none of {', '.join(STATUSES)}")
            elif not row.get(need[status]):
                out.append(f"{api}: a {status} row needs its {need[status]}")
            elif status == "mapped":
                unknown = [loss for loss in row["runs_as"] if loss not in R.REGISTRY]
                if unknown:
                    out.append(f"{api}: runs as unknown losses {', '.join(unknown)}")
    return out


# --- the check ---------------------------------------------------------------------------------


def _update_command(family: Family) -> str:
    return f"`LOSSCONF_FRAMEWORK={family.framework} python -m adapters.coverage update`"


def _losses(runs_as: Mapping[str, Any]) -> str:
    return ", ".join(runs_as)


def problems(
    family: Family,
    apis: list[str],
    rows: Mapping[str, Mapping[str, Any]],
    live: Mapping[str, Any],
    version: str,
) -> list[str]:
    """Where the table does not account for the installed release, one line per API naming what
    to do. ``apis``: the release's catalogue (:func:`catalogue`); ``rows``: the table's rows of
    the family; ``live``: what the adapter runs each API as (:func:`live_mapping`); ``version``:
    the release."""
    return [
        *unaccounted(family, apis, rows, live, version),
        *lacking(family, apis, rows, version),
        *drift(family, apis, rows, live),
    ]


def unaccounted(
    family: Family,
    apis: list[str],
    rows: Mapping[str, Any],
    live: Mapping[str, Any],
    version: str,
) -> list[str]:
    """APIs of the release that no row accounts for and no adapter maps."""
    return [
        f"{family.qualified(name)}: a public loss API of {family.package} {version} that the "
        f"coverage table does not account for: map it in the {family.framework} adapter, or add "
        "it to adapters/coverage.json as planned (with a note) or excluded/helper (with a reason)"
        for name in apis
        if name not in rows and name not in live
    ]


def lacking(family: Family, apis: list[str], rows: Mapping[str, Any], version: str) -> list[str]:
    """Rows naming an API the release lacks."""
    return [
        f"{family.qualified(name)}: named in the coverage table but {family.package} {version} "
        "has no such public loss API: delete its row in adapters/coverage.json"
        for name in sorted(rows)
        if name not in apis
    ]


def drift(
    family: Family, apis: list[str], rows: Mapping[str, Any], live: Mapping[str, Any]
) -> list[str]:
    """Rows whose mapped status (or configurations) is not what the adapter maps now."""
    out = []
    for name in sorted(set(rows) | set(live)):
        if name not in apis:
            continue
        row, runs_as = rows.get(name, {}), live.get(name)
        status = row.get("status", "absent")
        if status == "helper":
            continue  # a helper may appear in a composition; it is not a loss either way
        api = family.qualified(name)
        if runs_as is not None and status != "mapped":
            out.append(
                f"{api}: the {family.framework} adapter runs it now (as {_losses(runs_as)}) but "
                f"the coverage table says {status}: run {_update_command(family)}, which records "
                "it as mapped"
            )
        elif runs_as is None and status == "mapped":
            out.append(
                f"{api}: the coverage table says mapped but the {family.framework} adapter maps "
                "no configuration to it: map it again, or make its row in adapters/coverage.json "
                "planned (with a note) or excluded (with a reason)"
            )
        elif runs_as is not None and row.get("runs_as") != runs_as:
            out.append(
                f"{api}: the {family.framework} adapter runs it as {_losses(runs_as)} in other "
                f"configurations than the coverage table records: run {_update_command(family)}"
            )
    return out


def older_than_table(version: str, recorded: str) -> bool:
    """Whether the installed release predates the one the table was recorded on (an older release
    lacking a newer API is no news; a newer one dropping an API is)."""
    return bool(recorded) and version != recorded and version_in(version, f"<{recorded}")


def check(adapter, table: Mapping[str, Any] | None = None) -> list[str]:
    """Every problem of the table against the installed release of the adapter's families. On a
    release older than the table's, an API the table names and the release lacks is no problem;
    on another release than the table's, neither is a mapping that differs (the jax adapter
    offers what the installed optax's signatures allow)."""
    table = load() if table is None else table
    live = live_mapping(adapter)
    out = []
    for family in families_of(adapter.name):
        entry = table["families"][family.key]
        rows, version, apis = entry["apis"], release(family), catalogue(family)
        out += unaccounted(family, apis, rows, live[family.key], version)
        if not older_than_table(version, entry["release"]):
            out += lacking(family, apis, rows, version)
        if version == entry["release"]:
            out += drift(family, apis, rows, live[family.key])
    return out


def update(adapter, table: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The table with the adapter's families' mapped rows as the adapter maps them now and their
    release recorded, and what changed, one line each. Only rows of APIs the adapter maps change:
    a planned or excluded row it maps becomes mapped; any other disagreement is for a person
    (:func:`check` names it)."""
    table = json.loads(json.dumps(load() if table is None else table))
    live = live_mapping(adapter)
    changes = []
    for family in families_of(adapter.name):
        entry = table["families"].setdefault(family.key, {"release": "", "apis": {}})
        version = release(family)
        if entry["release"] != version:
            changes.append(f"{family.key}: release {entry['release'] or '—'} → {version}")
            entry["release"] = version
        for name, runs_as in live[family.key].items():
            row = entry["apis"].get(name, {})
            if row.get("status") == "helper":
                continue
            new = {"status": "mapped", "runs_as": runs_as}
            if row != new:
                was = row.get("status", "absent")
                changes.append(f"{family.qualified(name)}: {was} → mapped as {_losses(runs_as)}")
                entry["apis"][name] = new
    return table, changes


# --- the README section ------------------------------------------------------------------------


def _configs(loss: str) -> int:
    return sum(1 for _ in R.all_configs(R.get(loss))) if loss in R.REGISTRY else 0


def _runs_as_text(runs_as: Mapping[str, Any]) -> str:
    parts = []
    for loss, configs in runs_as.items():
        if configs == "all":
            parts.append(f"`{loss}`")
        else:
            parts.append(f"`{loss}` ({len(configs)} of {_configs(loss)} configurations)")
    return ", ".join(parts)


def counts(rows: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    out = {status: 0 for status in STATUSES}
    for row in rows.values():
        out[row["status"]] += 1
    out["losses"] = out["mapped"] + out["planned"] + out["excluded"]
    return out


def _percent(mapped: int, losses: int) -> str:
    return f"{(200 * mapped + losses) // (2 * losses)} %" if losses else "—"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(table: Mapping[str, Any]) -> str:
    """The README's coverage section: a summary per family, then each family's rows."""
    summary = [
        "| API family | release | loss APIs | mapped | planned | excluded | mapped % "
        "| helpers (not losses) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    total = dict.fromkeys(("losses", "mapped", "planned", "excluded", "helper"), 0)
    sections = []
    for family in FAMILIES:
        entry = table["families"][family.key]
        rows = entry["apis"]
        n = counts(rows)
        for key in total:
            total[key] += n[key]
        summary.append(
            f"| {_family_name(family)} | {family.package} {entry['release']} | {n['losses']} "
            f"| {n['mapped']} | {n['planned']} | {n['excluded']} "
            f"| {_percent(n['mapped'], n['losses'])} | {n['helper']} |"
        )
        lines = [
            f"<details><summary>{_family_name(family, html=True)}: {n['mapped']} of "
            f"{n['losses']} loss APIs mapped</summary>",
            "",
            f"Counted: {family.rule}.",
            "",
            "| API | status | runs as, or why not |",
            "|---|---|---|",
        ]
        order = {s: i for i, s in enumerate(STATUSES)}
        for name, row in sorted(rows.items(), key=lambda kv: (order[kv[1]["status"]], kv[0])):
            status = row["status"]
            if status == "mapped":
                why = _runs_as_text(row["runs_as"])
            else:
                why = row.get("note") or row.get("reason") or ""
            label = "helper (not a loss)" if status == "helper" else status
            lines.append(f"| `{name}` | {label} | {_cell(why)} |")
        lines += ["", "</details>"]
        sections.append("\n".join(lines))
    summary.append(
        f"| **all** | | {total['losses']} | {total['mapped']} | {total['planned']} "
        f"| {total['excluded']} | {_percent(total['mapped'], total['losses'])} "
        f"| {total['helper']} |"
    )
    intro = (
        "Generated from `adapters/coverage.json` by `python -m adapters.coverage readme` (a test "
        "keeps the two equal). *mapped*: an adapter runs it, as the canonical losses named (in "
        "every configuration of the loss unless counted); *planned*: not mapped yet; *excluded*: "
        "not tested, for the reason given; *helpers* are picked by a family's rule but are not "
        "losses, and count in no column but their own."
    )
    return "\n\n".join([intro, "\n".join(summary), *sections])


def _family_name(family: Family, html: bool = False) -> str:
    name, _, kind = family.key.partition(" ")
    if html:
        return f"<code>{name}</code> {kind}".strip()
    return f"`{name}` {kind}".strip()


def readme_section(text: str) -> str:
    """The text between the README's coverage markers."""
    start, end = MARKERS
    match = re.search(rf"{re.escape(start)}\n(.*?){re.escape(end)}", text, re.S)
    if match is None:
        raise ValueError(f"README.md lacks the {start} … {end} markers")
    return match.group(1).strip()


def write_readme(table: Mapping[str, Any], path: Path = README) -> bool:
    """Write the section into the README between its markers; whether it changed."""
    text = path.read_text(encoding="utf-8")
    old = readme_section(text)
    new = markdown(table)
    if old == new:
        return False
    start, end = MARKERS
    path.write_text(
        re.sub(
            rf"{re.escape(start)}\n.*?{re.escape(end)}",
            lambda _: f"{start}\n{new}\n{end}",
            text,
            count=1,
            flags=re.S,
        ),
        encoding="utf-8",
    )
    return True


# --- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.coverage", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("markdown", help="print the README's coverage section, from the table")
    sub.add_parser(
        "readme", help="write the coverage section into README.md (and the table in its layout)"
    )
    for name, text in (
        ("check", "list where the table does not account for the installed release"),
        ("update", "record what the adapter maps now, and write the README section"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument(
            "--framework",
            default=os.environ.get("LOSSCONF_FRAMEWORK"),
            help="the adapter (default: $LOSSCONF_FRAMEWORK)",
        )
    args = parser.parse_args(argv)
    table = load()
    malformed = validate(table)
    if malformed:
        print("\n".join(f"adapters/coverage.json: {line}" for line in malformed), file=sys.stderr)
        return 2
    if args.command == "markdown":
        print(markdown(table))
        return 0
    if args.command == "readme":
        if TABLE.read_text(encoding="utf-8") != dumps(table):
            TABLE.write_text(dumps(table), encoding="utf-8")
            print("adapters/coverage.json: rewritten in its layout (one API a line, sorted)")
        print("README.md " + ("written" if write_readme(table) else "already up to date"))
        return 0
    if not args.framework:
        print(f"python -m adapters.coverage {args.command}: name a framework", file=sys.stderr)
        return 2
    from . import load as load_adapter

    adapter = load_adapter(args.framework)
    if args.command == "update":
        table, changes = update(adapter, table)
        TABLE.write_text(dumps(table), encoding="utf-8")
        print("\n".join(changes) or "adapters/coverage.json: no change")
        if README.exists() and write_readme(table):
            print("README.md: coverage section written")
    found = check(adapter, table)
    if found:
        print("\n".join(found), file=sys.stderr)
        return 1
    print(f"adapters/coverage.json accounts for every public loss API of {args.framework}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
