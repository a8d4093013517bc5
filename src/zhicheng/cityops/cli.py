"""`zhicheng cityops …`: the MQTT subscriber of sensor readings."""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Annotated

import typer

from zhicheng.core.db import Database
from zhicheng.settings import load as load_settings

app = typer.Typer(help="City operations: the sensors' MQTT subscriber.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """City operations (一网统管)."""


@app.command("mqtt")
def mqtt(
    url: Annotated[str | None, typer.Option(help="broker URL; default: cityops_mqtt_url")] = None,
    topic: Annotated[str | None, typer.Option(help="topic filter; default: cityops_mqtt_topic")] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="persistent session id; default: cityops_mqtt_client_id")
    ] = None,
) -> None:
    """Subscribe to the sensors' readings over MQTT (QoS 1, persistent session) and apply them: each
    message is acknowledged once its readings are committed. Runs until SIGINT or SIGTERM."""
    from zhicheng.cityops import mqtt as sub

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    subscriber = sub.from_settings(
        Database.from_settings(settings), settings, url=url, topic=topic, client_id=client_id
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stats = subscriber.run(stop)
    typer.echo(json.dumps(vars(stats)))
