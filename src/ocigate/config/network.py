"""How the gateway reaches its upstreams through a corporate network: forward proxies and certificate authorities.

- ``HTTPS_PROXY``, ``HTTP_PROXY`` (environment; the lowercase forms win): the proxy of ``https://`` and ``http://``
  upstreams;
- ``NO_PROXY`` (environment; lowercase wins): the hosts reached directly: ``*``, names (``corp`` or ``.corp``: the
  domain and its subdomains), IP addresses, CIDR ranges, with or without ``:port``;
- ``proxy:`` (``providers.<name>``): this provider's proxy, over the environment's and ``NO_PROXY``; ``direct`` for
  none;
- ``ca_bundle:`` (``providers.<name>``, and the top level): a PEM file of the authorities upstream TLS trusts;
- ``SSL_CERT_FILE`` (environment): the bundle when no ``ca_bundle:`` is given.

A bundle replaces the system's authorities (as ``SSL_CERT_FILE``, curl's ``--cacert`` and ``REQUESTS_CA_BUNDLE``
do): it must hold every authority the provider's connections need. The nearest one wins: the provider's, the top
level's, ``SSL_CERT_FILE``, the system's. A bundle that is missing, unreadable or holds no certificate is an error the
gateway does not start on, never a failure at the first request.

Loopback destinations (``localhost``, ``127.0.0.0/8``, ``::1``) never go through the environment's proxy, as Go's
``net/http`` decides: a corporate proxy cannot reach this machine's loopback, and the bundled emulator and local
test servers live there. A provider's own ``proxy:`` applies to every host it calls, loopback included.

Proxy URLs are ``http://[user:password@]host:port`` (a scheme-less ``host:port`` means ``http://``); the credentials
are kept apart from the URL (:class:`Proxy`), so no error or log line that names the proxy carries them (aiohttp
gets them as the tunnel's ``Proxy-Authorization``, or in the URL for a plain-HTTP upstream, which its errors name by
host and port only; log lines are redacted besides). An
``https://`` or ``socks`` proxy is refused at start with the fix (aiohttp would silently ignore it in the
environment). Everything is read once, at start: the environment's proxies are not looked up again per request.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

DIRECT = "direct"
"""``proxy: direct``: this provider connects directly whatever the environment says."""
CA_HINT = "set ca_bundle: (the provider's or the top level's) or SSL_CERT_FILE to a PEM file of the authority that"


@dataclass(frozen=True, slots=True)
class Proxy:
    url: str
    """``http://host:port``, without credentials: safe to show."""
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @property
    def url_with_credentials(self) -> str:
        """The URL with its credentials, percent-encoded: never to be shown."""
        if not (self.username or self.password):
            return self.url
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{quote(self.username, safe='')}:{quote(self.password, safe='')}@{rest}"


