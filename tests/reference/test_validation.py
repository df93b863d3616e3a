"""Input validation: every enforced rule raises InvalidInput with a one-line message that names the
loss, the argument, the rule and the offending value; valid inputs never raise.

Messages are checked as whole strings where the rule is fixed text, so a message that loses the
loss name, the argument, the rule or the value fails here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference as R
from cases.sampling import sample_arrays
from reference import shapes
from reference.errors import describe_value


def invalid(name, arrays, params=None) -> R.InvalidInput:
    """The InvalidInput that evaluating ``name`` raises (the test fails if it does not)."""
    with pytest.raises(R.InvalidInput) as info:
        R.evaluate(name, arrays, params or {})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: ")
    assert info.value.loss == name
    return info.value


def valid_arrays(name, config=None, layout_index=-1, seed=0):
    """Valid arrays for ``name`` (default configuration unless given), batched layout."""
    spec = R.get(name)
    config = config or next(iter(R.all_configs(spec)))
    params, _ = R.split(spec, config)
    layouts = shapes.layouts_for(spec.layouts, {**spec.defaults(), **params})
    rng = np.random.default_rng(seed)
    return sample_arrays(spec, config, rng, layout=layouts[layout_index]), params


def _losses_with_domain(domain_name):
    """(loss, argument, configuration) for every argument that can take domain ``domain_name``,
    with the first configuration where it does."""
    out = []
    for name in R.names():
        spec = R.get(name)
        for a in spec.arrays:
            for config in R.all_configs(spec):
                params, present = R.split(spec, config)
                in_call = not a.optional or a.name in present
                if in_call and a.domain_for({**spec.defaults(), **params}).name == domain_name:
                    out.append(pytest.param(name, a.name, config, id=f"{name}-{a.name}"))
                    break
    return out


# --- class indices -----------------------------------------------------------------------------

CLASS_RULE = "must be a class index in [0, C), or equal ignore_index (C={C}) (ignore_index={ig})"


@pytest.mark.parametrize("name, arg, config", _losses_with_domain("class index"))
@pytest.mark.parametrize("where", ["C", "-1"])
def test_class_index_outside_range_names_loss_argument_rule_and_value(name, arg, config, where):
    arrays, params = valid_arrays(name, config)
    spec = R.get(name)
    full = {**spec.defaults(), **params}
    # C as the layout binds it (the input's class axis, or the rows of a sampled loss's weights)
    _, bound = shapes.match(spec.layouts, {k: np.shape(v) for k, v in arrays.items()}, full)
    n_classes = bound["C"]
    bad = n_classes if where == "C" else -1
    arrays[arg] = arrays[arg].copy()
    arrays[arg].flat[0] = bad
    err = invalid(name, arrays, params)
    rule = CLASS_RULE.format(C=n_classes, ig=params.get("ignore_index"))
    assert str(err) == f"{name}: {arg} {rule}; got [{bad}]"
    assert err.argument == arg


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_ignore_index_exempts_its_value_from_the_class_range(name):
    x = np.zeros((3, 4))
    for ignore in (-100, 4, 7):
        target = np.array([0, ignore, 3])
        R.evaluate(name, {"input": x, "target": target}, {"ignore_index": ignore})


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_ignore_index_exempts_only_its_own_value(name):
    err = invalid(
        name, {"input": np.zeros((2, 4)), "target": np.array([-100, -1])}, {"ignore_index": -100}
    )
    assert str(err) == f"{name}: target {CLASS_RULE.format(C=4, ig=-100)}; got [-1]"


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_torch_default_ignore_value_is_out_of_range_without_ignore_index(name):
    err = invalid(name, {"input": np.zeros((2, 3)), "target": np.array([0, -100])})
    assert str(err) == f"{name}: target {CLASS_RULE.format(C=3, ig=None)}; got [-100]"


@pytest.mark.parametrize("name, arg, config", _losses_with_domain("class index"))
def test_float_class_index_array_is_rejected(name, arg, config):
    arrays, params = valid_arrays(name, config)
    arrays[arg] = arrays[arg].astype(np.float64)
    err = invalid(name, arrays, params)
    got = describe_value(arrays[arg])
    assert str(err) == f"{name}: {arg} must hold integers (class indices); got {got}"


def test_ignore_index_with_probability_targets_is_rejected():
    x = np.zeros((2, 3))
    err = invalid(
        "cross_entropy",
        {"input": x, "target": np.full((2, 3), 1 / 3)},
        {"target_kind": "probability", "ignore_index": -100},
    )
    assert str(err) == "cross_entropy: ignore_index applies only when target_kind='index'; got -100"


def test_class_index_message_is_the_loss_own():
    """multi_margin_loss has no ignore_index parameter, yet the shared domain's rule mentions it;
    the message still names loss, argument, bound and value."""
    err = invalid("multi_margin_loss", {"input": np.zeros((2, 3)), "target": np.array([0, 3])})
    assert str(err).startswith("multi_margin_loss: target must be a class index in [0, C)")
    assert "C=3" in str(err) and str(err).endswith("got [3]")


# --- probabilities, variances, ±1 labels --------------------------------------------------------


@pytest.mark.parametrize("name, arg, config", _losses_with_domain("probability"))
@pytest.mark.parametrize(
    "bad", [-0.1, 1.1, math.nan, -math.inf], ids=["-0.1", "1.1", "nan", "-inf"]
)
def test_probability_outside_unit_interval_is_rejected(name, arg, config, bad):
    arrays, params = valid_arrays(name, config)
    arrays[arg] = arrays[arg].copy()
    arrays[arg].flat[-1] = bad
    err = invalid(name, arrays, params)
    assert str(err) == f"{name}: {arg} must be a probability in [0, 1]; got [{bad!r}]"


@pytest.mark.parametrize("name, arg, config", _losses_with_domain("probability"))
def test_probability_bounds_themselves_are_valid(name, arg, config):
    arrays, params = valid_arrays(name, config)
    arrays[arg] = arrays[arg].copy()
    arrays[arg].flat[0], arrays[arg].flat[-1] = 0.0, 1.0
    R.validate(name, arrays, params)


@pytest.mark.parametrize("bad", [-1e-3, -math.inf, math.nan], ids=["-1e-3", "-inf", "nan"])
def test_negative_variance_is_rejected(bad):
    arrays, params = valid_arrays("gaussian_nll_loss")
    arrays["var"] = arrays["var"].copy()
    arrays["var"].flat[0] = bad
    err = invalid("gaussian_nll_loss", arrays, params)
    assert str(err) == f"gaussian_nll_loss: var must be a variance ≥ 0; got [{bad!r}]"


def test_zero_variance_is_valid():
    arrays, params = valid_arrays("gaussian_nll_loss")
    arrays["var"] = np.zeros_like(arrays["var"])
    R.validate("gaussian_nll_loss", arrays, params)


@pytest.mark.parametrize("name, arg, config", _losses_with_domain("±1 label"))
@pytest.mark.parametrize("bad", [0.0, 2.0, -2.0, 0.5, math.nan], ids=str)
def test_sign_label_other_than_plus_minus_one_is_rejected(name, arg, config, bad):
    arrays, params = valid_arrays(name, config)
    arrays[arg] = np.asarray(arrays[arg]).copy()
    arrays[arg].flat[0] = bad
    err = invalid(name, arrays, params)
    assert str(err) == f"{name}: {arg} must be a label in {{-1, 1}}; got [{bad!r}]"


def test_long_offending_value_is_abbreviated():
    x = np.full(10, 2.0)
    err = invalid("binary_cross_entropy", {"input": x, "target": np.zeros(10)})
    assert str(err) == (
        "binary_cross_entropy: input must be a probability in [0, 1]; "
        "got [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, … (10 values)]"
    )


# --- shapes ------------------------------------------------------------------------------------


def _grow_trailing(arrays, name):
    out = dict(arrays)
    out[name] = np.repeat(np.asarray(arrays[name])[..., None], 5, axis=-1)
    return out


def _grow_leading(arrays, name, axis=0):
    out = dict(arrays)
    x = np.asarray(arrays[name])
    out[name] = np.concatenate([x, np.take(x, [0], axis=axis)], axis=axis)
    return out


def _batch_axis(spec, name, ndim) -> int:
    """Where the first argument carries the batch N (0, or 1 in ctc_loss's time-major input)."""
    for layout in spec.layouts:
        shape = layout.shapes.get(name, ())
        if len(shape) == ndim and "N" in shape:
            return shape.index("N")
    return 0


@pytest.mark.parametrize("name", R.names())
@pytest.mark.parametrize(
    "mutate", [_grow_trailing, _grow_leading], ids=["extra-trailing-axis", "one-more-item"]
)
def test_shape_no_layout_allows_is_rejected_with_the_shapes_and_layouts(name, mutate):
    spec = R.get(name)
    arrays, params = valid_arrays(name)
    if len(arrays) == 1:
        # a lone array (l2_loss without its optional target) fits a layout in any shape of its
        # ranks: grow it beside the optional arrays instead
        config = next(c for c in R.all_configs(spec) if all(c[k] for k in spec.optional_arrays))
        arrays, params = valid_arrays(name, config)
    first = spec.arrays[0].name
    if mutate is _grow_leading:
        bad = mutate(arrays, first, _batch_axis(spec, first, np.ndim(arrays[first])))
    else:
        bad = mutate(arrays, first)
    err = invalid(name, bad, params)
    given_shapes = ", ".join(f"{k} {tuple(np.shape(v))}" for k, v in bad.items())
    allowed = shapes.describe(spec.layouts, {**spec.defaults(), **params})
    assert str(err) == f"{name}: shapes {given_shapes} fit no allowed layout ({allowed})"
    assert err.argument == "shapes"


# --- parameters --------------------------------------------------------------------------------

# Values that break each declared rule (keyed by the rule's text, so a new rule without bad values
# fails test_every_parameter_rule_has_violating_values).
BAD_VALUES = {
    "be one of 'mean', 'none', 'sum'": ("avg", None, "MEAN", "batchmean"),
    "be one of 'mean', 'none', 'sum', 'batchmean'": ("avg", None, "Batchmean"),
    "be a real number > 0": (0.0, -1.0, math.nan, math.inf, True, "1"),
    "be a real number ≥ 0": (-1e-300, -1.0, math.nan, math.inf, None),
    "be a finite real number": (math.nan, math.inf, -math.inf, "1", None, False),
    "be a real number in [0, 1]": (-0.1, 1.5, math.nan, None),
    "be a real number in [-1, 1]": (-1.5, 1.5, math.nan),
    "be None or a real number in [0, 1]": (-0.25, 1.5, "0.25", True),
    "be 1 or 2": (3, 0, 1.5, True, "1"),
    "be a real number ≥ 1": (0.5, 0, -1.0, True, None),
    "be True or False": (1, 0, "True", None),
    "be 'index' or 'probability'": ("indices", None),
    "be 'sign' or 'binary'": ("±1", None, True),
    "be a real number in (0, 1]": (0, 0.0, 1.5, -0.5, True, None),
    "be None or an integer class value whose targets are skipped": (1.5, "-100", True),
    "be 'stirling' or 'lgamma'": ("exact", None),
    "be an integer ≥ 0 (the blank's class index)": (-1, 1.5, True, "0", None),
}


def _param_cases():
    for name in R.names():
        spec = R.get(name)
        for p in spec.params:
            for bad in BAD_VALUES.get(p.rule, ()):
                yield pytest.param(name, p.name, bad, id=f"{name}-{p.name}={bad!r}")


def test_every_parameter_rule_has_violating_values():
    rules = {p.rule for spec in R.REGISTRY.values() for p in spec.params}
    assert rules <= set(BAD_VALUES), rules - set(BAD_VALUES)


def _params_enabling(spec, param) -> dict:
    """The parameter values under which ``param`` applies (full=True for full_term)."""
    return dict(spec.param(param).applies_when)


@pytest.mark.parametrize("name, param, bad", list(_param_cases()))
def test_parameter_outside_its_rule_names_loss_parameter_rule_and_value(name, param, bad):
    spec = R.get(name)
    arrays, params = valid_arrays(name)
    params = {**params, **_params_enabling(spec, param), param: bad}
    if param == "target_kind":
        params.pop("ignore_index", None)
    err = invalid(name, arrays, params)
    assert str(err) == f"{name}: {param} must {spec.param(param).rule}; got {bad!r}"
    assert err.argument == param


@pytest.mark.parametrize(
    "name, param, value, rule",
    [
        ("huber_loss", "delta", 0.0, "be a real number > 0"),
        ("huber_loss", "delta", -0.5, "be a real number > 0"),
        ("cross_entropy", "label_smoothing", 1.0 + 2**-52, "be a real number in [0, 1]"),
        ("multi_margin_loss", "p", 3, "be 1 or 2"),
        ("sigmoid_focal_loss", "alpha", 1.0 + 2**-52, "be None or a real number in [0, 1]"),
    ],
)
def test_named_parameter_rules_from_the_brief(name, param, value, rule):
    arrays, params = valid_arrays(name)
    err = invalid(name, arrays, {**params, param: value})
    assert str(err) == f"{name}: {param} must {rule}; got {value!r}"


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_label_smoothing_and_alpha_bounds_are_valid(value):
    arrays, params = valid_arrays("cross_entropy")
    R.validate("cross_entropy", arrays, {**params, "label_smoothing": value})
    arrays, params = valid_arrays("sigmoid_focal_loss")
    R.validate("sigmoid_focal_loss", arrays, {**params, "alpha": value})


@pytest.mark.parametrize("name", R.names())
def test_unknown_reduction_is_rejected(name):
    arrays, _ = valid_arrays(name)
    spec = R.get(name)
    err = invalid(name, arrays, {"reduction": "avg"})
    assert str(err) == f"{name}: reduction must {spec.param('reduction').rule}; got 'avg'"


@pytest.mark.parametrize("name", R.names())
def test_unknown_parameter_is_rejected_with_the_known_ones(name):
    arrays, params = valid_arrays(name)
    known = ", ".join(sorted(p.name for p in R.get(name).params))
    err = invalid(name, arrays, {**params, "size_average": True})
    assert str(err) == (
        f"{name}: parameter 'size_average' is not a parameter of {name} (known: {known})"
    )


def test_reference_only_parameter_outside_its_condition_is_rejected():
    arrays, _ = valid_arrays("poisson_nll_loss")
    err = invalid("poisson_nll_loss", arrays, {"full_term": "lgamma"})
    assert str(err) == "poisson_nll_loss: full_term applies only when full=True; got 'lgamma'"


# --- arguments ---------------------------------------------------------------------------------


def _required():
    for name in R.names():
        for arg in R.get(name).required_arrays:
            yield pytest.param(name, arg, id=f"{name}-{arg}")


@pytest.mark.parametrize("name, arg", list(_required()))
@pytest.mark.parametrize("how", ["absent", "None"])
def test_missing_required_argument_is_rejected(name, arg, how):
    arrays, params = valid_arrays(name)
    if how == "absent":
        del arrays[arg]
    else:
        arrays[arg] = None
    err = invalid(name, arrays, params)
    assert str(err) == f"{name}: {arg} is required"


@pytest.mark.parametrize("name", R.names())
def test_unknown_argument_is_rejected_with_the_known_ones(name):
    arrays, params = valid_arrays(name)
    known = ", ".join(a.name for a in R.get(name).arrays)
    err = invalid(name, {**arrays, "no_such_argument": np.zeros(2)}, params)
    assert str(err) == (
        f"{name}: argument 'no_such_argument' is not an argument of {name} (known: {known})"
    )


@pytest.mark.parametrize("dtype", ["U1", "complex128", "bool"])
def test_non_real_array_is_rejected(dtype):
    x = np.zeros(3).astype(dtype)
    err = invalid("mse_loss", {"input": x, "target": np.zeros(3)})
    assert str(err) == f"mse_loss: input must hold real numbers; got {describe_value(x)}"


def test_integer_array_for_a_real_argument_is_accepted_as_float():
    value = R.evaluate("mse_loss", {"input": np.arange(3), "target": np.zeros(3)}, {})
    assert value == 5.0 / 3.0


def test_missing_cotangent_for_none_is_a_value_error():
    arrays, _ = valid_arrays("mse_loss")
    with pytest.raises(ValueError, match="reduction 'none' needs a cotangent"):
        R.value_and_vjp("mse_loss", arrays, {"reduction": "none"})


def test_cotangent_of_the_wrong_shape_is_a_value_error():
    arrays = {"input": np.zeros(3), "target": np.zeros(3)}
    with pytest.raises(ValueError, match=r"cotangent shape \(2,\) != loss shape \(3,\)"):
        R.value_and_vjp("mse_loss", arrays, {"reduction": "none"}, np.zeros(2))


# --- valid inputs never raise ------------------------------------------------------------------


@pytest.mark.parametrize("name", R.names())
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_valid_inputs_never_raise(name, data):
    spec = R.get(name)
    configs = list(R.all_configs(spec, reference_only=True))
    config = data.draw(st.sampled_from(configs), label="config")
    params, _ = R.split(spec, config)
    layout = data.draw(
        st.sampled_from(shapes.layouts_for(spec.layouts, {**spec.defaults(), **params})),
        label="layout",
    )
    sizes = {k: data.draw(st.integers(1, 4), label=k) for k in ("N", "C", "D", "E", "d1", "d2")}
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    scale = data.draw(st.sampled_from((0.01, 1.0, 100.0)), label="scale")
    arrays = sample_arrays(
        spec, config, np.random.default_rng(seed), layout=layout, sizes=sizes, scale=scale
    )
    checked, full, _ = R.validate(name, arrays, params)
    assert set(checked) == set(arrays)
    cotangent = None
    if full["reduction"] == "none":
        cotangent = np.ones(np.shape(R.evaluate(name, arrays, params)))
    R.value_and_vjp(name, arrays, params, cotangent)


# --- the rest of the reference's surface: registry, command line, specs, dtypes, cases ----------


def test_command_line_catalogue_prints_the_markdown_table(capsys):
    from reference.__main__ import main

    assert main(["catalogue"]) == 0
    out = capsys.readouterr().out
    assert out == R.catalogue_markdown() + "\n"
    assert len(out.splitlines()) == 2 + len(R.names())


def test_command_line_show_describes_one_loss(capsys):
    from reference.__main__ import main

    assert main(["show", "huber_loss"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("huber_loss (regression): quadratic within δ, linear beyond\n")
    assert "  delta = 1.0: must be a real number > 0; tested at (1.0, 0.5)" in out
    assert "  input: prediction; domain real" in out
    assert "layouts: scalar: input (), target ();" in out


def test_command_line_show_of_an_unknown_loss_exits_2_naming_the_known_ones(capsys):
    from reference.__main__ import main

    assert main(["show", "msee_loss"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m reference show: unknown loss 'msee_loss'; known: ")
    assert "mse_loss" in err


def test_python_dash_m_reference_runs():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "reference", "show", "kl_div"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("kl_div (distribution):")


def test_catalogue_marks_optional_arguments_and_parameter_dependent_domains():
    rows = {row.split(" | ")[0].strip("| `"): row for row in R.catalogue_markdown().splitlines()}
    assert "`weight`? (weight)" in rows["cross_entropy"]
    assert "`target` (class index/probability)" in rows["cross_entropy"]
    assert "`ignore_index`=None" in rows["cross_entropy"]
    assert "full_term" not in rows["poisson_nll_loss"]  # reference-only, no framework has it
    assert rows["mse_loss"].endswith("| — | mean, none, sum |")


def test_registry_refuses_a_loss_declared_twice(monkeypatch):
    from reference import registry

    monkeypatch.setattr(registry, "FAMILIES", ("regression", "regression"))
    with pytest.raises(RuntimeError, match="loss 'mse_loss' is declared twice"):
        registry._collect()


def test_registry_refuses_a_loss_in_the_wrong_family_module(monkeypatch):
    import types

    from reference import registry

    stray = types.SimpleNamespace(LOSSES=(R.get("mse_loss"),))
    monkeypatch.setattr(registry, "FAMILIES", ("binary",))
    monkeypatch.setattr(registry.importlib, "import_module", lambda name: stray)
    with pytest.raises(RuntimeError, match=r"mse_loss declares family 'regression' in binary\.py"):
        registry._collect()


def test_spec_lookups_name_the_missing_parameter_or_argument():
    spec = R.get("mse_loss")
    with pytest.raises(KeyError, match="mse_loss has no parameter 'delta'"):
        spec.param("delta")
    with pytest.raises(KeyError, match="mse_loss has no array argument 'weight'"):
        spec.array("weight")
    assert str(spec.array("input").domain) == "real"


def test_parameter_check_that_raises_counts_as_a_violation():
    x = np.zeros((2, 3))
    value = np.array([1, 2])  # `value in (1, 2)` is ambiguous for an array: ValueError
    err = invalid("multi_margin_loss", {"input": x, "target": np.array([0, 1])}, {"p": value})
    assert str(err) == "multi_margin_loss: p must be 1 or 2; got [1, 2]"


def test_pos_weight_with_more_than_one_entry_for_a_batch_of_scalars_is_rejected():
    err = invalid(
        "binary_cross_entropy_with_logits",
        {"input": np.zeros(3), "target": np.zeros(3), "pos_weight": np.ones(2)},
    )
    assert err.argument == "shapes" and "pos_weight (2,) fit no allowed layout" in str(err)


def test_cross_argument_rule_is_reported_as_invalid_input(monkeypatch):
    spec = R.get("kl_div")

    def rule(a, p, bound):
        return ("target", "must sum to 1 per row", np.sum(a["target"], axis=-1))

    monkeypatch.setitem(R.REGISTRY, "kl_div", dataclasses.replace(spec, extra_check=rule))
    err = invalid("kl_div", {"input": np.zeros((1, 2)), "target": np.full((1, 2), 0.25)})
    assert str(err) == "kl_div: target must sum to 1 per row; got [0.5]"


def test_a_vjp_that_omits_an_argument_is_an_internal_error(monkeypatch):
    spec = R.get("mse_loss")
    partial = dataclasses.replace(spec, elementwise_vjp=lambda a, p, g: {"input": g})
    monkeypatch.setitem(R.REGISTRY, "mse_loss", partial)
    with pytest.raises(AssertionError, match=r"vjp returned \['input'\], expected"):
        R.value_and_vjp("mse_loss", {"input": np.zeros(2), "target": np.zeros(2)}, {})


def test_a_vjp_of_the_wrong_shape_is_an_internal_error(monkeypatch):
    spec = R.get("mse_loss")
    wrong = dataclasses.replace(spec, elementwise_vjp=lambda a, p, g: {"input": g[:1], "target": g})
    monkeypatch.setitem(R.REGISTRY, "mse_loss", wrong)
    with pytest.raises(AssertionError, match=r"gradient of input has shape \(1,\), not \(2,\)"):
        R.value_and_vjp("mse_loss", {"input": np.zeros(2), "target": np.zeros(2)}, {})


@pytest.mark.parametrize(
    "dtype, eps, tiny, subnormal",
    [
        ("float64", 2.0**-52, 2.0**-1022, 2.0**-1074),
        ("float32", 2.0**-23, 2.0**-126, 2.0**-149),
        ("float16", 2.0**-10, 2.0**-14, 2.0**-24),
        ("bfloat16", 2.0**-7, 2.0**-126, 2.0**-133),
    ],
)
def test_format_facts_match_the_formats(dtype, eps, tiny, subnormal):
    fmt = R.FORMATS[dtype]
    assert (fmt.eps, fmt.tiny, fmt.smallest_subnormal) == (eps, tiny, subnormal)
    assert R.round_to(np.array([fmt.max_value]), dtype)[0] == fmt.max_value


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_round_to_native_formats_agrees_with_numpy(dtype):
    x = np.array([1.0 / 3.0, -2.5e-5, 7e4, 1e-300])
    with np.errstate(over="ignore"):
        assert np.array_equal(R.round_to(x, dtype), x.astype(dtype).astype(np.float64))


def test_round_to_float64_returns_a_copy():
    x = np.array([1.0, 2.0])
    rounded = R.round_to(x, "float64")
    rounded[0] = 5.0
    assert x[0] == 1.0


def test_round_to_an_unknown_dtype_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown dtype 'float8'; known: float64, float32"):
        R.round_to(np.zeros(1), "float8")


def test_case_rounds_floats_to_its_dtype_and_leaves_indices_alone():
    case = R.Case(
        "cross_entropy",
        {"reduction": "none", "label_smoothing": 0.1},
        {"input": np.array([[1.0 / 3.0, 0.1]]), "target": np.array([1])},
        dtype="float16",
        cotangent=np.array([1.0 / 3.0]),
    )
    rounded = case.rounded()
    assert np.array_equal(rounded["input"], np.array([[1.0 / 3.0, 0.1]]).astype(np.float16))
    assert rounded["target"].dtype == np.int64 and np.array_equal(rounded["target"], [1])
    # derived once and shared read-only: a second call hands out the same arrays, which no
    # caller can change in place
    assert case.rounded()["input"] is rounded["input"]
    with pytest.raises(ValueError, match="read-only"):
        rounded["input"][0, 0] = 0.0
    assert case.rounded_cotangent()[0] == np.float16(1.0 / 3.0)
    assert R.config_of(case) == {
        "target_kind": "index",
        "ignore_index": None,
        "label_smoothing": 0.1,
        "reduction": "none",
        "weight": False,
    }


def test_case_without_cotangent_rounds_to_none():
    case = R.Case("mse_loss", {}, {"input": np.zeros(1), "target": np.zeros(1)})
    assert case.rounded_cotangent() is None


def test_xlogy_takes_zero_times_log_zero_as_zero():
    from reference._math import lgamma_positive, xlogy

    assert np.array_equal(xlogy(np.array([0.0, 2.0]), np.array([0.0, np.e])), [0.0, 2.0])
    assert lgamma_positive(np.array([])).shape == (0,)


def test_case_rejection_is_the_references_verdict_once():
    valid = R.Case("mse_loss", {"reduction": "mean"}, {"input": np.ones(2), "target": np.ones(2)})
    assert valid.rejection() is None
    invalid = R.Case("mse_loss", {"reduction": "mean"}, {"input": np.ones(2), "target": np.ones(3)})
    rejection = invalid.rejection()
    assert isinstance(rejection, R.InvalidInput) and invalid.rejection() is rejection
    with pytest.raises(R.InvalidInput):
        R.validate(invalid.loss, invalid.arrays, invalid.params)
