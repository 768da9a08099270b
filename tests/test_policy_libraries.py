"""The Kubernetes CEL libraries beyond lists and regex (urls, quantity, ip/cidr, format, semver,
sets, lists' indexOf): the examples of the Kubernetes CEL page and apiserver's library docs, with
their results, the error cases, and which Kubernetes version has which library."""

import pytest

from toolman_kit.judge.policy.cel import (
    CelCompileError,
    CelEvaluationError,
    compile_expression,
    evaluate,
    libraries,
    plain,
)


def run(expression, kube_version="1.33", obj=None):
    return plain(evaluate(compile_expression(expression, kube_version), {"object": obj or {}}))


def expect(cases):
    return pytest.mark.parametrize("expression, expected", cases)


@expect([
    ("url('https://example.com:80/').getHost()", "example.com:80"),
    ("url('https://example.com/').getHost()", "example.com"),
    ("url('https://[::1]:80/').getHost()", "[::1]:80"),
    ("url('https://[::1]/').getHost()", "[::1]"),
    ("url('/path').getHost()", ""),
    ("url('https://example.com:80/').getHostname()", "example.com"),
    ("url('https://127.0.0.1:80/').getHostname()", "127.0.0.1"),
    ("url('https://[::1]:80/').getHostname()", "::1"),
    ("url('/path').getHostname()", ""),
    ("url('https://example.com:80/').getPort()", "80"),
    ("url('https://example.com/').getPort()", ""),
    ("url('/path').getPort()", ""),
    ("url('https://example.com/path').getEscapedPath()", "/path"),
    ("url('https://example.com/path with spaces/').getEscapedPath()", "/path%20with%20spaces/"),
    ("url('https://example.com/').getEscapedPath()", "/"),
    ("url('https://example.com').getEscapedPath()", ""),
    ("url('https://example.com/a%2Fb').getEscapedPath()", "/a%2Fb"),
    ("url('https://example.com/path?k1=a&k2=b&k2=c').getQuery()", {"k1": ["a"], "k2": ["b", "c"]}),
    ("url('https://example.com/path?key with spaces=value with spaces').getQuery()",
     {"key with spaces": ["value with spaces"]}),
    ("url('https://example.com/path?').getQuery()", {}),
    ("url('https://example.com/path').getQuery()", {}),
    ("url('https://example.com/path?a=1;b=2&c=%zz&d=x+y%21').getQuery()", {"d": ["x y!"]}),
    ("url('HTTPS://example.com/path').getScheme()", "https"),
    ("url('/path').getScheme()", ""),
    ("url('mailto:someone@example.com').getScheme()", "mailto"),
    ("url('https://user:pw@example.com/').getHost()", "example.com"),
    ("isURL('https://example.com/')", True),
    ("isURL('/absolute-path')", True),
    ("isURL('not a url')", False),
    ("isURL('relative/path')", False),
    ("isURL('https://exa mple.com/')", False),
    ("isURL('https://example.com:8a/')", False),
    ("isURL('')", False),
    ("url('https://example.com/') == url('https://example.com/')", True),
    ("url('https://example.com/') == url('https://example.org/')", False),
    ("url('https://example.com/')", "https://example.com/"),
])
def test_urls(expression, expected):
    assert run(expression, "1.25") == expected


@pytest.mark.parametrize("expression, error", [
    ("url('not a url')", 'URL parse error during conversion from string: parse "not a url": '
                         "invalid URI for request"),
    ("url('')", "empty url"),
    ("url(':foo')", "missing protocol scheme"),
    ("url('https://[::1/')", "missing ']' in host"),
    ("url('https://example.com:8a/')", 'invalid port ":8a" after host'),
    ("url('https://exa mple.com/')", 'invalid character " " in host name'),
])
def test_url_errors(expression, error):
    with pytest.raises(CelEvaluationError, match=__import__("re").escape(error)):
        run(expression)


