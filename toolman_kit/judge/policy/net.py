"""The Kubernetes IP and CIDR libraries (apiserver library/ip.go and cidr.go, Go's net/netip
semantics): ip, isIP, ip.isCanonical, and on an IP family, isUnspecified, isLoopback,
isLinkLocalMulticast, isLinkLocalUnicast, isGlobalUnicast; cidr, isCIDR, and on a CIDR
containsIP, containsCIDR (a value or a string), ip, masked, prefixLength; string() of either.

    ip('127.0.0.1').family()                                     4
    ip('::ffff:1.2.3.4')                                         error (IPv4-mapped IPv6)
    cidr('192.168.0.0/24').containsIP('192.168.0.1')             true
    cidr('192.168.0.1/24').masked() == cidr('192.168.0.0/24')    true

Addresses with a zone (fe80::1%eth0) and IPv4-mapped IPv6 addresses are refused, as in the API
server; IPv4 with leading zeros (127.0.0.01) too, as netip does. isGlobalUnicast is Go's (private
ranges count), not Python's is_global. Deviation (opaque.py): `ip('1.2.3.4') == '1.2.3.4'` compiles.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any

from cel_expr_python import cel

from toolman_kit.judge.policy import opaque

T = cel.Type
IP, CIDR = "IP", "CIDR"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
_BITS = re.compile(r"0|[1-9][0-9]*")  # netip: decimal, no sign, no leading zero, no netmask


@lru_cache(maxsize=512)
def parse_ip(text: str) -> Address:
    """An address as the API server accepts it; the errors are its own words."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f'IP Address "{text}" parse error during conversion from string: '
                         f'ParseAddr("{text}"): not an IP address') from None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            raise ValueError(f'IP address "{text}" with zone value is not allowed')
        if address.ipv4_mapped is not None:
            raise ValueError(f'IPv4-mapped IPv6 address "{text}" is not allowed')
    return address


@lru_cache(maxsize=512)
def parse_cidr(text: str) -> Interface:
    address, slash, bits = text.partition("/")
    ip: Address | None = None
    if not slash:
        reason = "no '/'"
    elif "%" in address:
        reason = "IPv6 zones cannot be present in a prefix"
    else:
        try:
            ip, reason = ipaddress.ip_address(address), ""
        except ValueError:
            reason = f'ParseAddr("{address}"): not an IP address'
        if ip and (not _BITS.fullmatch(bits) or int(bits) > ip.max_prefixlen):
            reason = f'bad bits after slash: "{bits}"'
    if ip is None or reason:
        raise ValueError(f"network address parse error during conversion from string: "
                         f'netip.ParsePrefix("{text}"): {reason}')
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        raise ValueError(f'IPv4-mapped IPv6 address "{text}" is not allowed')
    return ipaddress.ip_interface(f"{ip}/{bits}")


def _ip(text: str) -> dict[str, str]:
    return opaque.wrap(IP, str(parse_ip(text)))


def _cidr(text: str) -> dict[str, str]:
    return opaque.wrap(CIDR, str(parse_cidr(text)))


def _valid(parser: Any, text: str) -> bool:
    try:
        parser(text)
    except ValueError:
        return False
    return True


def is_canonical(text: str) -> bool:
    return str(parse_ip(text)) == text


def _address(value: Any) -> Address:
    return parse_ip(opaque.unwrap(value, IP))


def _interface(value: Any) -> Interface:
    return parse_cidr(opaque.unwrap(value, CIDR))


def is_global_unicast(address: Address) -> bool:
    """Go's IsGlobalUnicast: any unicast address but unspecified, loopback, link-local and the
    IPv4 broadcast address; private ranges included."""
    return not (address.is_unspecified or address.is_loopback or address.is_multicast
                or address.is_link_local or address == ipaddress.IPv4Address("255.255.255.255"))


def is_link_local_multicast(address: Address) -> bool:
    if address.version == 4:
        return address in ipaddress.IPv4Network("224.0.0.0/24")
    packed = address.packed
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


def is_link_local_unicast(address: Address) -> bool:
    network = "169.254.0.0/16" if address.version == 4 else "fe80::/10"
    return address in ipaddress.ip_network(network)


def contains_ip(cidr: Any, other: Any) -> bool:
    address = parse_ip(other) if isinstance(other, str) else _address(other)
    return address in _interface(cidr).network


def contains_cidr(cidr: Any, other: Any) -> bool:
    inner = parse_cidr(other) if isinstance(other, str) else _interface(other)
    outer = _interface(cidr)
    return inner.ip in outer.network and outer.network.prefixlen <= inner.network.prefixlen


STRING = {IP: lambda text: text, CIDR: lambda text: text}


def declarations() -> list[cel.FunctionDecl]:
    member, function = opaque.member, opaque.function
    on_ip = {
        "family": (lambda a: a.version, T.INT),
        "isUnspecified": (lambda a: a.is_unspecified, T.BOOL),
        "isLoopback": (lambda a: a.is_loopback, T.BOOL),
        "isLinkLocalMulticast": (is_link_local_multicast, T.BOOL),
        "isLinkLocalUnicast": (is_link_local_unicast, T.BOOL),
        "isGlobalUnicast": (is_global_unicast, T.BOOL),
    }
    return [
        function("ip", [
            cel.Overload("string_to_ip", T.DYN, [T.STRING], impl=_ip),
            member("ip", lambda c: opaque.wrap(IP, str(_interface(c).ip)))]),
        function("isIP", [cel.Overload("is_ip_string", T.BOOL, [T.STRING],
                                       impl=lambda text: _valid(parse_ip, text))]),
        function("ip.isCanonical", [cel.Overload("ip_is_canonical_string", T.BOOL, [T.STRING],
                                                 impl=is_canonical)]),
        *(function(name, [member(name, lambda value, test=test: test(_address(value)), result)])
          for name, (test, result) in on_ip.items()),
        function("cidr", [cel.Overload("string_to_cidr", T.DYN, [T.STRING], impl=_cidr)]),
        function("isCIDR", [cel.Overload("is_cidr_string", T.BOOL, [T.STRING],
                                         impl=lambda text: _valid(parse_cidr, text))]),
        function("containsIP", [member("containsIP", contains_ip, T.BOOL, (opaque.MAP,)),
                                member("containsIP", contains_ip, T.BOOL, (T.STRING,), "_str")]),
        function("containsCIDR", [
            member("containsCIDR", contains_cidr, T.BOOL, (opaque.MAP,)),
            member("containsCIDR", contains_cidr, T.BOOL, (T.STRING,), "_str")]),
        function("masked", [member("masked", lambda c: opaque.wrap(
            CIDR, str(_interface(c).network)))]),
        function("prefixLength", [member("prefixLength",
                                         lambda c: _interface(c).network.prefixlen, T.INT)]),
    ]
