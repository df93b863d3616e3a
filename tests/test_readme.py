"""The README's catalogue table is generated from the registry and must stay equal to it."""

import re
from pathlib import Path

import reference as R

README = Path(__file__).resolve().parent.parent / "README.md"


def _between(text: str, name: str) -> str:
    match = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert match, f"README.md lacks the <!-- {name}:start/end --> markers"
    return match.group(1).strip()


def test_readme_catalogue_equals_registry():
    table = _between(README.read_text(encoding="utf-8"), "catalogue")
    assert table == R.catalogue_markdown(), (
        "README catalogue is out of date: paste the output of `python -m reference catalogue`"
    )


def test_readme_catalogue_lists_every_loss():
    table = _between(README.read_text(encoding="utf-8"), "catalogue")
    for name in R.names():
        assert f"| `{name}` |" in table
