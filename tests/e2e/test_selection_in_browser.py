"""The selection of a stage in a real browser: an officer ranks the reviewed proposals, reads
the ranking and the line, and proposes every decision in two bulk steps; they cannot confirm
their own. A second officer of the programme confirms them all and publishes the letters; the
applicant then reads hers with its scores and the jurors' comments, and no juror's name."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from competition.accounts.models import Role, User
from competition.assignment.models import Assignment
from competition.extensions import db
from competition.notifications.models import Notification, NotificationState
from competition.programmes.models import ProgrammeOfficer, Stage
from competition.proposals.models import Proposal, ProposalState
from competition.reviews.models import Review
from competition.selection.models import Decision, DecisionState, Outcome
from tests.conftest import mail_text
from tests.e2e.languages import Words
from tests.e2e.test_assignment_in_browser import log_in
from tests.factories import make_user
from tests.integration.test_assignment_runs import World
from tests.integration.test_rankings import reviewed_world

pytestmark = pytest.mark.browser

SECOND_OFFICER = "otto@office.test"
TARGET = 3
# Distinctive names, so that finding one on the letter cannot be a coincidence.
JUROR_NAMES = {
    "ada@jury.test": "Wilhelmina Quastorf",
    "ben@jury.test": "Bartholomew Zinnecker",
    "cleo@jury.test": "Cornelia Vrablecova",
    "dan@jury.test": "Desmond Okonkwo-Lindqvist",
    "eve@jury.test": "Evangelina Thorbecke",
}
# The two reviews of the applicant's proposal (proposals[0]): Excellence and Impact. Their
# means, 0.75 and 1.00, keep it far below the line.
APPLICANT_SCORES = [("1", "0.5"), ("0.5", "1.5")]
ADVANCE_RATIONALE = "Top three of the ranking: convincing strategy and a strong consortium."
REJECT_RATIONALE = "Below the line: the work plan and the impact are not convincing enough."


@dataclass(frozen=True)
class Selection:
    world: World
    stage_name: str
    references: dict[int, str]  # proposal id → reference
    advancing: list[str]  # references the line advances: the three best reviewed
    rejected: list[str]
    applicant_comments: list[str]  # of proposals[0]'s reviews, for the letter
    jury_comments: list[str]  # for the jury only, never in a letter


def build_selection() -> Selection:
    """``reviewed_world`` (which has a next stage to advance to) with a line that
    advances the best three, a second officer of the programme, distinctive juror names and
    comments on every review (for the applicant and for the jury)."""
    world = reviewed_world()
    stage = db.session.get(Stage, world.stage_id)
    assert any(s.position > stage.position for s in stage.call.stages)
    stage.selection_rules = {"funding": False}
    stage.selection_target = TARGET
    second = make_user(roles=(Role.OFFICER,), email=SECOND_OFFICER, name="Otto Zweitsicht")
    db.session.add(ProgrammeOfficer(programme_id=stage.call.programme_id, user_id=second.id))
    for email, name in JUROR_NAMES.items():
        db.session.scalar(sa.select(User).where(User.email == email)).name = name
    reviews = db.session.scalars(
        sa.select(Review).join(Assignment).order_by(Assignment.proposal_id, Review.id)
    ).all()
    jury_comments = []
    for review in reviews:
        review.comment_for_applicant = f"The work plan of review {review.id} is convincing."
        review.comment_for_jury = f"Jury only {review.id}: discuss at the panel."
        jury_comments.append(review.comment_for_jury)
    excellence, impact = (c.id for c in stage.criteria)
    theirs = [
        r
        for r in reviews
        if db.session.get(Assignment, r.assignment_id).proposal_id == world.proposals[0]
    ]
    assert len(theirs) == len(APPLICANT_SCORES)
    for review, (e, i) in zip(theirs, APPLICANT_SCORES, strict=True):
        review.scores = {str(excellence): e, str(impact): i}
    db.session.commit()
    references = {
        p.id: p.reference
        for p in db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(world.proposals)))
    }
    # Proposal i is scored about i / 2 (reviewed_world): the last three are the best.
    ordered = [references[p] for p in world.proposals]
    return Selection(
        world=world,
        stage_name=stage.name,
        references=references,
        advancing=ordered[-TARGET:],
        rejected=ordered[:-TARGET],
        applicant_comments=[r.comment_for_applicant for r in theirs],
        jury_comments=jury_comments,
    )


def letter_notifications(app) -> list[Notification]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(
            db.session.scalars(
                sa.select(Notification).where(Notification.template == "selection/letter")
            )
        )
        db.session.expunge_all()
        return found


def proposal_states(app, selection: Selection) -> dict[str, ProposalState]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return {
            selection.references[p.id]: p.state
            for p in db.session.scalars(
                sa.select(Proposal).where(Proposal.id.in_(selection.world.proposals))
            )
        }


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def propose(  # noqa: PLR0913
    page: Page,
    count: int,
    outcome: str,
    rationale: str,
    references: list[str],
    say: Words | None = None,
) -> None:
    """From the filled-in decision form: the preview with the count and the list, then the
    proposal itself. ``outcome`` is the English name; ``say`` gives the page's words."""
    say = say or Words("en")
    shown = say(outcome)
    page.get_by_label(say("Outcome")).select_option(label=shown)
    page.get_by_label(say("Rationale")).fill(rationale)
    page.get_by_role("button", name=say("Preview the decisions…")).click()

    asked = say.plural("Propose %(num)d decision?", "Propose %(num)d decisions?", count)
    expect(page.get_by_role("heading", name=asked)).to_be_visible()
    expect(page.locator("#preview-summary")).to_have_text(
        say.plural(
            "%(count)s proposal will be proposed as %(outcome)s, with this rationale:",
            "%(count)s proposals will be proposed as %(outcome)s, with this rationale:",
            count,
            count=count,
            outcome=shown,
        )
    )
    expect(page.locator("#preview-rationale")).to_have_text(rationale)
    listed = page.get_by_role(
        "table", name=say("The proposals that will be proposed as %(outcome)s", outcome=shown)
    )
    expect(listed.locator("tbody tr")).to_have_count(count)
    for reference in references:
        expect(listed.get_by_role("row").filter(has_text=reference)).to_have_count(1)
    page.get_by_role(
        "button", name=say.plural("Propose %(num)d decision", "Propose %(num)d decisions", count)
    ).click()

    expect(
        page.get_by_text(
            say.plural(
                "%(num)d decision proposed: %(outcome)s. Another officer must confirm them before "
                "anything is published.",
                "%(num)d decisions proposed: %(outcome)s. Another officer must confirm them "
                "before anything is published.",
                count,
                outcome=shown,
            )
        )
    ).to_be_visible()


