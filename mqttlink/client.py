"""Set up a paho-mqtt 2.x client for an :class:`~mqttlink.url.MqttUrl`."""

from __future__ import annotations

import os
import ssl

import paho.mqtt.client as paho

from mqttlink.url import MqttUrl, MqttUrlError, parse_mqtt_url


class _ClosingSSLSocket(ssl.SSLSocket):
    """An SSL socket that closes itself when its handshake fails.

    paho-mqtt 2.2 (``Client._ssl_wrap_socket``) drops the socket of a failed handshake
    without closing it (an untrusted certificate, a plain-text port): a ResourceWarning and a
    file descriptor left to the garbage collector, on every reconnect attempt.
    """

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def tls_context(target: MqttUrl) -> ssl.SSLContext:
    """TLS verifying the broker's certificate and host name (the standard library's default
    context): against ``target.cafile`` when set, else the system's certificate authorities."""
    if target.cafile and not os.path.isfile(target.cafile):
        raise MqttUrlError(f"MQTT URL {target.shown!r}: cafile {target.cafile!r} is not a file")
    try:
        ctx = ssl.create_default_context(cafile=target.cafile)
    except ssl.SSLError as exc:
        raise MqttUrlError(
            f"MQTT URL {target.shown!r}: cafile {target.cafile!r} is not a PEM CA file ({exc})"
        ) from None
    ctx.sslsocket_class = _ClosingSSLSocket
    return ctx


def configure_client(client: paho.Client, target: MqttUrl | str) -> MqttUrl:
    """Give ``client`` the URL's user and password and, for ``mqtts://``, TLS.

    Call before ``connect``; connect to the returned URL's ``host`` and ``port``.
    """
    if isinstance(target, str):
        target = parse_mqtt_url(target)
    if target.username is not None:
        client.username_pw_set(target.username, target.password)
    if target.tls:
        client.tls_set_context(tls_context(target))
    return target
