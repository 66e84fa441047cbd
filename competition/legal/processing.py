"""The records of processing activities (Art. 30 GDPR, "Verzeichnis von
Verarbeitungstätigkeiten"): one declared list of what the system stores about people, why, who
sees it and for how long. The administrators' records page and the privacy notice both show
this list, so they cannot drift apart; ``tests/unit/test_processing_records.py`` fails when a
table with personal data (a column referring to ``users.id``, or one named ``email`` or
``name``) is named neither here nor in ``NOT_PERSONAL``.

How long things are kept is said generically: the periods are the programme's retention
settings, which officers set per programme.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString

from competition.i18n import lazy_gettext as _l

PUBLIC_TASK = _l(
    "Art. 6 (1) (e) GDPR with section 3 BDSG and the federal budget code (sections 23 and 44 "
    "BHO): running funding competitions is the ministry's public task."
)
SECURITY = _l(
    "Art. 6 (1) (e) and Art. 32 GDPR with section 3 BDSG: keeping the system and its data secure."
)
APPLICANT_PERIOD = _l(
    "Unsuccessful proposals: N years after the decision; funded ones: N years after the grant "
    "closes, as the programme sets (its retention settings); then erased or pseudonymised."
)


@dataclass(frozen=True)
class Processing:
    """One processing activity: what, why (purpose and legal basis), who sees it, how long,
    and the tables that hold it."""

    key: str
    name: LazyString
    data: LazyString
    purpose: LazyString
    legal_basis: LazyString
    recipients: LazyString
    retention: LazyString
    tables: tuple[str, ...]


PROCESSINGS: tuple[Processing, ...] = (
    Processing(
        key="accounts",
        name=_l("Accounts and signing in"),
        data=_l(
            "Name, e-mail address, password hash, roles, language, organisation, account status; "
            "sessions (start, last activity, end; the cookie only as a hash); failed logins "
            "counted under a keyed hash of the address; forms kept while a person signs in "
            "again; personal API tokens (name, access, dates; the secret only as a hash); a "
            "person's downloads of their own data."
        ),
        purpose=_l(
            "Letting people sign in and act in their roles; protecting accounts against "
            "guessing; answering a person's request for their data (Art. 15 and 20 GDPR)."
        ),
        legal_basis=SECURITY,
        recipients=_l("The person; administrators (name, e-mail address, roles, status)."),
        retention=_l(
            "While the account is in use; accounts are disabled, not deleted, and erased on "
            "request or when nothing of theirs is within a retention period. Sessions end after "
            "the idle and absolute limits, failed logins count for the throttling window, a "
            "data download is deleted after the days the deployment sets."
        ),
        tables=(
            "users",
            "user_roles",
            "user_sessions",
            "throttle_events",
            "pending_inputs",
            "api_tokens",
            "data_exports",
        ),
    ),
    Processing(
        key="proposals",
        name=_l("Proposals and submissions"),
        data=_l(
            "The consortium's partners and their contact persons (name, e-mail address), the "
            "people working on a proposal and invitations to it, texts, budgets, documents, "
            "every submitted version with its receipt, deadline extensions and the eligibility "
            "screening."
        ),
        purpose=_l("Receiving, checking and deciding on proposals in a funding competition."),
        legal_basis=PUBLIC_TASK,
        recipients=_l(
            "The consortium's members with access; the programme's officers; the jurors "
            "assigned to review it (without conflicts of interest); after funding, the public "
            "portal shows the fields the programme publishes."
        ),
        retention=APPLICANT_PERIOD,
        tables=(
            "proposals",
            "proposal_contributors",
            "proposal_invitations",
            "proposal_topics",
            "consortium_members",
            "stage_submissions",
            "budget_lines",
            "attachments",
            "submission_versions",
            "deadline_extensions",
            "screening_results",
        ),
    ),
    Processing(
        key="jury",
        name=_l("Jury, conflicts of interest and reviews"),
        data=_l(
            "Jurors' memberships, profiles (expertise, affiliation, load), declared and "
            "automatic conflicts of interest, consortia's requests to exclude a juror, bids, "
            "assignments, reviews (scores and comments), reminders, the panel's consensus and "
            "notes, availability for hearings and the hearing slots."
        ),
        purpose=_l(
            "Assessing proposals fairly: assigning reviewers without conflicts, collecting and "
            "discussing their assessments, holding hearings."
        ),
        legal_basis=PUBLIC_TASK,
        recipients=_l(
            "The juror; the programme's officers; other jurors of the same proposal where the "
            "call lets them read each other's reviews; applicants receive the comments meant "
            "for them, never a juror's name."
        ),
        retention=APPLICANT_PERIOD,
        tables=(
            "jury_memberships",
            "juror_profiles",
            "juror_expertise",
            "conflicts",
            "exclusion_requests",
            "bids",
            "assignment_runs",
            "assignments",
            "reviews",
            "review_scores",
            "reminders_sent",
            "consensus_scores",
            "panel_notes",
            "hearing_slots",
            "juror_availabilities",
        ),
    ),
    Processing(
        key="clarifications",
        name=_l("Clarification requests"),
        data=_l("Officers' questions to a consortium, the answers, their authors and files."),
        purpose=_l("Clearing up open questions about a proposal before a decision."),
        legal_basis=PUBLIC_TASK,
        recipients=_l("The consortium's members with access; the programme's officers."),
        retention=APPLICANT_PERIOD,
        tables=("clarification_requests", "clarification_messages", "clarification_attachments"),
    ),
    Processing(
        key="selection",
        name=_l("Ranking, selection and decisions"),
        data=_l(
            "Rankings, lottery draws and decisions with the officers who proposed and "
            "confirmed them, and the letters sent."
        ),
        purpose=_l("Selecting proposals under the budget and deciding with four eyes."),
        legal_basis=PUBLIC_TASK,
        recipients=_l(
            "The programme's officers; the consortium receives its decision letter; funded "
            "projects appear on the public portal."
        ),
        retention=APPLICANT_PERIOD,
        tables=("rankings", "lottery_draws", "decisions"),
    ),
    Processing(
        key="grants",
        name=_l("Grants, reports and payments"),
        data=_l(
            "Grants and their phases and amounts, milestones, reports with their files and "
            "who submitted and reviewed them, payment requests, their approval and payment "
            "files."
        ),
        purpose=_l("Administering funded projects: reports, interim evaluations and payments."),
        legal_basis=PUBLIC_TASK,
        recipients=_l(
            "The consortium's members with access; the programme's officers; the ministry's "
            "payment system receives the payment files."
        ),
        retention=APPLICANT_PERIOD,
        tables=(
            "grants",
            "grant_phases",
            "grant_amounts",
            "milestones",
            "reports",
            "report_attachments",
            "report_reminders_sent",
            "disbursements",
            "payment_exports",
        ),
    ),
    Processing(
        key="memberships",
        name=_l("Membership programmes"),
        data=_l(
            "Applications for membership with the applicant and the member organisations, "
            "evaluators, their evaluations and scores, and the decisions."
        ),
        purpose=_l("Admitting members and re-evaluating memberships every year."),
        legal_basis=PUBLIC_TASK,
        recipients=_l(
            "The applicant; the programme's officers and evaluators; granted members appear "
            "on the public list of members."
        ),
        retention=_l(
            "While the membership lasts; afterwards N years, as the programme sets (its "
            "retention settings)."
        ),
        tables=(
            "memberships",
            "membership_members",
            "membership_evaluators",
            "membership_evaluations",
            "membership_scores",
            "membership_decisions",
        ),
    ),
    Processing(
        key="organisations",
        name=_l("Organisation registry and programme staff"),
        data=_l(
            "Organisations (name, kind, federal state, country) and the officers who run "
            "each programme."
        ),
        purpose=_l("Naming partners consistently and knowing who may act for a programme."),
        legal_basis=PUBLIC_TASK,
        recipients=_l("Officers and administrators; applicants choose partners from the list."),
        retention=_l("While the organisation is named by a proposal, juror or membership."),
        tables=("organisations", "programme_officers"),
    ),
    Processing(
        key="mail",
        name=_l("E-mail notifications"),
        data=_l("Address, subject and content of every message sent, and when it was sent."),
        purpose=_l("Telling people of receipts, invitations, decisions, reminders and deadlines."),
        legal_basis=PUBLIC_TASK,
        recipients=_l("The addressee; administrators (the outbox); the mail server."),
        retention=_l("With the proposal, grant or account the message is about; erased with them."),
        tables=("notifications",),
    ),
    Processing(
        key="audit",
        name=_l("Audit trail, state history and background work"),
        data=_l(
            "Who changed what and when (an append-only, hash-chained record), every step of a "
            "lifecycle with who took it and why, and who started long work."
        ),
        purpose=_l(
            "Proving how proposals were handled and decided (accountability, Art. 5 (2) GDPR) "
            "and finding misuse."
        ),
        legal_basis=_l(
            "Art. 6 (1) (c) and (e) GDPR with section 3 BDSG and the federal budget code: "
            "funding decisions must be traceable."
        ),
        recipients=_l("Administrators and, for their programmes, officers."),
        retention=_l(
            "As long as the records it is about; the personal details are removed when those "
            "are erased, while the chain stays verifiable."
        ),
        tables=("audit_events", "state_transitions", "jobs"),
    ),
    Processing(
        key="sign_in",
        name=_l("Second factors and single sign-on"),
        data=_l(
            "An authenticator app's key and the last code used; recovery codes as hashes; "
            "passkeys (the authenticator's public key, a name the person gives, when added and "
            "last used); links to sign-in providers (the provider, the person's id there and the "
            "e-mail address it gave); which provider groups grant which role."
        ),
        purpose=_l(
            "Protecting accounts with a second factor; letting people sign in through their "
            "organisation's identity provider."
        ),
        legal_basis=SECURITY,
        recipients=_l(
            "The person; administrators see whether a person has a second factor and may reset it."
        ),
        retention=_l(
            "Until the person removes them, an administrator resets them, or the account is erased."
        ),
        tables=(
            "totp_factors",
            "recovery_codes",
            "passkey_credentials",
            "sso_identities",
            "sso_role_mappings",
        ),
    ),
    Processing(
        key="erasure",
        name=_l("Erasure requests and retention runs"),
        data=_l(
            "Whose data was erased on request, the reason given, who recorded it and when, what "
            "still waits for its period to end; counts of what each periodic run erased."
        ),
        purpose=_l(
            "Erasing personal data on request (Art. 17 GDPR) and when its retention ends, and "
            "proving that it was done."
        ),
        legal_basis=_l("Art. 6 (1) (c) GDPR with Art. 5 (2) and Art. 17 GDPR."),
        recipients=_l("Administrators."),
        retention=_l("As long as the audit trail (the person appears only as a pseudonym)."),
        tables=("erasure_requests", "retention_runs"),
    ),
)

# Tables whose "name" column names a thing, not a person: consciously outside the records.
NOT_PERSONAL: dict[str, str] = {
    "programmes": "a funding programme's name",
    "calls": "a call's name",
    "stages": "a stage's name",
    "criteria": "a review criterion's name",
    "membership_criteria": "a membership criterion's name",
    "topics": "a topic's name",
}


def named_tables() -> set[str]:
    return {table for processing in PROCESSINGS for table in processing.tables}
