"""Options shared by the whole test tree."""


def pytest_addoption(parser):
    group = parser.getgroup("lossconf")
    group.addoption(
        "--framework",
        default=None,
        help="framework whose adapter to test: torch, tensorflow or jax "
        "(default: $LOSSCONF_FRAMEWORK)",
    )
    group.addoption(
        "--profile",
        default=None,
        help="hypothesis profile: ci, default or thorough (default: $LOSSCONF_PROFILE or ci)",
    )