@expect([
    ("quantity('50k') == quantity('50000')", True),
    ("quantity('1') == quantity('1000m')", True),
    ("quantity('1Ki') == quantity('1024')", True),
    ("quantity('1') == quantity('2')", False),
    ("isQuantity('1.3G')", True),
    ("isQuantity('1.3Gi')", True),
    ("isQuantity('1,3Gi')", False),
    ("isQuantity('10000k')", True),
    ("isQuantity('200K')", False),
    ("isQuantity('Three')", False),
    ("isQuantity('Mi')", False),
    ("isQuantity(' 1')", False),
    ("isQuantity('1e3')", True),
    ("quantity('50M').sign()", 1),
    ("quantity('0').sign()", 0),
    ("quantity('-50k').sign()", -1),
    ("quantity('50k').isInteger()", True),
    ("quantity('9999999999999999999999999999999999999G').isInteger()", False),
    ("quantity('50m').isInteger()", False),
    ("quantity('50k').asInteger()", 50000),
    ("quantity('1.5Gi').asInteger()", 1610612736),
    ("quantity('50k').asApproximateFloat()", 50000.0),
    ("quantity('50m').asApproximateFloat()", 0.05),
    ("quantity('50k').add(quantity('20k')) == quantity('70k')", True),
    ("quantity('50k').add(20) == quantity('50020')", True),
    ("quantity('50k').sub(quantity('20k')) == quantity('30k')", True),
    ("quantity('50k').sub(20) == quantity('49980')", True),
    ("quantity('200M').isLessThan(quantity('100M'))", False),
    ("quantity('100M').isLessThan(quantity('200M'))", True),
    ("quantity('200M').isGreaterThan(quantity('100M'))", True),
    ("quantity('50M').compareTo(quantity('50M'))", 0),
    ("quantity('50M').compareTo(quantity('100M'))", -1),
    ("quantity('100M').compareTo(quantity('50M'))", 1),
    ("quantity('1.5Gi')", "1610612736"),
    ("quantity('0.1n') == quantity('1n')", True),  # rounded up to a nano, as ParseQuantity does
    ("quantity('1e60').add(1).sub(quantity('1e60'))", "1"),  # exact beyond 28 digits
])
def test_quantity(expression, expected):
    assert run(expression, "1.29") == expected


@pytest.mark.parametrize("expression, error", [
    ("quantity('1m').asInteger()", "cannot convert value to integer"),
    ("quantity('9999999999999999999999999999999999999G').asInteger()", "cannot convert"),
    ("quantity('200K')", "quantities must match the regular expression"),
    ("quantity('1').isLessThan(semver('1.0.0'))", "no such overload"),
    ("quantity('1').getHost()", "no such overload"),
    ("object.sign()", "no such overload"),
    ("{'a': 1}.sign()", "no such overload"),
])
def test_quantity_errors(expression, error):
    with pytest.raises(CelEvaluationError, match=error):
        run(expression, obj={"kubernetes.Quantity": "1"})


@pytest.mark.parametrize("expression", ["'1'.sign()", "quantity(1)", "quantity('1').add('1')"])
def test_quantity_type_errors_do_not_compile(expression):
    with pytest.raises(CelCompileError, match="no matching overload"):
        compile_expression(expression, "1.33")


