"""``python -m cases``: freeze and check the corpus, and print the profile budget.

    python -m cases freeze [--out cases/corpus] [--seed 0] [--profile ci]
    python -m cases check [DIR]
    python -m cases budget [--profile ci]

Errors (a corpus that cannot be read or written, an unknown profile) are one line on stderr and
exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import reference as R

from . import corpus, edges, invalid, profiles, selection


def _freeze(args) -> str:
    summary = corpus.freeze(args.out, seed=args.seed, profile=args.profile)
    return (
        f"froze {summary['cases']} cases into {summary['directory']} "
        f"({summary['files']} files, {summary['bytes'] / 1e6:.2f} MB)"
    )


def _check(args) -> str:
    loaded = corpus.load(args.directory)
    per_loss = Counter(loss for loss, _ in loaded.by_config)
    labels = Counter(
        case.label.split(":")[0] for cases in loaded.by_config.values() for case in cases
    )
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(labels.items()))
    return (
        f"{loaded.directory}: {len(loaded)} cases ({kinds}) in {len(per_loss)} losses, "
        f"{len(loaded.by_config)} configurations; seed {loaded.seed}, profile {loaded.profile}"
    )


def _budget(args) -> str:
    """Items and cases of a two-mode framework's run under a profile (each configuration at
    every dtype; in both modes, or in one each under the ci profile's alternation)."""
    profile = profiles.get(args.profile)
    n_configs = n_edges = n_invalid = 0
    for spec in R.REGISTRY.values():
        for config in selection.configs(spec, profile):
            n_configs += 1
            n_edges += len(edges.edge_cases(spec, config, "float64"))
            n_invalid += len(invalid.invalid_cases(spec, config, "float64"))
    # a two-mode framework: every dtype in both modes, or in one mode each ("alternate")
    modes = 1 if profile.dtype_modes == "alternate" else 2
    items = n_configs * len(R.DTYPES) * modes
    per_item = profile.max_examples + (n_edges + n_invalid) / n_configs
    each = "in one mode each, alternating" if modes == 1 else "in 2 modes"
    return "\n".join(
        [
            f"profile {profile.name}: {n_configs} configurations ({profile.configs})",
            f"  × {len(R.DTYPES)} dtypes {each} = {items} items",
            f"  per item: {profile.max_examples} drawn + {n_edges / n_configs:.1f} edge "
            f"+ {n_invalid / n_configs:.1f} invalid = {per_item:.1f} cases",
            f"  = {items * per_item:.0f} native calls; compiled items: {items // 2}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cases", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("freeze", help="write the deterministic corpus (npz + index.json)")
    p.add_argument(
        "--out", default=str(corpus.DEFAULT_DIR), help="directory (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default: 0)")
    p.add_argument(
        "--profile",
        default="ci",
        choices=profiles.NAMES,
        help="which configurations and how many draws each (default: ci)",
    )
    p.set_defaults(run=_freeze)
    p = sub.add_parser("check", help="load a corpus and summarise it")
    p.add_argument("directory", nargs="?", default=str(corpus.DEFAULT_DIR))
    p.set_defaults(run=_check)
    p = sub.add_parser("budget", help="items and cases a profile runs for one framework")
    p.add_argument("--profile", default="ci", choices=profiles.NAMES)
    p.set_defaults(run=_budget)
    args = parser.parse_args(argv)
    try:
        print(args.run(args))
    except (corpus.CorpusError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"python -m cases: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
