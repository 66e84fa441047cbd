"""``flask --app competition selection …``: re-running a published draw.

Registered by ``competition.cli.register_cli``.
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup

from competition.core.selection import LotteryDraw, draw_lottery, verify_draw

selection_cli = AppGroup("selection", help="Selection: re-running published draws.")


def _names(ids: Any) -> str:
    return ", ".join(str(pid) for pid in ids) or "none"


@selection_cli.command("verify-draw")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--seed", help="The seed as it was published before the draw; checked too.")
def verify_draw_command(file: Any, seed: str | None) -> None:
    """Re-run the draw recorded in FILE (the record downloaded from the line page) and say
    whether it gives the recorded winners. Exits with 1 when it does not."""
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
