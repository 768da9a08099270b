"""The Kubernetes CEL environment (toolman_kit.judge.policy.cel) and its libraries, with the
examples of the Kubernetes documentation and apiserver's library docs, errors included."""

import time

import pytest

from toolman_kit.judge.policy.cel import (
    CelCompileError,
    CelEvaluationError,
    compile_expression,
    evaluate,
    libraries,
)

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "app", "image": "registry.example.com/web:1.2"},
        {"name": "proxy", "image": "docker.io/envoy:1.30"}]}}},
}


def run(expression, obj=None, kube_version="1.31"):
    return evaluate(compile_expression(expression, kube_version), {"object": obj or DEPLOYMENT})


@pytest.mark.parametrize("expression, expected", [
    # standard macros and has()
    ("object.spec.template.spec.containers.all(c, c.image.contains('/'))", True),
    ("object.spec.template.spec.containers.exists(c, c.name == 'proxy')", True),
    ("object.spec.template.spec.containers.exists_one(c, c.image.startsWith('docker.io/'))", True),
    ("object.spec.template.spec.containers.map(c, c.name)", ["app", "proxy"]),
    ("object.spec.template.spec.containers.filter(c, c.name == 'app').size()", 1),
    ("has(object.spec.replicas) && !has(object.metadata.namespace)", True),
    # optional syntax, as VAPs use it
    ("object.?metadata.labels.team.orValue('none')", "none"),
    ("object.?metadata.labels.app.orValue('none')", "web"),
    ("object.?spec.replicas.hasValue()", True),
    # the strings extension (version 2)
    ("'TacoCat'.lowerAscii()", "tacocat"),
    ("'a,b,c'.split(',')", ["a", "b", "c"]),
    ("['a', 'b'].join('-')", "a-b"),
    ("'hello mellow'.lastIndexOf('ello')", 7),
    ("' trim '.trim()", "trim"),
    ("'%s has %d replicas'.format([object.metadata.name, object.spec.replicas])",
     "web has 3 replicas"),
    # regex: matches is standard CEL, find and findAll the Kubernetes library
    ("object.metadata.name.matches('^[a-z]+$')", True),
])
def test_the_standard_environment(expression, expected):
    assert run(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    # apiserver library/lists.go, as the Kubernetes CEL page lists them
    ("[1, 2, 3].isSorted()", True),
    ("['a', 'b', 'b', 'c'].isSorted()", True),
    ("[2.0, 1.0].isSorted()", False),
    ("[1].isSorted()", True),
    ("[].isSorted()", True),
    ("[1, 3].sum()", 4),
    ("[1.0, 3.0].sum()", 4.0),
    ("[].sum()", 0),
    ("[1, 2, 3].sum() == 6", True),
    ("[1, 3].min()", 1),
    ("[1].min()", 1),
    ("[1, 3].max()", 3),
    ("['b', 'a'].max()", "b"),
    ("[1, 2, 3].max() == 3", True),
    ("([0] + object.spec.template.spec.containers.map(c, 1)).min()", 0),
])
def test_the_lists_library(expression, expected):
    assert run(expression) == expected


@pytest.mark.parametrize("expression, error", [
    ("[].min()", "min called on an empty list"),
    ("[].max()", "max called on an empty list"),
    ("object.spec.template.spec.containers.map(c, c.name).sum()", "other than numbers"),
    ("[1, 'a'].max()", "mixes types"),
])
def test_the_lists_library_errors(expression, error):
    with pytest.raises(CelEvaluationError, match=error):
        run(expression)


@pytest.mark.parametrize("expression", ["['a', 'b'].sum()", "[[1], [2]].sum()", "[{}].min()"])
def test_lists_of_the_wrong_type_do_not_compile(expression):
    with pytest.raises(CelCompileError, match="no matching overload"):
        compile_expression(expression, "1.31")


@pytest.mark.parametrize("expression, expected", [
    # apiserver library/regex.go
    ("'abc 123'.find('[0-9]+')", "123"),
    ("'abc 123'.find('xyz')", ""),
    ("'123 abc 456'.findAll('[0-9]+')", ["123", "456"]),
    ("'123 abc 456'.findAll('[0-9]+', 1)", ["123"]),
    ("'123 abc 456'.findAll('[0-9]+', 0)", []),
    ("'123 abc 456'.findAll('[0-9]+', -1)", ["123", "456"]),
    ("'123 abc 456'.findAll('xyz')", []),
    ("object.spec.template.spec.containers[0].image.find('^[^/]+')", "registry.example.com"),
])
def test_the_regex_library(expression, expected):
    assert run(expression) == expected


def test_an_invalid_regex_is_an_error_in_one_line(capfd):
    with pytest.raises(CelEvaluationError, match=r"invalid regex '\(': missing \)") as caught:
        run("'abc'.find('(')")
    assert "\n" not in str(caught.value)
    assert capfd.readouterr().err == ""  # RE2 logs nothing of its own


def test_regex_is_linear_time():
    # (a+)+$ backtracks exponentially in Python's re; RE2 does not
    started = time.perf_counter()
    assert evaluate(compile_expression("object.find('(a+)+$')", "1.31"),
                    {"object": "a" * 5000 + "!"}) == ""
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("expression, line, column, reason", [
    ("object.spec.replicas >", 1, 23, "Syntax error"),
    ("object.spec.replicas > 1 &&\n  nope(object)", 2, 7, "undeclared reference to 'nope'"),
    ("['a'].sum()", 1, 10, "no matching overload for 'sum'"),
])
def test_a_compile_error_carries_the_expression_and_the_column(expression, line, column, reason):
    with pytest.raises(CelCompileError) as caught:
        compile_expression(expression, "1.31")
    error = caught.value
    assert (error.expression, error.line, error.column) == (expression, line, column)
    assert reason in error.reason and repr(expression) in str(error)
    assert "INVALID_ARGUMENT" not in str(error)


def test_the_kube_version_decides_what_exists():
    assert libraries("1.25") == ["lists", "regex", "urls"]
    # optional types from 1.28; the strings extension's format/join from 1.29 (version 2)
    with pytest.raises(CelCompileError, match=r"unsupported syntax '\.\?'"):
        compile_expression("object.?metadata.orValue({})", "1.27")
    compile_expression("object.?metadata.orValue({})", "1.28")
    with pytest.raises(CelCompileError, match="undeclared reference to 'join'"):
        compile_expression("['a'].join('-')", "1.28")
    assert run("['a', 'b'].join('-')", kube_version="v1.29.3") == "a-b"
    with pytest.raises(ValueError, match="not a Kubernetes version"):
        libraries("latest")
    with pytest.raises(ValueError, match="predates"):
        libraries("1.22")


@pytest.mark.parametrize("expression, error", [
    ("object.metadata.namespace == 'prod'", "no such key|Key not found"),
    ("object.spec.replicas / 0 > 1", "divide by zero"),
    ("object.spec.replicas > 'two'", "No matching overloads"),
])
def test_error_values_become_errors(expression, error):
    with pytest.raises(CelEvaluationError, match=error):
        run(expression)


def test_a_runaway_expression_stops_with_a_clear_error():
    huge = {"items": list(range(3000))}
    started = time.perf_counter()
    with pytest.raises(CelEvaluationError, match="more than 10,000 iterations"):
        run("object.items.all(x, object.items.all(y, x != y || x == y))", huge)
    assert time.perf_counter() - started < 1
    # within the budget, it is evaluated
    assert run("object.items.all(x, x >= 0)", huge) is True
