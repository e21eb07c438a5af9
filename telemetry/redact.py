"""Masking of secrets in text that may be logged or shown: URLs with credentials.

Every process of tanzhang is configured with URLs that may carry a password
(``mqtt://gateway:PASSWORD@broker``, ``postgresql+psycopg://tanzhang:PASSWORD@db/tanzhang``,
``http://user:PASSWORD@influxdb:8086``) or a secret in the query string
(``...?password=...``, InfluxDB's ``?u=...&p=...``). :func:`redact_url` keeps what helps a
person find the server (scheme, user name, host, port, path) and replaces every secret by
``***``, so that the result can be logged.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

#: query parameters whose value is a secret (lower case)
SECRET_PARAMS = frozenset(
    {"p", "password", "pass", "passwd", "pwd", "secret", "token", "sslpassword", "key", "api_key"}
)


def redact_url(url: str | None) -> str | None:
    """``url`` with its password and secret query parameters replaced by ``***``.

    >>> redact_url("postgresql+psycopg://tanzhang:s3cret@db:5432/tanzhang")
    'postgresql+psycopg://tanzhang:***@db:5432/tanzhang'
    >>> redact_url("http://influx:8086/query?u=me&p=s3cret")
    'http://influx:8086/query?u=me&p=***'

    A URL that cannot be parsed is replaced whole (it may still hold a secret).
    """
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user, has_password, _ = userinfo.partition(":")
            netloc = f"{user}:{MASK}@{host}" if has_password else f"{userinfo}@{host}"
        query = parts.query
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMS for k, _ in pairs):  # else kept as written
            query = urlencode(
                [(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*"
            )
        if netloc == parts.netloc and query == parts.query:
            return url  # nothing secret (and urlunsplit would drop sqlite:////'s empty host)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return MASK