@expect([
    ("isIP('127.0.0.1')", True),
    ("isIP('::1')", True),
    ("isIP('127.0.0.256')", False),
    ("isIP(':::1')", False),
    ("isIP('::ffff:1.2.3.4')", False),
    ("isIP('fe80::1%eth0')", False),
    ("isIP('127.0.0.01')", False),
    ("ip('127.0.0.1').family()", 4),
    ("ip('::1').family()", 6),
    ("ip('0.0.0.0').isUnspecified()", True),
    ("ip('127.0.0.1').isUnspecified()", False),
    ("ip('::').isUnspecified()", True),
    ("ip('127.0.0.1').isLoopback()", True),
    ("ip('192.168.0.1').isLoopback()", False),
    ("ip('::1').isLoopback()", True),
    ("ip('224.0.0.1').isLinkLocalMulticast()", True),
    ("ip('224.0.1.1').isLinkLocalMulticast()", False),
    ("ip('ff02::1').isLinkLocalMulticast()", True),
    ("ip('fd00::1').isLinkLocalMulticast()", False),
    ("ip('169.254.169.254').isLinkLocalUnicast()", True),
    ("ip('192.168.0.1').isLinkLocalUnicast()", False),
    ("ip('fe80::1').isLinkLocalUnicast()", True),
    ("ip('fd80::1').isLinkLocalUnicast()", False),
    ("ip('192.168.0.1').isGlobalUnicast()", True),
    ("ip('255.255.255.255').isGlobalUnicast()", False),
    ("ip('2001:db8::abcd').isGlobalUnicast()", True),
    ("ip('ff00::1').isGlobalUnicast()", False),
    ("ip.isCanonical('127.0.0.1')", True),
    ("ip.isCanonical('2001:db8::abcd')", True),
    ("ip.isCanonical('2001:DB8::ABCD')", False),
    ("ip.isCanonical('2001:db8::0:0:0:abcd')", False),
    ("ip('2001:db8::0:0:0:abcd') == ip('2001:db8::abcd')", True),
    ("ip('127.0.0.1') == ip('127.0.0.2')", False),
    ("string(ip('2001:DB8::ABCD'))", "2001:db8::abcd"),
    ("string(ip('127.0.0.1')) == '127.0.0.1'", True),
    ("string(1)", "1"),
    ("isCIDR('192.168.0.0/24')", True),
    ("isCIDR('192.168.0.0')", False),
    ("isCIDR('192.168.0.0/33')", False),
    ("isCIDR('192.168.0.0/024')", False),
    ("isCIDR('192.168.0.0/255.255.255.0')", False),
    ("isCIDR('::ffff:1.2.3.0/120')", False),
    ("cidr('192.168.0.0/24').containsIP(ip('192.168.0.1'))", True),
    ("cidr('192.168.0.0/24').containsIP(ip('192.168.1.1'))", False),
    ("cidr('192.168.0.0/24').containsIP('192.168.0.1')", True),
    ("cidr('192.168.0.0/24').containsIP('::1')", False),
    ("cidr('2001:db8::/32').containsIP('2001:db8::1')", True),
    ("cidr('192.168.0.0/24').containsCIDR(cidr('192.168.0.0/25'))", True),
    ("cidr('192.168.0.0/24').containsCIDR('192.168.0.128/25')", True),
    ("cidr('192.168.0.0/24').containsCIDR('192.168.0.0/23')", False),
    ("cidr('192.168.0.0/24').containsCIDR('10.0.0.0/25')", False),
    ("cidr('192.168.0.0/24').ip() == ip('192.168.0.0')", True),
    ("cidr('192.168.0.1/24').ip() == ip('192.168.0.1')", True),
    ("cidr('192.168.0.1/24').ip().family()", 4),
    ("cidr('192.168.0.1/24').masked() == cidr('192.168.0.0/24')", True),
    ("cidr('192.168.0.0/24').masked() == cidr('192.168.0.0/24')", True),
    ("cidr('192.168.0.0/24').prefixLength()", 24),
    ("cidr('::1/128').prefixLength()", 128),
    ("string(cidr('192.168.0.1/24'))", "192.168.0.1/24"),
    ("string(cidr('2001:DB8::/32'))", "2001:db8::/32"),
    ("cidr('10.0.0.0/8')", "10.0.0.0/8"),
])
def test_ip_and_cidr(expression, expected):
    assert run(expression, "1.30") == expected


@pytest.mark.parametrize("expression, error", [
    ("ip('::ffff:1.2.3.4')", 'IPv4-mapped IPv6 address "::ffff:1.2.3.4" is not allowed'),
    ("ip('fe80::1%eth0')", "with zone value is not allowed"),
    ("ip('1.2.3')", 'IP Address "1.2.3" parse error during conversion from string'),
    ("ip.isCanonical('nope')", "parse error"),
    ("cidr('192.168.0.0')", "network address parse error"),
    ("cidr('fe80::/10%eth0')", "bad bits after slash"),
    ("cidr('fe80::%eth0/10')", "IPv6 zones cannot be present in a prefix"),
    ("cidr('::ffff:1.2.3.0/120')", "IPv4-mapped IPv6 address"),
    ("cidr('10.0.0.0/8').containsIP('10.0.0.x')", "parse error"),
    ("string(url('https://a/'))", "no such overload"),
    ("string({'a': 1})", "no such overload"),
    ("ip('1.2.3.4').prefixLength()", "no such overload"),
])
def test_ip_and_cidr_errors(expression, error):
    with pytest.raises(CelEvaluationError, match=__import__("re").escape(error)):
        run(expression)


