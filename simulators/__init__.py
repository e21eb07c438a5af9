"""Simulated factories, huyou orchards and a forest plot publishing the wire contract over MQTT.

Imports only the standard library, numpy, paho-mqtt and the leaf packages ``sitetime`` (the
clock) and ``mqttlink`` (the MQTT URL and client set-up); never ``gateway`` or ``telemetry``.
Entry points (docs/simulators.md):

- :func:`simulators.fleet.demo_fleet` -> :class:`simulators.fleet.Fleet`
  (``messages``, ``registry_toml``, ``status_messages``, ``fault_plan``, ``password``)
- pure generators: :func:`simulators.factory.line_readings`,
  :func:`simulators.orchard.orchard_readings`, :func:`simulators.forest.forest_readings`
- ground truth: :func:`simulators.factory.line_energy_truth`,
  :func:`simulators.factory.line_daily_truth`, :func:`simulators.orchard_balance.expected_balance`
- MQTT: :func:`simulators.publisher.publish`, :func:`simulators.runner.run_fleet`,
  :func:`simulators.load.run_load`; command line :func:`simulators.cli.main`
"""
