"""A consortium entered from a file: the coordinator uploads a CSV or XLSX table of partners
(name, kind, federal state, country, role, contact name, contact e-mail); every row is checked,
the valid ones are added in one operation and the others listed with the reasons."""

from __future__ import annotations

import datetime as dt

from flask_babel import force_locale

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core import registry
from competition.core.texts import N_
from competition.db import operation
from competition.extensions import db
from competition.organisations.operations import RowOrganisations, RowsReport, read_rows
from competition.permissions import require
from competition.proposals import permissions
from competition.proposals.models import ConsortiumMember, MemberRole, Proposal
from competition.proposals.operations import _touch, current_submission


def role_words() -> dict[str, str]:
    """Every partner role (``MemberRole``, so roles added there are read too) by its code and
    its name in German and English, normalised."""
    words: dict[str, str] = {}
    for role in MemberRole:
        words[registry.normalise(role.value)] = role.value
        words[registry.normalise(role.value.replace("_", " "))] = role.value
        for language in ("en", "de"):
            with force_locale(language):
                words[registry.normalise(role.label)] = role.value
    return words


@operation
def add_members_from_file(
    proposal: Proposal, *, actor: User, data: bytes, now: dt.datetime
) -> RowsReport:
    """Add the partners of a CSV or XLSX table to the consortium. Each row is checked: the
    organisation is taken from the registry by name and country (a merged duplicate stands for
    the one kept) or created from the row's kind and federal state, as the single add does; the
    role is one of the partner roles; an organisation already in the consortium, a second
    coordinator or a row repeating an earlier one is refused. The valid rows are added
    together; a file that cannot be read adds nothing.

    Side effects: organisation rows for new organisations; member rows; audit
    ``consortium.members_imported``.
    """
    submission = current_submission(proposal)
    assert submission is not None
    require(permissions.can_change_consortium(actor, proposal, submission, now=now))
    header, rows = read_rows(data, wanted=registry.PARTNER_COLUMNS)
    roles = role_words()
    report = RowsReport()
    parsed: list[registry.PartnerRow] = []
    for number, values in enumerate(rows[1:], start=2):
        if registry.is_blank(values):
            continue
        report.rows += 1
        row = registry.read_partner(number, values, header, roles=roles)
        if isinstance(row, registry.Refused):
            report.refused.append(row)
        else:
            parsed.append(row)
    organisations = RowOrganisations(p.organisation for p in parsed)
    in_consortium = {m.organisation_id for m in proposal.members}
    has_coordinator = any(m.role == MemberRole.COORDINATOR for m in proposal.members)
    first_row: dict[int, int] = {}
    members: list[ConsortiumMember] = []
    for row in parsed:
        data_row = row.organisation
        organisation, reasons = organisations.find(data_row)
        seen = first_row.get(organisation.id) if organisation is not None else None
        if seen is not None:
            reasons.append(N_("The same organisation is already in row %(row)s.", row=seen))
        elif organisation is not None and organisation.id in in_consortium:
            reasons.append(
                N_("%(organisation)s is already in the consortium.", organisation=organisation.name)
            )
        if row.role == MemberRole.COORDINATOR and has_coordinator:
            reasons.append(N_("The consortium already has a coordinator."))
        if reasons:
            report.refused.append(registry.Refused(row.row, data_row.name, tuple(reasons)))
            continue
        if organisation is None:
            organisation = organisations.create(data_row, now=now)
            report.created.append(organisation.name)
        first_row[organisation.id] = row.row
        if row.role == MemberRole.COORDINATOR:
            has_coordinator = True
        members.append(
            ConsortiumMember(
                organisation=organisation,
                role=MemberRole(row.role),
                contact_name=row.contact_name,
                contact_email=row.contact_email,
            )
        )
        report.added.append(organisation.name)
    report.refused.sort(key=lambda r: r.row)
    if not members:
        return report
    proposal.members.extend(members)
    _touch(proposal, submission, now)
    db.session.flush()
    record_event(
        actor=actor,
        action="consortium.members_imported",
        object_type="proposal",
        object_id=proposal.id,
        after={
            "rows": report.rows,
            "member_ids": [m.id for m in members],
            "created_organisations": len(report.created),
            "refused_rows": [r.row for r in report.refused],
        },
        now=now,
    )
    return report
