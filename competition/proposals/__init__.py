"""Proposals: a consortium's application to a call, its consortium, budget, attachments and
submitted versions."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the proposals area lends to the programmes below it: which calls and stages hold
    material, which submitted versions a rule change would break, and which topics proposals
    name; and the registry which consortia an organisation is in."""
    from competition.organisations import uses as organisation_uses
    from competition.programmes import uses
    from competition.proposals import queries, registry, withholding
    from competition.proposals.panels import register_panel

    uses.register(app, "proposals_in_calls", queries.proposals_in_calls)
    uses.register(app, "stages_with_submissions", queries.stages_with_submissions)
    uses.register(app, "breaking_submissions", queries.breaking_submissions)
    uses.register(app, "proposals_naming_topics", queries.proposals_naming_topics)
    organisation_uses.register(app, "uses", registry.consortia_of)
    organisation_uses.register(app, "merge_checks", registry.shared_consortia)
    organisation_uses.register(app, "searchers", registry.is_contributor_anywhere)
    # Which partners' names the public portal withholds, on the proposal's pages.
    register_panel(app, "public_names", withholding.names_panel)
