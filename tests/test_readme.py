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


def _readme_test_command() -> list[str]:
    """The tox environments of the README's test command (the second block of "The two
    commands")."""
    section = README.read_text(encoding="utf-8").split("## The two commands", 1)[1]
    commands = re.findall(r"```sh\n(.*?)\n```", section.split("\n## ", 1)[0], re.S)
    assert len(commands) == 2, "README's 'The two commands' should hold two ```sh blocks"
    match = re.fullmatch(r"pip install tox && tox -e ([\w,-]+)", commands[1].strip())
    assert match, f"unexpected test command {commands[1]!r}"
    return match.group(1).split(",")


def test_ci_runs_the_readme_test_command():
    """.ci/run runs the README's test environments one by one (to time them): the same ones, in
    the same order, so that what CI proves is what a newcomer runs."""
    script = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"^ENVS=\(([^)]*)\)", script, re.M)
    assert match, ".ci/run lacks its ENVS=(...) line"
    assert match.group(1).split() == _readme_test_command()
    assert f"tox -e {','.join(_readme_test_command())}" in script  # and its comment says so
