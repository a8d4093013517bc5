"""`zhicheng cityops …`: the MQTT subscriber of sensor readings, and the rebuild of the roll-up tables."""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Annotated

import typer

from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.settings import load as load_settings

app = typer.Typer(
    help="City operations: the sensors' MQTT subscriber, the roll-ups' rebuild.", no_args_is_help=True
)
CLI_ACTOR = Actor(kind="cli", name="operator")


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


@app.command("rollup-rebuild")
def rollup_rebuild(
    as_json: Annotated[bool, typer.Option("--json", help="print the row counts as JSON")] = False,
) -> None:
    """Recount the roll-up tables (cityops_daily, cityops_live) from the cases, in one transaction (after
    a bulk load by SQL, or to repair them); prints the rows written to each."""
    from zhicheng.cityops import rollup

    db = Database.from_settings(load_settings())
    try:
        with unit_of_work(db, CLI_ACTOR) as uow:
            counts = rollup.rebuild(uow.session.connection())
            uow.record("cityops:rollup:rebuild", "cityops_rollup", counts)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(counts))
    else:
        typer.echo(f"daily: {counts['daily']} rows, live: {counts['live']} rows")
