"""The fleet's paho client, set up the same way for `fleet serve` and `fleet cmd`: MQTT 5, TLS and credentials
from [mqtt] of fleet.toml."""
from __future__ import annotations

import ssl
from typing import Any

from fleet.config import MqttSettings


def make_client(cfg: MqttSettings, client_id: str, **options: Any):
    import paho.mqtt.client as mqtt   # here: `relais fleet ls` needs no MQTT
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **options)
    if cfg.tls:
        ctx = ssl.create_default_context(cafile=cfg.ca)
        if cfg.cert:
            ctx.load_cert_chain(cfg.cert, cfg.key)
        client.tls_set_context(ctx)
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password)
    return client


def connect_properties(**values: Any):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    props = Properties(PacketTypes.CONNECT)
    for name, value in values.items():
        setattr(props, name, value)
    return props
