"""The MQTT URL: ``mqtt[s]://[user[:password]@]host[:port][?cafile=PATH]``."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

#: port of each scheme when the URL names none
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
#: query parameters the URL may carry
OPTIONS = ("cafile",)


class MqttUrlError(ValueError):
    """The MQTT URL cannot work; the message says what to change (never with the password)."""


@dataclass(frozen=True)
class MqttUrl:
    """Where and as whom to connect. ``repr`` and :attr:`shown` leave the password out.

    host, port : the broker
    username, password : percent-decoded; None when the URL has none
    tls : ``mqtts://``: TLS, the broker's certificate and host name verified
    cafile : PEM file of the certificate authorities to trust instead of the system's
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    cafile: str | None = None

    @property
    def shown(self) -> str:
        """The URL without the password, for messages and logs."""
        user = f"{self.username}@" if self.username is not None else ""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{user}{self.host}:{self.port}"


def mask_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***`` (for error messages)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***" if "@" in url else url
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if has_password else netloc
    return f"{scheme}://{netloc}{slash}{tail}"


def parse_mqtt_url(url: str) -> MqttUrl:
    """Parse ``mqtt://user:pass@host:port`` or ``mqtts://...``; raise :class:`MqttUrlError`.

    >>> parse_mqtt_url("mqtts://gw:p%40ss@broker.example")
    MqttUrl(host='broker.example', port=8883, username='gw', tls=True, cafile=None)
    """
    parts = urlsplit(url.strip())
    shown = mask_url(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise MqttUrlError(
            f"MQTT URL {shown!r} must start with mqtt:// or mqtts:// "
            "(e.g. mqtt://user:password@broker:1883)"
        )
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:  # not a number, or out of range
        raise MqttUrlError(f"MQTT URL {shown!r}: bad port ({exc})") from None
    if parts.path not in ("", "/"):
        raise MqttUrlError(f"MQTT URL {shown!r}: no path is allowed after host:port")
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in OPTIONS:
            raise MqttUrlError(
                f"MQTT URL {shown!r}: unknown option {key!r} (known: {', '.join(OPTIONS)})"
            )
        options[key] = value
    cafile = options.get("cafile") or None
    if cafile and not tls:
        raise MqttUrlError(f"MQTT URL {shown!r}: cafile applies to mqtts:// only")
    return MqttUrl(
        host=parts.hostname or "127.0.0.1",
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
        cafile=cafile,
    )