@dataclass(frozen=True, slots=True)
class Egress:
    """A provider's way out: which proxy each of its URLs takes, and which authorities its TLS trusts."""

    http_proxy: Proxy | None = None
    https_proxy: Proxy | None = None
    no_proxy: tuple[str, ...] = ()
    explicit: bool = False
    """The provider's own ``proxy:``: used for every URL, ``NO_PROXY`` and loopback included."""
    ca_bundle: str | None = None
    """None: the system's authorities."""

    def proxy_for(self, url: str) -> Proxy | None:
        """The proxy ``url`` goes through, None for a direct connection."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        return _proxy_for(self, scheme, (parts.hostname or "").lower(), port)


@functools.lru_cache(maxsize=256)
def _proxy_for(egress: Egress, scheme: str, host: str, port: int | None) -> Proxy | None:
    proxy = egress.https_proxy if scheme == "https" else egress.http_proxy
    if proxy is None or egress.explicit:
        return proxy
    if _is_loopback(host) or bypassed(host, port, egress.no_proxy):
        return None
    return proxy


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bypassed(host: str, port: int | None, rules: tuple[str, ...]) -> bool:
    """Whether ``NO_PROXY``'s ``rules`` send ``host`` directly (curl's reading of the variable)."""
    for rule in rules:
        if rule == "*":
            return True
        name, rule_port = _split_port(rule)
        if rule_port is not None and rule_port != port:
            continue
        if "/" in name:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = name.lstrip(".").lower()
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _split_port(rule: str) -> tuple[str, int | None]:
    rule = rule.strip("[]") if rule.count(":") > 1 and "]:" not in rule else rule
    if rule.startswith("["):  # [::1]:8080
        address, _, port = rule[1:].partition("]:")
        return address, int(port) if port.isdigit() else None
    if rule.count(":") == 1:
        name, _, port = rule.partition(":")
        return name, int(port) if port.isdigit() else None
    return rule, None


def parse_proxy(raw: str, where: str) -> tuple[Proxy | None, str | None]:
    """A proxy URL as :class:`Proxy`, or the problem with it (named by ``where``)."""
    text = raw.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None, f"{where}: the proxy is not a URL; write it as http://host:port."
    if parts.scheme.lower() != "http":
        return None, (
            f"{where}: {parts.scheme}:// proxies are not supported; give the proxy's http://host:port (TLS to the "
            f"upstream is still end to end, through CONNECT), or '{DIRECT}' for none."
        )
    if not parts.hostname:
        return None, f"{where}: the proxy names no host; write it as http://host:port."
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    url = f"http://{host}" + (f":{port}" if port is not None else "")
    return Proxy(url, unquote(parts.username or ""), unquote(parts.password or "")), None


def _env(env: Mapping[str, str], name: str) -> tuple[str, str]:
    """The variable's value and name as found: lowercase first, as curl and Python's ``urllib`` read them."""
    for key in (name.lower(), name.upper()):
        value = (env.get(key) or "").strip()
        if value:
            return value, key
    return "", name


def check_ca_bundle(path: str, where: str) -> str | None:
    """The problem with a CA bundle (missing, unreadable, no certificate in it), or None."""
    try:
        tls_context(path)
    except FileNotFoundError:
        return f"{where}: the CA bundle '{path}' does not exist; give the path of a PEM file of certificates."
    except PermissionError:
        return f"{where}: the CA bundle '{path}' cannot be read by this user; fix its permissions."
    except IsADirectoryError:
        return f"{where}: the CA bundle '{path}' is a directory; give the path of a PEM file of certificates."
    except (ssl.SSLError, OSError, ValueError) as exc:
        return f"{where}: the CA bundle '{path}' holds no usable PEM certificate ({exc}); give a PEM file."
    return None


@functools.lru_cache(maxsize=32)
def tls_context(path: str) -> ssl.SSLContext:
    """The client TLS context trusting exactly the bundle's authorities; one per bundle, shared by its providers
    (so that they share pooled connections)."""
    if os.path.isdir(path):
        raise IsADirectoryError(path)
    context = ssl.create_default_context(cafile=path)
    if not context.get_ca_certs():
        raise ValueError("no certificate found")
    return context


@dataclass(frozen=True, slots=True)
class _Defaults:
    """What every provider gets unless it says otherwise."""

    egress: Egress
    problems: list[str]


def _defaults(document: Mapping[str, Any], env: Mapping[str, str]) -> _Defaults:
    problems: list[str] = []
    proxies: dict[str, Proxy | None] = {}
    for scheme in ("http", "https"):
        raw, name = _env(env, f"{scheme}_proxy")
        proxy, problem = parse_proxy(raw, name) if raw else (None, None)
        proxies[scheme] = proxy
        if problem:
            problems.append(problem + " Or list the upstream's host in NO_PROXY.")
    raw_rules, _ = _env(env, "no_proxy")
    rules = tuple(r.strip() for r in raw_rules.replace(" ", ",").split(",") if r.strip())
    bundle, where = str(document.get("ca_bundle") or "").strip(), "ca_bundle"
    if not bundle:
        bundle, where = (env.get("SSL_CERT_FILE") or "").strip(), "SSL_CERT_FILE"
    if bundle and (problem := check_ca_bundle(bundle, where)):
        problems.append(problem)
    egress = Egress(proxies["http"], proxies["https"], rules, ca_bundle=bundle or None)
    return _Defaults(egress, problems)


def read_egress(
    document: Mapping[str, Any], env: Mapping[str, str], entries: Mapping[str, Any]
) -> tuple[dict[str, Egress], Egress, list[str]]:
    """Each configured provider's :class:`Egress` (by name, from its ``providers:`` entry, values already
    expanded), the one every other provider gets, and the problems found."""
    defaults = _defaults(document, env)
    problems = defaults.problems
    found: dict[str, Egress] = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            continue
        egress = defaults.egress
        raw_proxy = str(entry.get("proxy") or "").strip()
        if raw_proxy.lower() == DIRECT:
            egress = replace(egress, http_proxy=None, https_proxy=None, explicit=True)
        elif raw_proxy:
            proxy, problem = parse_proxy(raw_proxy, f"providers.{name}.proxy")
            if problem:
                problems.append(problem)
            egress = replace(egress, http_proxy=proxy, https_proxy=proxy, explicit=True)
        bundle = str(entry.get("ca_bundle") or "").strip()
        if bundle:
            if problem := check_ca_bundle(bundle, f"providers.{name}.ca_bundle"):
                problems.append(problem)
            egress = replace(egress, ca_bundle=bundle)
        found[str(name)] = egress
    return found, defaults.egress, problems


@dataclass(frozen=True, slots=True)
class ServerTls:
    """TLS on the gateway's own port: ``--ssl-certfile``/``--ssl-keyfile`` or ``OCIGATE_SSL_CERTFILE``/
    ``OCIGATE_SSL_KEYFILE`` (and ``OCIGATE_SSL_KEYFILE_PASSWORD`` for an encrypted key)."""

    certfile: str
    """The certificate chain (PEM), the server's certificate first."""
    keyfile: str | None = None
    """The private key (PEM); None when it is in ``certfile``."""
    keyfile_password: str | None = field(default=None, repr=False)


