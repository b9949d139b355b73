"""Where a webhook may point: http(s) URLs whose host resolves to public
addresses only, unless TAGGER_WEBHOOK_ALLOWED_HOSTS names it.

Checked when a webhook is registered or changed, and again right before every
delivery (DNS can change in between); the delivery then connects to the very
address that was checked (``pinned_connection``), so a name that resolves
differently a moment later cannot redirect it. A refused target never gets a
connection at all.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from annotation.errors import WebhookError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")
# NAT64 carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# The resolver (tests put a hermetic one here).
_getaddrinfo = socket.getaddrinfo


class TargetRefused(WebhookError):
    """The URL resolves to an address webhooks may not reach (loopback,
    private, link-local, multicast, reserved, unspecified)."""


class HostUnresolved(WebhookError):
    """The URL's host name does not resolve (now)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to ask for."""

    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    request_path: str  # path and query
    addresses: tuple[str, ...]  # every address the host resolved to, all allowed


def parse(url: str) -> tuple[str, str, int, str]:
    """Split a webhook URL into scheme, ASCII host, port and request path, or
    raise WebhookError (the message says why)."""
    if not isinstance(url, str) or not url:
        raise WebhookError(_("Enter the webhook's URL."))
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise WebhookError(_("The URL may not contain spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookError(_("The URL is not valid.")) from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise WebhookError(_("Only http and https URLs can receive webhooks."))
    if "@" in parts.netloc:
        raise WebhookError(
            _("The URL may not carry a user name or password; the secret signs each delivery.")
        )
    host = parts.hostname or ""
    if not host:
        raise WebhookError(_("The URL has no host."))
    if "%" in host:
        raise WebhookError(_("The URL's host is not valid."))
    try:
        ascii_host = host if _ip(host) is not None else host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise WebhookError(_("The URL's host is not valid.")) from exc
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, ascii_host, port or (443 if scheme == "https" else 80), path


def check(url: str) -> Target:
    """Parse and resolve `url`; raise TargetRefused when any address it resolves
    to is internal and not allowed, HostUnresolved when it does not resolve."""
    scheme, host, port, path = parse(url)
    addresses = resolve(host, port)
    if not addresses:
        raise HostUnresolved(_("The host name could not be resolved."))
    if not _host_allowed(host):
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if is_internal(ip) and not _address_allowed(ip):
                raise TargetRefused(
                    _(
                        "Webhooks may not point at internal addresses (loopback, private, "
                        "link-local, multicast or reserved); %(host)s resolves to one."
                    )
                    % {"host": host}
                )
    return Target(scheme, host, port, path, tuple(addresses))


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal is itself); [] when it
    does not resolve."""
    literal = _ip(host)
    if literal is not None:
        return [str(literal)]
    try:
        infos = _getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in found:
            found.append(address)
    return found


def is_internal(ip: IPAddress) -> bool:
    """Loopback, private, link-local, multicast, reserved, unspecified or
    otherwise not globally routable; IPv6 forms that carry an IPv4 address
    (mapped, 6to4, Teredo, NAT64) are judged by that address too."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(inner is not None and is_internal(inner) for inner in embedded):
            return True
        if ip.is_site_local:
            return True
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _allowed_entries() -> list[str]:
    return [entry.strip().lower() for entry in settings.TAGGER_WEBHOOK_ALLOWED_HOSTS if entry]


def _host_allowed(host: str) -> bool:
    return host.lower().rstrip(".") in {
        entry.rstrip(".") for entry in _allowed_entries() if _network(entry) is None
    }


def _address_allowed(ip: IPAddress) -> bool:
    for entry in _allowed_entries():
        network = _network(entry)
        if network is not None and ip.version == network.version and ip in network:
            return True
    return False


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


# -- connecting to the checked address --------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to `address`, whatever `host` would resolve to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `address`, with the certificate checked against `host`."""

    def __init__(
        self, host: str, port: int, *, address: str, timeout: float, tls: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=tls)
        self._address = address
        self._tls = tls

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def pinned_connection(target: Target, address: str, timeout: float) -> http.client.HTTPConnection:
    """A connection to `target` that goes to `address` (one it resolved to)."""
    if target.scheme == "https":
        return _PinnedHTTPSConnection(
            target.host,
            target.port,
            address=address,
            timeout=timeout,
            tls=ssl.create_default_context(),
        )
    return _PinnedHTTPConnection(target.host, target.port, address=address, timeout=timeout)