def test_a_string_is_not_an_ip():
    with pytest.raises(CelCompileError, match="no matching overload for 'family'"):
        compile_expression("'1.2.3.4'.family()", "1.33")


LABEL_ERROR = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
               "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
               "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


@expect([
    ("format.dns1123Label().validate('my-name').hasValue()", False),
    ("format.dns1123Label().validate('my-name')", None),
    ("format.dns1123Label().validate('My-Name').value()", [LABEL_ERROR]),
    ("format.dns1123Label().validate('a') == format.dns1123Label().validate('b')", True),
    ("format.named('dns1123Label').value().validate('-x').value() == "
     "format.dns1123Label().validate('-x').value()", True),
    ("format.named('nope').hasValue()", False),
    ("format.dns1123Subdomain().validate('example.com').hasValue()", False),
    ("format.dns1123Subdomain().validate('Example.com').value()[0]",
     "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
     "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
     "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    ("format.dns1035Label().validate('my-name').hasValue()", False),
    ("format.dns1035Label().validate('1abc').hasValue()", True),
    ("format.dns1123Label().validate('%s')" % ("a" * 63), None),
    ("format.dns1123Label().validate('%s').value()" % ("a" * 64),
     ["must be no more than 63 characters"]),
    ("format.qualifiedName().validate('example.com/MyName').hasValue()", False),
    ("format.qualifiedName().validate('MyName').hasValue()", False),
    ("format.qualifiedName().validate('/MyName').value()", ["prefix part must be non-empty"]),
    ("format.qualifiedName().validate('a/b/c').value().size()", 1),
    ("format.qualifiedName().validate('Example.com/-x').value().size()", 2),
    ("format.dns1123LabelPrefix().validate('my-name-').hasValue()", False),
    ("format.dns1123Label().validate('my-name-').hasValue()", True),
    ("format.dns1123SubdomainPrefix().validate('example.com-').hasValue()", False),
    ("format.dns1035LabelPrefix().validate('my-name-').hasValue()", False),
    ("format.labelValue().validate('').hasValue()", False),
    ("format.labelValue().validate('my_value').hasValue()", False),
    ("format.labelValue().validate('-bad').hasValue()", True),
    ("format.uri().validate('http://example.com').hasValue()", False),
    ("format.uri().validate('example').value()",
     ['Invalid URI: parse "example": invalid URI for request']),
    ("format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue()", False),
    ("format.uuid().validate('123e4567').value()", ["does not match the UUID format"]),
    ("format.byte().validate('aGVsbG8=').hasValue()", False),
    ("format.byte().validate('aGVsbG8').value()", ["invalid base64"]),
    ("format.date().validate('2021-01-01').hasValue()", False),
    ("format.date().validate('2021-02-30').value()", ["invalid date"]),
    ("format.datetime().validate('2021-01-01T00:00:00Z').hasValue()", False),
    ("format.datetime().validate('2021-01-01T00:00:00.123+02:00').hasValue()", False),
    ("format.datetime().validate('2021-01-01').value()", ["invalid datetime"]),
])
def test_format(expression, expected):
    assert run(expression, "1.31") == expected


def test_format_errors():
    with pytest.raises(CelEvaluationError, match=r"optional.none\(\) dereference"):
        run("format.named('nope').value()")
    with pytest.raises(CelEvaluationError, match="no such overload"):
        run("quantity('1').validate('x')")
    # orValue is cel-cpp's own step, for its optionals only (formats.py)
    with pytest.raises(CelEvaluationError, match="No matching overloads"):
        run("format.dns1123Label().validate('x').orValue([])")
    # CEL's own optionals are untouched
    assert run("object.?spec.replicas.orValue(1)") == 1


def test_format_optionals_what_works_and_what_cannot():
    """formats.py: optMap (a macro over hasValue() and value()) works on a format's optional and
    gives a CEL optional; or/orValue cannot (cel-cpp's own step), `== optional.none()` is false."""
    assert run("format.named('dns1123Label').optMap(f, f.validate('A').hasValue())"
               ".orValue(false)", "1.31") is True
    assert run("format.named('nope').optMap(f, f.validate('A').hasValue()).hasValue()",
               "1.31") is False
    assert run("format.named('nope').optMap(f, 1).orValue(2)", "1.31") == 2
    with pytest.raises(CelEvaluationError, match="No matching overloads found : or"):
        run("format.named('nope').or(optional.of(format.dns1123Label())).hasValue()", "1.31")
    assert run("format.named('nope') == optional.none()", "1.31") is False  # the deviation


def test_a_python_function_cannot_return_a_cel_optional():
    """Why the format library's optionals are library values: declared as the abstract type
    optional_type<dyn>, a function's result is not CEL's optional_type(T) to the type-checker."""
    from cel_expr_python import cel as engine
    from cel_expr_python.ext import ext_optional

    optional = engine.Type.AbstractType("optional_type", [engine.Type.DYN])
    env = engine.NewEnv(variables={}, extensions=[ext_optional.ExtOptional()], functions=[
        engine.FunctionDecl("maybe", [engine.Overload("maybe_int", optional, [engine.Type.INT],
                                                      impl=lambda i: i)])])
    with pytest.raises(RuntimeError, match="no matching overload for 'orValue'"):
        env.compile("maybe(1).orValue(2)")


@expect([
    ("isSemver('1.0.0')", True),
    ("isSemver('1.0.0-alpha.1+build.5')", True),
    ("isSemver('hello')", False),
    ("isSemver('v1.0.0')", False),
    ("isSemver('1.0')", False),
    ("isSemver('01.0.0')", False),
    ("isSemver('1.0.0-01')", False),
    ("isSemver('v1.0.0', true)", True),
    ("isSemver('v1.0', true)", True),
    ("isSemver('v01.02', true)", True),
    ("isSemver('1.2.3.4', true)", False),
    ("isSemver('v1.0.0', false)", False),
    ("semver('1.2.3').major()", 1),
    ("semver('1.2.3').minor()", 2),
    ("semver('1.2.3-rc.1').patch()", 3),
    ("semver('v1.2', true).patch()", 0),
    ("semver('1.2.3').isLessThan(semver('1.3.0'))", True),
    ("semver('1.0.0-alpha').isLessThan(semver('1.0.0'))", True),
    ("semver('1.0.0-alpha.2').isLessThan(semver('1.0.0-alpha.10'))", True),
    ("semver('1.0.0-alpha').isLessThan(semver('1.0.0-alpha.1'))", True),
    ("semver('1.0.0-1').isLessThan(semver('1.0.0-a'))", True),
    ("semver('2.0.0').isGreaterThan(semver('1.9.9'))", True),
    ("semver('1.0.0').compareTo(semver('1.0.0'))", 0),
    ("semver('1.0.0').compareTo(semver('2.0.0'))", -1),
    ("semver('2.0.0').compareTo(semver('1.0.0'))", 1),
    ("semver('1.0.0+build.1') == semver('1.0.0')", True),
    ("semver('1.0.0-rc.1') == semver('1.0.0')", False),
    ("semver('v1.0', true) == semver('1.0.0')", True),
])
def test_semver(expression, expected):
    assert run(expression, "1.33") == expected


def test_semver_errors():
    with pytest.raises(CelEvaluationError, match="invalid semver: v1.0.0"):
        run("semver('v1.0.0')")
    with pytest.raises(CelEvaluationError, match="no such overload"):
        run("semver('1.0.0').compareTo(quantity('1'))")


@expect([
    ("sets.contains([], [])", True),
    ("sets.contains([1], [])", True),
    ("sets.contains([1, 2, 3, 4], [2, 3])", True),
    ("sets.contains([1, 2.0, 3u], [1.0, 2u, 3])", True),
    ("sets.contains([[1], [2, 3]], [[2, 3.0]])", True),
    ("sets.contains([1], [true])", False),
    ("sets.contains([{'a': 1}], [{'a': 1.0}])", True),
    ("sets.equivalent([], [])", True),
    ("sets.equivalent([1], [1, 1])", True),
    ("sets.equivalent([1], [1u, 1.0])", True),
    ("sets.equivalent([1, 2, 3], [3u, 2.0, 1])", True),
    ("sets.equivalent([1, 2], [2, 2, 2])", False),
    ("sets.intersects([1], [])", False),
    ("sets.intersects([1], [1, 2])", True),
    ("sets.intersects([[1], [2, 3]], [[1, 2], [2, 3.0]])", True),
    ("sets.intersects(['a'], ['b'])", False),
])
def test_sets(expression, expected):
    assert run(expression, "1.29") == expected


@expect([
    ("[1, 2, 3, 2].indexOf(2)", 1),
    ("[1, 2, 3, 2].lastIndexOf(2)", 3),
    ("[1, 2, 3].indexOf(4)", -1),
    ("[].lastIndexOf(1)", -1),
    ("[1.0, 2.0].indexOf(2)", 1),
    ("[[1], [2]].indexOf([2])", 1),
    ("['a', 'b'].indexOf('b')", 1),
    # the strings extension's own overloads still there
    ("'hello mellow'.indexOf('ello')", 1),
    ("'hello mellow'.lastIndexOf('ello')", 7),
])
def test_lists_index_of(expression, expected):
    assert run(expression, "1.25") == expected


@pytest.mark.parametrize("expression, since", [
    ("url('https://a/').getHost()", "1.25"),
    ("quantity('1').sign()", "1.29"),
    ("sets.contains([1], [1])", "1.29"),
    ("ip('1.2.3.4').family()", "1.30"),
    ("cidr('10.0.0.0/8').prefixLength()", "1.30"),
    ("format.dns1123Label().validate('a').hasValue()", "1.31"),
    ("semver('1.0.0').major()", "1.33"),
])
def test_a_library_exists_from_its_kubernetes_version(expression, since):
    major, minor = since.split(".")
    compile_expression(expression, since)
    if since != "1.25":
        with pytest.raises(CelCompileError, match="undeclared reference|no matching overload"):
            compile_expression(expression, f"{major}.{int(minor) - 1}")


def test_the_libraries_by_version():
    assert libraries("1.28") == ["lists", "regex", "urls"]
    assert libraries("1.30") == ["lists", "regex", "urls", "quantity", "sets", "net"]
    assert libraries("1.36") == [
        "lists", "regex", "urls", "quantity", "sets", "net", "format", "semver"]
    # isLessThan exists once a library with an order does
    with pytest.raises(CelCompileError, match="undeclared reference to 'isLessThan'|no matching"):
        compile_expression("object.isLessThan(object)", "1.28")


def test_a_manifest_map_cannot_pose_as_a_library_value():
    # the tag of a library value carries a per-process token
    with pytest.raises(CelEvaluationError, match="no such overload"):
        run("object.spec.isLessThan(quantity('1'))", obj={"spec": {"kubernetes.Quantity": "0"}})


def test_a_library_value_can_be_the_value_of_a_variable():
    # as admission evaluates a VAP's variables: each result goes into the next activation
    variables = ("object", "variables")
    limit = evaluate(compile_expression("quantity('1.5Gi')", "1.33", variables), {})
    check = compile_expression("variables.limit.isLessThan(quantity('2Gi')) && "
                               "variables.limit == quantity('1536Mi')", "1.33", variables)
    assert evaluate(check, {"object": {}, "variables": {"limit": limit}}) is True
    assert plain(limit) == "1610612736" and plain({"a": [limit]}) == {"a": ["1610612736"]}