def read_server_tls(
    env: Mapping[str, str], certfile: str | None = None, keyfile: str | None = None
) -> tuple[ServerTls | None, list[str]]:
    """The gateway's own TLS, loaded once to check it (a missing file, a key that does not match its
    certificate, a wrong password), or the problems that stop it at start."""
    cert_name = "--ssl-certfile" if certfile else "OCIGATE_SSL_CERTFILE"
    key_name = "--ssl-keyfile" if keyfile else "OCIGATE_SSL_KEYFILE"
    cert = (certfile or env.get("OCIGATE_SSL_CERTFILE") or "").strip()
    key = (keyfile or env.get("OCIGATE_SSL_KEYFILE") or "").strip()
    password = env.get("OCIGATE_SSL_KEYFILE_PASSWORD") or None
    if not cert:
        return None, [f"{key_name} is set but no certificate: give --ssl-certfile too."] if key else []
    for name, path in ((cert_name, cert), (key_name, key)):
        if path and not os.path.isfile(path):
            return None, [f"{name}: '{path}' does not exist or is not a file; give the PEM file's path."]
        if path and not os.access(path, os.R_OK):
            return None, [f"{name}: '{path}' cannot be read by this user; fix its permissions."]
    tls = ServerTls(cert, key or None, password)
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key or None, password)
    except (ssl.SSLError, OSError) as exc:
        return None, [
            f"{cert_name}={cert!r}, {key_name}={key!r}: not a PEM certificate chain and its private key, or the key "
            f"does not match the certificate or needs OCIGATE_SSL_KEYFILE_PASSWORD ({exc})."
        ]
    return tls, []
