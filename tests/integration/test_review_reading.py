"""What a juror reads on the review page: the applicant's text as prose (paragraphs and lists,
never the applicant's markup), and words rather than codes, in the juror's language."""

# ruff: noqa: F811

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.extensions import db
from competition.proposals.models import StageSubmission, SubmissionVersion
from tests.helpers import as_person, in_app
from tests.integration.reviews_world import world  # noqa: F401  (a fixture, found by name)

pytestmark = pytest.mark.postgres

SECTION = (
    "Our aims for the region:\n"
    "- hydrogen hubs <script>alert('section')</script>\n"
    "- new jobs\n"
    "\n"
    "1. Plan the plants\n"
    "2. Build them\n"
    "\n"
    "A last paragraph <b>in bold</b>."
)


def rewrite_version(app, world, **content: object) -> None:  # type: ignore[no-untyped-def]
    with in_app(app):
        version = db.session.scalar(
            sa.select(SubmissionVersion)
            .join(StageSubmission, StageSubmission.id == SubmissionVersion.submission_id)
            .where(StageSubmission.proposal_id == world.proposal_id)
        )
        version.content = {**version.content, **content}
        db.session.commit()


def test_the_juror_reads_sections_as_paragraphs_and_lists_with_markup_shown_not_run(app, world):
    rewrite_version(app, world, sections={"strategy": SECTION})

    page = as_person(app, world.juror).get(world.review_url(world.juror)).get_data(as_text=True)

    section = page[page.index('id="section-strategy"') :].split("<h3", 1)[0]
    assert '<pre class="mail">' not in page
    assert "<p>Our aims for the region:</p>" in section
    assert "<ul><li>hydrogen hubs &lt;script&gt;alert(&#39;section&#39;)&lt;/script&gt;</li>" in (
        section
    )
    assert "<li>new jobs</li></ul>" in section
    assert "<ol><li>Plan the plants</li><li>Build them</li></ol>" in section
    assert "<p>A last paragraph &lt;b&gt;in bold&lt;/b&gt;.</p>" in section
    assert "<script>alert" not in page


def test_a_german_juror_reads_kinds_roles_and_scores_in_german(app, world):
    with in_app(app):
        version = db.session.scalar(
            sa.select(SubmissionVersion)
            .join(StageSubmission, StageSubmission.id == SubmissionVersion.submission_id)
            .where(StageSubmission.proposal_id == world.proposal_id)
        )
        first = version.content["members"][0]
        members = [
            {**first, "key": f"{first['key']}-{kind}", "name": f"Member {kind}", "kind": kind}
            for kind in ("research_institute", "large_enterprise", "sme")
        ]
        members[-1]["role"], members[-1]["federal_state"] = "partner", "DE-BY"
        version.content = {**version.content, "members": [first, *members]}
        db.session.get(User, world.juror.id).locale = "de"
        db.session.commit()

    page = as_person(app, world.juror).get(world.review_url(world.juror)).get_data(as_text=True)

    consortium = page[page.index('id="consortium"') :].split("</table>")[0]
    assert (
        "<td>Member research_institute</td><td>Koordination</td><td>Forschungseinrichtung</td>"
        in (consortium)
    )
    assert "<td>Großunternehmen</td>" in consortium
    assert "<td>Partner</td><td>KMU</td><td>Bayern</td>" in consortium
    for code in ("research_institute", "large_enterprise", "sme", "DE-BY", "partner<"):
        assert f"<td>{code}" not in consortium
    # Scores and weights the German way; the value sent stays the number.
    assert '<option value="3.5">3,5</option>' in page
    assert "(Gewicht 0,5)" in page