def test_officers_rank_decide_confirm_and_publish_and_the_applicant_reads_her_letter(
    live_server, page, smtp_server
):  # type: ignore[no-untyped-def]
    with live_server.app_context():
        selection = build_selection()
    world = selection.world
    base = live_server.base_url
    everyone = len(world.proposals)

    # --- the first officer ranks the proposals and reads the line ---------------------------
    log_in(page, base, world.officer)
    page.goto(f"{base}/calls/{world.call_id}/jury")
    page.locator("p", has_text="Rank, decide and publish").get_by_role(
        "link", name=selection.stage_name
    ).click()
    expect(
        page.get_by_role("heading", name=f"Ranking and line: {selection.stage_name}")
    ).to_be_visible()
    expect(page.get_by_role("table", name="Rankings, newest first")).to_contain_text(
        "No ranking has been computed for this stage yet."
    )

    page.get_by_label("Raw means").check()
    page.get_by_role("button", name="Start the ranking").click()
    expect(
        page.get_by_text("The ranking has started. This page shows its progress.")
    ).to_be_visible()
    # Tasks run in-process here; with a worker, the page polls until the ranking has ended.
    rankings = page.get_by_role("table", name="Rankings, newest first")
    expect(rankings.get_by_role("cell", name="Done", exact=True)).to_be_visible()
    expect(rankings.get_by_role("cell", name="Raw means", exact=True)).to_be_visible()
    expect(page.locator("#line-summary")).to_contain_text(f"{TARGET} advancing (target {TARGET})")

    page.get_by_role("link", name="Open the ranking").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Ranking of .+"))).to_be_visible()
    expect(page.locator("#method")).to_have_text("Raw means")
    chart = page.get_by_role(
        "img", name=re.compile(r"^Scores and their .+ intervals in rank order")
    )
    expect(chart).to_be_visible()
    expect(chart).to_have_accessible_name(
        re.compile(f"The dashed line after rank {TARGET} is the provisional line")
    )
    table = page.get_by_role(
        "table",
        name="Proposals in rank order with their scores, intervals, means per criterion and flags",
    )
    expect(table.locator("tbody tr")).to_have_count(everyone)
    expect(table.get_by_role("cell", name="Advances", exact=True)).to_have_count(TARGET)
    for reference in selection.advancing:
        expect(
            table.locator("tbody tr").filter(has_text=reference).get_by_role("cell").last
        ).to_have_text("Advances")

    page.get_by_role("link", name="The line in detail").click()
    expect(page.get_by_role("heading", name=f"The line: {selection.stage_name}")).to_be_visible()
    expect(
        page.get_by_role("heading", name=f"Advancing ({TARGET} of a target of {TARGET})")
    ).to_be_visible()
    above = page.get_by_role("table", name="Proposals above the line")
    expect(above.locator("tbody tr")).to_have_count(TARGET)
    for reference in selection.advancing:
        expect(above.get_by_role("rowheader", name=re.compile(re.escape(reference)))).to_have_count(
            1
        )
    below = page.get_by_role("table", name="Proposals not selected and why")
    for reference in selection.rejected:
        expect(below.get_by_role("rowheader", name=re.compile(re.escape(reference)))).to_have_count(
            1
        )

    # --- proposing every decision, in two bulk steps ----------------------------------------
    page.get_by_role("link", name="Propose decisions from this line…").click()
    expect(page.get_by_role("heading", name=f"Decisions: {selection.stage_name}")).to_be_visible()
    expect(page.locator("#decision-facts")).to_contain_text(
        f"{everyone} proposals at this stage: {everyone} without a decision"
    )
    page.get_by_label("Also choose every proposal the line suggests as").select_option(
        label=f"Advance to the next stage ({TARGET} proposals not yet confirmed)"
    )
    propose(page, TARGET, "Advance to the next stage", ADVANCE_RATIONALE, selection.advancing)

    for reference in selection.rejected:
        page.get_by_label(f"Choose {reference}").check()
    propose(page, len(selection.rejected), "Reject", REJECT_RATIONALE, selection.rejected)

    expect(page.locator("#decision-facts")).to_contain_text(
        f"{everyone} proposals at this stage: 0 without a decision, {everyone} proposed and "
        "waiting for a second officer, 0 confirmed, 0 published."
    )
    decisions = page.get_by_role("table", name=re.compile(r"^Proposals of the stage in rank"))
    for references, outcome, rationale in (
        (selection.advancing, "Advance to the next stage", ADVANCE_RATIONALE),
        (selection.rejected, "Reject", REJECT_RATIONALE),
    ):
        for reference in references:
            decision = decisions.get_by_role("row").filter(has_text=reference).get_by_role("cell")
            expect(decision.last).to_contain_text(f"{outcome} proposed")
            expect(decision.last).to_contain_text("(you)")
            expect(decision.last).to_contain_text(rationale)

    # --- the proposer cannot confirm their own decisions ------------------------------------
    page.get_by_role("link", name="Confirm decisions…").click()
    expect(
        page.get_by_role("heading", name=f"Confirm decisions: {selection.stage_name}")
    ).to_be_visible()
    expect(page.locator("#pending-facts")).to_have_text(
        f"{everyone} decisions waiting for confirmation; you can confirm 0 of them."
    )
    for reference in selection.advancing + selection.rejected:
        box = page.get_by_label(f"Confirm {reference}")
        expect(box).to_be_disabled()
        expect(box).to_have_accessible_description(
            "You proposed this; another officer must confirm it."
        )
    expect(page.locator("#nothing-to-confirm")).to_have_text(
        "Every decision waiting here was proposed by you; another officer must confirm them."
    )
    expect(page.get_by_role("button", name=re.compile("^Confirm"))).to_have_count(0)
    log_out(page)

    # --- a second officer confirms them all and publishes -----------------------------------
    log_in(page, base, SECOND_OFFICER)
    page.goto(f"{base}/calls/{world.call_id}/jury")
    page.locator("p", has_text="Rank, decide and publish").get_by_role(
        "link", name=selection.stage_name
    ).click()
    page.get_by_role("navigation", name=f"Selection of {selection.stage_name}").get_by_role(
        "link", name="Confirm"
    ).click()
    expect(page.locator("#pending-facts")).to_have_text(
        f"{everyone} decisions waiting for confirmation; you can confirm {everyone} of them."
    )
    page.get_by_role("button", name=f"Confirm all {everyone} you may confirm…").click()

    expect(page.get_by_role("heading", name=f"Confirm {everyone} decisions?")).to_be_visible()
    expect(page.locator("#preview-summary")).to_contain_text(
        f"You confirm {everyone} decisions as the second officer."
    )
    confirming = page.get_by_role("table", name="The decisions you are about to confirm")
    expect(confirming.locator("tbody tr")).to_have_count(everyone)
    for reference in selection.advancing + selection.rejected:
        expect(confirming.get_by_role("row").filter(has_text=reference)).to_have_count(1)
    page.get_by_role("button", name=f"Confirm {everyone} decisions").click()
    expect(page.get_by_text(f"{everyone} decisions confirmed.")).to_be_visible()
    expect(page.locator("#pending-facts")).to_have_text(
        "0 decisions waiting for confirmation; you can confirm 0 of them."
    )

    page.get_by_role("navigation", name=f"Selection of {selection.stage_name}").get_by_role(
        "link", name="Decisions", exact=True
    ).click()
    expect(page.locator("#decision-facts")).to_contain_text(
        f"0 proposed and waiting for a second officer, {everyone} confirmed, 0 published."
    )
    page.get_by_role("link", name="Publish confirmed decisions…").click()
    expect(page.get_by_role("heading", name=f"Publish {everyone} letters?")).to_be_visible()
    per_outcome = page.get_by_role("table", name="Letters that go out now, per decision")
    for outcome, count in (("Advance", TARGET), ("Reject", everyone - TARGET)):
        expect(
            per_outcome.get_by_role("row", name=re.compile(f"^{outcome} {count} "))
        ).to_have_count(1)
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    expect(page.locator("#publication-progress")).to_have_text(
        f"0 of {everyone} confirmed decisions published."
    )
    page.get_by_role("button", name=f"Publish {everyone} letters now").click()

    expect(page.get_by_text(f"{everyone} letters are being published.")).to_be_visible()
    expect(page.locator("#publication-progress")).to_have_text(
        f"{everyone} of {everyone} confirmed decisions published."
    )
    expect(page.get_by_text("There is nothing to publish")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Publish"))).to_have_count(0)
    log_out(page)

    assert proposal_states(live_server, selection) == {
        **{reference: ProposalState.ADVANCED for reference in selection.advancing},
        **{reference: ProposalState.REJECTED for reference in selection.rejected},
    }
    # Only the applicant coordinates a proposal in this world: one letter, by e-mail.
    [notification] = letter_notifications(live_server)
    assert notification.to_address == world.applicant
    assert notification.state == NotificationState.SENT
    [mail] = smtp_server.to(world.applicant)
    assert mail["Subject"] == "The decision on your proposal"
    applicant_reference = selection.references[world.proposals[0]]
    assert applicant_reference in mail_text(mail)
    assert "Your proposal has not been selected" in mail_text(mail)

    # --- the applicant reads her letter -----------------------------------------------------
    log_in(page, base, world.applicant)
    page.get_by_role("region", name="Your proposals").get_by_role(
        "link", name=re.compile(re.escape(applicant_reference))
    ).click()
    page.get_by_role("region", name="Decision letters").get_by_role(
        "link", name=f"{selection.stage_name}: Your proposal has not been selected"
    ).click()

    expect(page.get_by_role("heading", name="Decision letter", exact=True)).to_be_visible()
    letter = page.get_by_role("article")
    expect(
        letter.get_by_role("heading", name="Your proposal has not been selected")
    ).to_be_visible()
    expect(letter).to_contain_text(applicant_reference)
    scores = letter.get_by_role("table", name="Scores per criterion")
    expect(scores.get_by_role("row", name=re.compile(r"^Excellence .* 0\.75$"))).to_have_count(1)
    expect(scores.get_by_role("row", name=re.compile(r"^Impact .* 1\.00$"))).to_have_count(1)
    expect(letter.get_by_role("heading", name="Juror A", exact=True)).to_be_visible()
    expect(letter.get_by_role("heading", name="Juror B", exact=True)).to_be_visible()
    for comment in selection.applicant_comments:
        expect(letter.get_by_text(comment)).to_be_visible()
    shown = page.locator("body").inner_text()
    for hidden in selection.jury_comments:
        assert hidden not in shown
    for email, name in JUROR_NAMES.items():
        assert name not in shown and email not in shown
    assert "@jury.test" not in page.content()


def test_an_officer_working_in_german_ranks_reads_the_line_and_proposes_the_decisions(
    live_server, page
):  # type: ignore[no-untyped-def]
    with live_server.app_context():
        selection = build_selection()
        db.session.execute(
            sa.update(User).where(User.email == selection.world.officer).values(locale="de")
        )
        db.session.commit()
    world = selection.world
    base = live_server.base_url
    stage = selection.stage_name
    everyone = len(world.proposals)
    say = Words("de")

    log_in(page, base, world.officer, say)
    page.goto(f"{base}/calls/{world.call_id}/jury")
    page.locator("p", has_text=say("Rank, decide and publish:")).get_by_role(
        "link", name=stage
    ).click()
    expect(
        page.get_by_role("heading", name=say("Ranking and line: %(stage)s", stage=stage))
    ).to_be_visible()
    rankings = page.get_by_role("table", name=say("Rankings, newest first"))
    expect(rankings).to_contain_text(say("No ranking has been computed for this stage yet."))

    page.get_by_label(say("Raw means")).check()
    page.get_by_role("button", name=say("Start the ranking")).click()
    expect(
        page.get_by_text(say("The ranking has started. This page shows its progress."))
    ).to_be_visible()
    expect(rankings.get_by_role("cell", name=say("Done"), exact=True)).to_be_visible()
    expect(page.locator("#line-summary")).to_contain_text(
        say("%(count)s advancing", count=TARGET) + " " + say("(target %(target)s)", target=TARGET)
    )

    page.get_by_role("link", name=say("Open the ranking")).click()
    table = page.get_by_role(
        "table",
        name=say(
            "Proposals in rank order with their scores, intervals, means per criterion and flags"
        ),
    )
    expect(table.get_by_role("cell", name=say("Advances"), exact=True)).to_have_count(TARGET)

    page.get_by_role("link", name=say("The line in detail")).click()
    expect(
        page.get_by_role("heading", name=say("The line: %(stage)s", stage=stage))
    ).to_be_visible()
    above = page.get_by_role("table", name=say("Proposals above the line"))
    expect(above.locator("tbody tr")).to_have_count(TARGET)

    page.get_by_role("link", name=say("Propose decisions from this line…")).click()
    expect(
        page.get_by_role("heading", name=say("Decisions: %(stage)s", stage=stage))
    ).to_be_visible()
    page.get_by_label(say("Also choose every proposal the line suggests as")).select_option(
        label=say.plural(
            "%(outcome)s (%(num)d proposal not yet confirmed)",
            "%(outcome)s (%(num)d proposals not yet confirmed)",
            TARGET,
            outcome=say("Advance to the next stage"),
        )
    )
    propose(page, TARGET, "Advance to the next stage", ADVANCE_RATIONALE, selection.advancing, say)
    for reference in selection.rejected:
        page.get_by_label(say("Choose %(reference)s", reference=reference)).check()
    propose(page, len(selection.rejected), "Reject", REJECT_RATIONALE, selection.rejected, say)

    expect(page.locator("#decision-facts")).to_contain_text(
        say.plural(
            "%(num)d proposal at this stage: %(none)d without a decision, %(proposed)d proposed "
            "and waiting for a second officer, %(confirmed)d confirmed, %(published)d published.",
            "%(num)d proposals at this stage: %(none)d without a decision, %(proposed)d proposed "
            "and waiting for a second officer, %(confirmed)d confirmed, %(published)d published.",
            everyone,
            none=0,
            proposed=everyone,
            confirmed=0,
            published=0,
        )
    )
    with live_server.app_context():
        proposed = {
            selection.references[proposal_id]: (outcome, state)
            for proposal_id, outcome, state in db.session.execute(
                sa.select(Decision.proposal_id, Decision.outcome, Decision.state)
            )
        }
    assert proposed == {
        **{r: (Outcome.ADVANCE, DecisionState.PROPOSED) for r in selection.advancing},
        **{r: (Outcome.REJECT, DecisionState.PROPOSED) for r in selection.rejected},
    }
