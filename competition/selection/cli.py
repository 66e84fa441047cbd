"""``flask --app competition selection …``: re-running a published draw.

Registered by ``competition.cli.register_cli``.
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup

from competition.core.selection import LotteryDraw, draw_lottery, verify_draw
from competition.extensions import db
from competition.selection.line.queries import CONTEXT, export_record
from competition.selection.models import LotteryRecord

selection_cli = AppGroup("selection", help="Selection: re-running published draws.")


def _names(ids: Any) -> str:
    return ", ".join(str(pid) for pid in ids) or "none"


def _differences(data: dict[str, Any]) -> list[str]:
    """The fields in which the file differs from the draw this instance recorded, or why it
    cannot be compared."""
    draw_id = data.get("draw_id")
    record = db.session.get(LotteryRecord, draw_id) if isinstance(draw_id, int) else None
    if record is None:
        return [f"draw_id (no draw {draw_id!r} in this instance)"]
    published = json.loads(json.dumps(export_record(record)))
    return sorted(key for key in set(published) | set(data) if published.get(key) != data.get(key))


@selection_cli.command("verify-draw")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--seed", help="The seed as it was published before the draw; checked too.")
@click.option(
    "--offline",
    is_flag=True,
    help="Without this instance's database: re-run the draw only, and name what is unchecked.",
)
def verify_draw_command(file: Any, seed: str | None, offline: bool) -> None:
    """Re-run the draw recorded in FILE (the record downloaded from the line page) and say
    whether it gives the recorded winners; then check every other field of the file (where
    and when it was drawn, which proposal each reference is) against the draw this instance
    recorded. Exits with 1 when anything differs."""
    try:
        data = json.load(file)
        if not isinstance(data, dict):
            raise ValueError("the file holds no record")
        recorded = LotteryDraw.from_record(data)
    except ValueError as error:
        raise click.ClickException(f"Not a lottery record: {error}") from error
    click.echo(f"Seed: {recorded.seed}")
    click.echo(f"Candidates ({len(recorded.candidates)}): {_names(recorded.candidates)}")
    click.echo(f"Places: {recorded.places}")
    if recorded.budget is not None:
        click.echo(f"Money to hand out: {recorded.budget}")
    click.echo(f"Recorded winners: {_names(recorded.drawn)}")
    try:
        again = draw_lottery(
            recorded.candidates,
            recorded.places,
            recorded.seed,
            budget=recorded.budget,
            requested=(
                dict(zip(recorded.candidates, recorded.requested, strict=True))
                if recorded.budget is not None
                else None
            ),
        )
    except (ValueError, TypeError) as error:
        raise click.ClickException(
            f"The draw cannot be re-run from this record: {error}"
        ) from error
    click.echo(f"Winners when re-run: {_names(again.drawn)}")
    if seed is not None and seed != recorded.seed:
        click.echo(f"The record's seed is not the published seed {seed!r}.")
        raise SystemExit(1)
    if not verify_draw(recorded, published_seed=seed):
        click.echo("They do NOT match: the record is not what its seed and candidates give.")
        raise SystemExit(1)
    click.echo("They match: the recorded draw follows from its seed and candidates.")
    unknown = sorted(set(data) - set(recorded.as_record()) - set(CONTEXT))
    if unknown:
        click.echo(f"The file has fields no draw record has: {', '.join(unknown)}.")
        raise SystemExit(1)
    context = [key for key in CONTEXT if key in data]
    if offline:
        if context:
            click.echo(
                "Not checked (they need this instance's database): " + ", ".join(context) + "."
            )
        return
    differing = _differences(data)
    if differing:
        click.echo(f"The file differs from the recorded draw in: {', '.join(differing)}.")
        raise SystemExit(1)
    click.echo("Every field of the file is the recorded draw's.")
