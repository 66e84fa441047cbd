"""Command-line groups: ``flask --app competition demo|audit|notifications …``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from competition.db import operation, utcnow
from competition.i18n import gettext as _


def demo_logins(settings) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [
        ("officer", "officer@demo.test (also administrator), officer2@demo.test"),
        ("juror", "juror1@demo.test … juror60@demo.test"),
        ("applicant", "applicant1@demo.test … applicant254@demo.test"),
        ("password", "the value of DEMO_PASSWORD" if settings.demo_password != "demo" else "demo"),
    ]


def register_cli(app: Flask) -> None:
    demo = AppGroup("demo", help="The seeded demo competition.")
    audit = AppGroup("audit", help="The audit trail.")
    notifications = AppGroup("notifications", help="The mail outbox.")

    @demo.command("seed")
    def seed() -> None:
        """Seed the Clusters4Future demo competition (safe to run twice)."""
        from competition.accounts.passwords import hash_password
        from competition.demo.seed import seed_demo

        settings = current_app.extensions["settings"]
        # Said in the deployment's language: nobody's account chooses one here.
        with force_locale(settings.default_locale):
            if not settings.demo_mode:
                raise click.ClickException(
                    _("Demo data is only seeded in demo mode (DEMO_MODE=1).")
                )
            summary = operation(seed_demo)(
                password_hash=hash_password(settings.demo_password), now=utcnow()
            )
            if summary is None:
                click.echo(_("The demo competition is already there; nothing changed."))
            else:
                click.echo(
                    _(
                        "Seeded Clusters4Future: %(proposals)s proposals, %(organisations)s "
                        "organisations, %(users)s accounts, a round-1 jury of %(places)s with "
                        "%(conflicts)s conflicts of interest.",
                        proposals=summary.proposals,
                        organisations=summary.organisations,
                        users=summary.users,
                        places=summary.jury_places,
                        conflicts=summary.conflicts,
                    )
                )

    @demo.command("simulate")
    @click.option(
        "--seed",
        type=int,
        default=None,
        help="Draws the simulated jurors and proposals' hidden qualities; the same seed gives "
        "the same run (without it, always the same default).",
    )
    def simulate(seed: int | None) -> None:
        """Run the demo programme to its end with simulated officers, jurors and applicants
        (seeds the demo first if it is not there)."""
        settings = current_app.extensions["settings"]
        # Said in the deployment's language: nobody's account chooses one here.
        with force_locale(settings.default_locale):
            _simulate(settings, seed)

    def _simulate(settings, seed: int | None) -> None:  # type: ignore[no-untyped-def]
        from competition.accounts.passwords import hash_password
        from competition.demo import simulate as simulation
        from competition.demo.seed import seed_demo
        from competition.errors import DomainError

        if not settings.demo_mode:
            raise click.ClickException(_("The demo is only simulated in demo mode (DEMO_MODE=1)."))
        # The simulation waits for each run, ranking and publication anyway: without a broker it
        # runs them in this process, one after the other, rather than on threads of their own.
        current_app.extensions["settings"] = settings.with_overrides(tasks_inline=True)
        if simulation.demo_programme() is None:
            operation(seed_demo)(password_hash=hash_password(settings.demo_password), now=utcnow())
            click.echo(_("Seeded the Clusters4Future demo competition."))
        chosen = simulation.DEFAULT_SEED if seed is None else seed
        try:
            report = simulation.simulate(seed=chosen, echo=click.echo)
        except (simulation.SimulationError, DomainError) as error:
            raise click.ClickException(str(error)) from error
        for line in report.lines():
            click.echo(line)

    @demo.command("logins")
    def logins() -> None:
        """Print the demo accounts."""
        for role, who in demo_logins(current_app.extensions["settings"]):
            click.echo(f"  {role:<10} {who}")

    @audit.command("verify")
    @click.option(
        "--anchor",
        "anchor_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A file of anchors (from 'audit anchor'): the chain must still hold each of them.",
    )
    def verify(anchor_file: Path | None) -> None:
        """Check the hash chain; name the first broken event, and every anchor it lost."""
        from competition.audit.operations import (
            anchor_breaks,
            chain_pending,
            read_anchors,
            unchained_count,
            verify_chain,
        )
        from competition.extensions import db

        chain_pending(db.engine)
        checked, found = verify_chain()
        if found is not None:
            raise click.ClickException(
                f"The audit trail is broken at event {found.seq}: {found.reason}."
            )
        click.echo(f"The audit trail is intact: {checked} events checked.")
        waiting = unchained_count()
        if waiting:
            click.echo(f"{waiting} newer events are being chained right now; verify again later.")
        if anchor_file is None:
            return
        try:
            anchors = read_anchors(anchor_file)
        except ValueError as error:
            raise click.ClickException(f"{anchor_file}: {error}") from error
        problems = anchor_breaks(anchors)
        if problems:
            raise click.ClickException(
                "The audit trail no longer holds what was anchored: " + "; ".join(problems) + "."
            )
        click.echo(f"It holds all {len(anchors)} anchors of {anchor_file}.")

    @audit.command("anchor")
    @click.option(
        "--file",
        "anchor_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where to append the anchor (default: the AUDIT_ANCHOR_FILE setting).",
    )
    def anchor(anchor_file: Path | None) -> None:
        """Append the chain's latest hash, with the time, to a file outside the database."""
        from competition.audit.operations import write_anchor

        target = anchor_file or current_app.extensions["settings"].audit_anchor_file
        if target is None:
            raise click.ClickException("Give --file, or set AUDIT_ANCHOR_FILE.")
        written = write_anchor(Path(target), now=utcnow())
        if written is None:
            click.echo("The audit trail is empty: nothing to anchor.")
            return
        click.echo(f"Anchored event {written.seq} ({written.hash[:16]}…) in {target}.")

    @notifications.command("sweep")
    def sweep() -> None:
        """Queue delivery of messages that were never sent."""
        from competition.notifications.operations import sweep as sweep_outbox

        click.echo(f"Queued {sweep_outbox(now=utcnow())} messages.")

    for group in (demo, audit, notifications):
        app.cli.add_command(group)

    from competition.selection.cli import selection_cli

    app.cli.add_command(selection_cli)
