"""A bare paho-mqtt subscriber: the raw limit of one Python MQTT client on this broker.

``python -m bench.ingest.bare_subscriber --port P --topic T --count N [--qos 1]`` prints
``READY`` once subscribed, then one JSON line ``{"count", "first_s", "last_s", "rate"}`` when
``N`` messages arrived (paho acknowledges QoS 1 itself, right after the callback). The same
process kind as the gateway (MQTT 5, CallbackAPIVersion 2), nothing else done per message.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--qos", type=int, default=1)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--protocol", choices=("5", "3.1.1"), default="5")
    p.add_argument(
        "--fast-properties", action="store_true", help="with the gateway's Properties.clear speedup"
    )
    ns = p.parse_args()
    if ns.fast_properties:
        import gateway.mqtt  # noqa: F401  (installs the speedup on import)
    done = threading.Event()
    subscribed = threading.Event()
    state = {"n": 0, "first": 0.0, "last": 0.0}

    def on_message(_c: paho.Client, _u: object, _m: paho.MQTTMessage) -> None:
        n = state["n"] = state["n"] + 1
        if n == 1:
            state["first"] = time.perf_counter()
        if n >= ns.count:
            state["last"] = time.perf_counter()
            done.set()

    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id="bench-bare",
        protocol=paho.MQTTv5 if ns.protocol == "5" else paho.MQTTv311,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_connect = lambda c, *a: c.subscribe(ns.topic, qos=ns.qos)
    client.connect("127.0.0.1", ns.port)
    client.loop_start()
    if not subscribed.wait(10):
        print("subscribe timed out", file=sys.stderr)
        return 1
    print("READY", flush=True)
    ok = done.wait(ns.timeout)
    client.disconnect()
    client.loop_stop()
    span = state["last"] - state["first"]
    print(
        json.dumps(
            {
                "count": state["n"],
                "first_s": state["first"],
                "last_s": state["last"],
                "rate": (state["n"] - 1) / span if ok and span > 0 else None,
            }
        ),
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
