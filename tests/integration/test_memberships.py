"""Membership programmes (go-cluster) on PostgreSQL: an applicant applies with the cluster's
member organisations from the registry and their counts are computed from the registry's
kinds; evaluators score against the programme's criteria; a second officer grants, renews,
refuses or withdraws (four eyes in the operation and in the database); every step passes the
gateway; the public list shows only memberships in force; each reader sees only what is theirs
to see; the registry counts each cluster's members. The annual re-evaluation is in
test_membership_reevaluation.py."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role
from competition.db import utcnow
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.memberships import operations as ops
from competition.memberships import queries
from competition.memberships.models import (
    Membership,
    MembershipDecision,
    MembershipEvaluator,
    MembershipMember,
    MembershipState,
)
from competition.organisations.models import Organisation, OrganisationKind
from competition.programmes.models import Programme
from competition.workflow import StepRefused
from tests.conftest import Browser
from tests.factories import make_organisation, make_programme, make_user
from tests.helpers import as_person, person, queries_for_page, text
from tests.integration.membership_world import (
    applied,
    build_world,
    evaluate,
    events,
    granted,
    mails,
    membership,
    steps,
    user,
)

pytestmark = pytest.mark.postgres


# --- applying: the profile and its counts ---------------------------------------------------


def test_an_applicant_applies_and_the_counts_come_from_the_registry_kinds(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        known = db.session.get(Organisation, world.member_ids[0])
        assert known is not None
        known_name = known.name
    browser = as_person(app, world.applicant)
    assert f"/programmes/{world.programme_id}/memberships/apply" in text(
        browser.get("/memberships")
    )

    answer = browser.submit(
        f"/programmes/{world.programme_id}/memberships/apply",
        {"organisation": world.cluster_name.upper(), "services": "Matchmaking and training."},
    )
    assert answer.status_code == 302
    with app.app_context():
        (created,) = db.session.scalars(sa.select(Membership)).all()
        membership_id = created.id
        assert created.state == MembershipState.APPLIED
        assert created.organisation_id == world.cluster_id
        assert created.applicant_id == world.applicant.id
    page = f"/memberships/{membership_id}"

    # One member chosen by name from the registry, more from a file.
    added = browser.submit(f"{page}/members", {"name": known_name.lower()}, page=page)
    assert added.status_code == 302
    csv = "\ufeffName;Art;Bundesland;Land\r\n" + "\r\n".join(
        [
            "Neue Sensorik GmbH;KMU;Sachsen;DE",  # new to the registry: an SME
            "Großwerk AG;Großunternehmen;Bayern;DE",  # new: a large firm
            "TU Beispielstadt;Hochschule;Sachsen;DE",  # new: a research partner
            f"{known_name};;;DE",  # already a member
            "Neue Sensorik GmbH;KMU;Sachsen;DE",  # twice in the file
            f"{world.cluster_name};;;DE",  # the cluster itself
            "Nowhere Ltd;;;DE",  # unknown, without a kind
        ]
    )
    imported = browser.submit(
        f"{page}/members/import",
        {"file": (io.BytesIO(csv.encode()), "members.csv")},
        page=page,
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200
    report = text(imported)
    assert "3 organisations added." in report
    for refusal in (
        "is already a member",
        "already in row 2",
        "not its own member",
        "give the kind of organisation",
    ):
        assert refusal in report, refusal

    with app.app_context():
        counts = queries.counts_of(membership(membership_id))
        # known: an SME; the file: an SME, a large firm, a university.
        assert counts.as_dict() == {
            "members": 4,
            "smes": 2,
            "large_firms": 1,
            "research": 1,
            "others": 0,
        }
        assert len(events("membership.members_imported")) == 1
        # The kinds are the registry's: changing one there changes the counts, nobody types them.
        large = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Großwerk AG"))
        large.kind = OrganisationKind.SME
        db.session.commit()
        assert queries.counts_of(membership(membership_id)).smes == 3
    shown = text(browser.get(page))
    assert 'id="cluster-counts"' in shown and "Neue Sensorik GmbH" in shown


def test_a_second_application_for_the_same_organisation_is_refused_at_its_field(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        applied(world, members=False)
    browser = as_person(app, world.applicant)
    again = browser.submit(
        f"/programmes/{world.programme_id}/memberships/apply",
        {"organisation": world.cluster_name, "services": ""},
    )
    assert again.status_code == 422
    page = text(again)
    assert (
        "already applies for or holds a membership" in page[page.index('id="organisation-error"') :]
    )
    unknown = browser.submit(
        f"/programmes/{world.programme_id}/memberships/apply",
        {"organisation": "Cluster Unbekannt e.V.", "services": ""},
    )
    assert unknown.status_code == 422
    assert "choose its kind and federal state" in text(unknown)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1


# --- the lifecycle through the gateway ------------------------------------------------------


def test_each_step_passes_the_gateway_and_the_holder_hears_of_each_decision(app):  # type: ignore[no-untyped-def]
    now = utcnow()
    with app.app_context():
        world = build_world()
        membership_id = applied(world, now=now)
        # The first evaluation opens the evaluation; the juror and the first officer evaluate.
        evaluate(world, membership_id, world.juror, "grant", now=now)
        evaluation_id = evaluate(world, membership_id, world.officer, "grant", now=now)
        assert membership(membership_id).state == MembershipState.IN_EVALUATION
        assert membership(membership_id).round == 1
        start = now.date()
        ops.decide(
            membership(membership_id),
            actor=user(world.second_officer),
            action="grant",
            evaluation_id=evaluation_id,
            valid_from=start,
            valid_until=start + dt.timedelta(days=364),
            now=now,
        )
        held = membership(membership_id)
        assert held.state == MembershipState.GRANTED
        assert (held.valid_from, held.valid_until) == (start, start + dt.timedelta(days=364))

        ops.start_reevaluation(held, actor=user(world.officer), now=now)
        assert membership(membership_id).round == 2
        renewal = evaluate(world, membership_id, world.juror, "renew", now=now)
        ops.decide(
            membership(membership_id),
            actor=user(world.officer),
            action="renew",
            evaluation_id=renewal,
            valid_from=start + dt.timedelta(days=365),
            valid_until=start + dt.timedelta(days=729),
            now=now,
        )
        # Renewed without a break: it is a member since the grant, until the renewal's end.
        renewed = membership(membership_id)
        assert (renewed.valid_from, renewed.valid_until) == (start, start + dt.timedelta(days=729))

        ops.start_reevaluation(membership(membership_id), actor=user(world.officer), now=now)
        ending = evaluate(world, membership_id, world.second_officer, "withdraw", now=now)
        ops.decide(
            membership(membership_id),
            actor=user(world.officer),
            action="withdraw",
            evaluation_id=ending,
            reason="The cluster has stopped offering services.",
            now=now,
        )

        assert steps(membership_id) == [
            ("applied", "start_evaluation", "in_evaluation"),
            ("in_evaluation", "grant", "granted"),
            ("granted", "start_reevaluation", "in_reevaluation"),
            ("in_reevaluation", "renew", "granted"),
            ("granted", "start_reevaluation", "in_reevaluation"),
            ("in_reevaluation", "withdraw", "withdrawn"),
        ]
        for action in ("evaluation_started", "granted", "reevaluation_started", "renewed"):
            assert events(f"membership.{action}"), action
        (withdrawn,) = events("membership.withdrawn")
        assert withdrawn.personal["after"]["reason"] == "The cluster has stopped offering services."
        for template in ("granted", "renewed", "withdrawn"):
            (mail,) = mails(template)
            assert mail.to_address == user(world.applicant).email
            assert mail.dedup_key.startswith("memberships.decision:")
        assert len(mails("reevaluation")) == 2  # one per period

        # A withdrawn membership takes no more steps, and nothing was written by refusing one.
        with pytest.raises(DomainError):
            ops.start_reevaluation(membership(membership_id), actor=user(world.officer), now=now)
        db.session.rollback()
        assert len(steps(membership_id)) == 6


def test_illegal_steps_are_refused(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = granted(world)
        # A holder cannot take back what was granted; a grant is not granted again.
        with pytest.raises(StepRefused, match="granted; it cannot be withdrawn by the applicant"):
            ops.retract_application(
                membership(membership_id), actor=user(world.applicant), now=utcnow()
            )
        db.session.rollback()
        with pytest.raises(DomainError) as refused:
            ops.decide(
                membership(membership_id),
                actor=user(world.officer),
                action="grant",
                evaluation_id=None,
                now=utcnow(),
            )
        assert "action" in refused.value.errors
        db.session.rollback()
        assert len(steps(membership_id)) == 2


def test_the_applicant_withdraws_an_application_before_it_is_decided(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = applied(world, members=False)
    browser = as_person(app, world.applicant)
    page = f"/memberships/{membership_id}"
    assert "Withdraw the application" in text(browser.get(page))
    assert browser.submit(f"{page}/retract", {}, page=page).status_code == 302
    with app.app_context():
        assert membership(membership_id).state == MembershipState.RETRACTED
        assert steps(membership_id) == [("applied", "retract", "retracted")]
        # The organisation may apply again.
        applied(world, members=False)


# --- four eyes ---------------------------------------------------------------------------


def test_the_officer_who_recorded_the_evaluation_may_not_decide_on_it(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = applied(world)
        evaluation_id = evaluate(world, membership_id, world.officer, "grant")
        arguments = {
            "action": "grant",
            "evaluation_id": evaluation_id,
            "valid_from": dt.date(2027, 1, 1),
            "valid_until": dt.date(2027, 12, 31),
            "now": utcnow(),
        }
        with pytest.raises(DomainError, match="Four eyes") as refused:
            ops.decide(membership(membership_id), actor=user(world.officer), **arguments)
        assert list(refused.value.errors) == ["evaluation_id"]
        db.session.rollback()
        # Nor may a decision go against the evaluation it rests on.
        with pytest.raises(DomainError, match="does not recommend this"):
            ops.decide(
                membership(membership_id),
                actor=user(world.second_officer),
                **{**arguments, "action": "refuse"},
                reason="No.",
            )
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MembershipDecision)) == 0
        assert membership(membership_id).state == MembershipState.IN_EVALUATION
        ops.decide(membership(membership_id), actor=user(world.second_officer), **arguments)
        assert membership(membership_id).state == MembershipState.GRANTED


def test_the_database_refuses_a_decision_by_the_evaluator_or_naming_another_evaluator(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = applied(world)
        evaluation_id = evaluate(world, membership_id, world.officer, "grant")
        row = {
            "membership_id": membership_id,
            "evaluation_id": evaluation_id,
            "action": "grant",
            "round": 1,
            "reason": "",
            "valid_from": dt.date(2027, 1, 1),
            "valid_until": dt.date(2027, 12, 31),
            "decided_at": utcnow(),
        }
        same = {**row, "evaluated_by_id": world.officer.id, "decided_by_id": world.officer.id}
        with pytest.raises(sa.exc.IntegrityError, match="four_eyes"):
            db.session.execute(sa.insert(MembershipDecision), [same])
        db.session.rollback()
        # Claiming someone else recorded the evaluation breaks the foreign key to it.
        claimed = {**row, "evaluated_by_id": world.juror.id, "decided_by_id": world.officer.id}
        with pytest.raises(sa.exc.IntegrityError, match="fk_membership_decisions_evaluation"):
            db.session.execute(sa.insert(MembershipDecision), [claimed])
        db.session.rollback()
        fine = {
            **row,
            "evaluated_by_id": world.officer.id,
            "decided_by_id": world.second_officer.id,
        }
        db.session.execute(sa.insert(MembershipDecision), [fine])
        db.session.rollback()


# --- the pages of an evaluation and a decision ----------------------------------------------


def test_an_evaluator_scores_and_a_second_officer_grants_through_the_pages(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = applied(world)
    page = f"/memberships/{membership_id}"
    juror = as_person(app, world.juror)
    assert f"{page}/evaluation" in text(juror.get("/memberships"))
    form = f"{page}/evaluation"
    missing = juror.submit(form, {"recommendation": "grant"})
    assert missing.status_code == 422
    assert "Services: choose a score" in text(missing)
    scores = {f"score-{c}": "4.5" for c in world.criteria}
    assert juror.submit(form, {**scores, "recommendation": "grant"}).status_code == 302
    # Recording again replaces the juror's evaluation of the round.
    assert juror.submit(form, {**scores, "recommendation": "refuse"}).status_code == 302
    with app.app_context():
        (evaluation,) = queries.evaluations_of(membership(membership_id))
        assert (evaluation.revision, evaluation.recommendation.value) == (2, "refuse")
        assert evaluation.counts["members"] == 7
        evaluation_id = evaluation.id
    assert juror.submit(form, {**scores, "recommendation": "grant"}).status_code == 302

    officer = as_person(app, world.officer)
    decide_page = text(officer.get(f"{page}/decision"))
    assert "Jana Juror recommends: Grant the membership" in decide_page
    decided = officer.submit(
        f"{page}/decision",
        {
            "action": "grant",
            "evaluation_id": str(evaluation_id),
            f"revision-{evaluation_id}": "3",
            "valid_from": "2027-01-01",
            "valid_until": "2027-12-31",
        },
        page=f"{page}/decision",
    )
    assert decided.status_code == 302, text(decided)
    with app.app_context():
        held = membership(membership_id)
        assert held.state == MembershipState.GRANTED
        assert (held.valid_from, held.valid_until) == (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    shown = text(as_person(app, world.applicant).get(page))
    assert "Member from 01.01.2027 until 31.12.2027" in shown
    assert "Jana Juror" not in shown  # the applicant reads no evaluation, and no evaluator


def test_a_decision_on_an_evaluation_recorded_again_meanwhile_is_refused(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = applied(world)
        evaluation_id = evaluate(world, membership_id, world.juror, "grant")
        evaluate(world, membership_id, world.juror, "grant")  # revision 2
    page = f"/memberships/{membership_id}/decision"
    stale = as_person(app, world.officer).submit(
        page,
        {
            "action": "grant",
            "evaluation_id": str(evaluation_id),
            f"revision-{evaluation_id}": "1",
            "valid_from": "2027-01-01",
            "valid_until": "2027-12-31",
        },
    )
    assert stale.status_code == 409
    assert "recorded again since you looked" in text(stale)
    with app.app_context():
        assert membership(membership_id).state == MembershipState.IN_EVALUATION


def test_a_withdrawal_is_previewed_and_done_only_when_confirmed(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = granted(world)
        ops.start_reevaluation(membership(membership_id), actor=user(world.officer), now=utcnow())
        evaluation_id = evaluate(world, membership_id, world.juror, "withdraw")
    officer = as_person(app, world.officer)
    page = f"/memberships/{membership_id}/decision"
    fields = {
        "action": "withdraw",
        "evaluation_id": str(evaluation_id),
        f"revision-{evaluation_id}": "1",
        "reason": "No services offered for a year.",
    }
    no_reason = officer.submit(page, {**fields, "reason": ""})
    assert no_reason.status_code == 422
    assert "Give the reason" in text(no_reason)
    preview = officer.submit(page, fields)
    assert preview.status_code == 200
    shown = text(preview)
    assert "leaves the public list of members" in shown
    assert "Its cluster has 7 member organisations." in shown
    with app.app_context():
        assert membership(membership_id).state == MembershipState.IN_REEVALUATION
        assert mails("withdrawn") == []
    done = officer.submit(page, {**fields, "confirmed": "1"})
    assert done.status_code == 302
    with app.app_context():
        assert membership(membership_id).state == MembershipState.WITHDRAWN
        (mail,) = mails("withdrawn")
        assert mail.context["reason"] == "No services offered for a year."


# --- who sees what -------------------------------------------------------------------------


def test_each_reader_sees_only_the_memberships_that_are_theirs_to_see(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = applied(world)
        other_applicant = person(make_user(roles=(Role.APPLICANT,)))
        other_officer = make_user(roles=(Role.OFFICER,))
        make_programme(officers=(other_officer,), kind="membership", slug="other-cluster")
        stranger_juror = person(make_user(roles=(Role.JUROR,)))
        # A juror of the programme whose organisation is one of the cluster's members.
        conflicted = make_user(roles=(Role.JUROR,), organisation_id=world.member_ids[0])
        db.session.add(
            MembershipEvaluator(
                programme_id=world.programme_id, user_id=conflicted.id, added_at=utcnow()
            )
        )
        db.session.commit()
        outsiders = (other_applicant, person(other_officer), stranger_juror, person(conflicted))
    page = f"/memberships/{membership_id}"
    for who in (world.applicant, world.officer, world.second_officer, world.juror):
        assert as_person(app, who).get(page).status_code == 200, who
    for who in outsiders:
        browser = as_person(app, who)
        assert browser.get(page).status_code == 404, who
        assert world.cluster_name not in text(browser.get("/memberships"))
    # The officers' pages of the programme are not found by an officer of another programme.
    other = as_person(app, outsiders[1])
    for url in (
        f"/programmes/{world.programme_id}/memberships",
        f"/programmes/{world.programme_id}/membership-criteria",
        f"{page}/decision",
    ):
        assert other.get(url).status_code == 404, url
    # Roles decide the rest: an applicant does not evaluate, decide or set up.
    applicant = as_person(app, world.applicant)
    for url in (
        f"{page}/evaluation",
        f"{page}/decision",
        f"/programmes/{world.programme_id}/memberships",
    ):
        assert applicant.get(url).status_code == 403, url
    # The juror evaluates but does not decide.
    assert as_person(app, world.juror).get(f"{page}/decision").status_code == 403


def test_operations_check_permission_again(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = applied(world)
        with pytest.raises(PermissionDenied):
            ops.add_member(
                membership(membership_id), actor=user(world.officer), name="x", now=utcnow()
            )
        with pytest.raises(PermissionDenied):
            ops.record_evaluation(
                membership(membership_id),
                actor=user(world.applicant),
                scores={},
                comment="",
                recommendation="grant",
                now=utcnow(),
            )
        with pytest.raises(PermissionDenied):
            ops.start_reevaluation(membership(membership_id), actor=user(world.juror), now=utcnow())


def test_the_public_list_shows_only_memberships_in_force(app):  # type: ignore[no-untyped-def]
    today = utcnow().date()
    with app.app_context():
        world = build_world()
        held = granted(world)
        states: dict[str, int] = {}
        for name, recommendation in (("Applied", None), ("Refused", "refuse"), ("Withdrawn", "x")):
            cluster = make_organisation(name=f"{name} Cluster e.V.", kind=OrganisationKind.SOCIETY)
            programme = db.session.get(Programme, world.programme_id)
            created = ops.apply_for_membership(
                programme, actor=user(world.applicant), organisation_name=cluster.name,
                services="", now=utcnow()
            )  # fmt: skip
            states[name] = created.id
            if recommendation == "refuse":
                evaluation = evaluate(world, created.id, world.juror, "refuse")
                ops.decide(
                    membership(created.id), actor=user(world.officer), action="refuse",
                    evaluation_id=evaluation, reason="Not a cluster.", now=utcnow()
                )  # fmt: skip
        withdrawn = states["Withdrawn"]
        evaluation = evaluate(world, withdrawn, world.juror, "grant")
        ops.decide(
            membership(withdrawn), actor=user(world.officer), action="grant",
            evaluation_id=evaluation, valid_from=today, valid_until=today + dt.timedelta(days=30),
            now=utcnow()
        )  # fmt: skip
        ops.start_reevaluation(membership(withdrawn), actor=user(world.officer), now=utcnow())
        evaluation = evaluate(world, withdrawn, world.juror, "withdraw")
        ops.decide(
            membership(withdrawn), actor=user(world.second_officer), action="withdraw",
            evaluation_id=evaluation, reason="Gone.", now=utcnow()
        )  # fmt: skip
        # Held, but its period is over (nobody decided the re-evaluation in time).
        expired_cluster = make_organisation(name="Expired Cluster e.V.")
        expired = Membership(
            programme_id=world.programme_id, organisation_id=expired_cluster.id,
            applicant_id=world.applicant.id, services="", state=MembershipState.IN_REEVALUATION,
            applied_at=utcnow(), updated_at=utcnow(), round=2,
            valid_from=today - dt.timedelta(days=400), valid_until=today - dt.timedelta(days=1),
        )  # fmt: skip
        db.session.add(expired)
        db.session.commit()

    anonymous = app.test_client()
    page = text(anonymous.get(f"/programmes/{world.slug}/members"))
    assert world.cluster_name in page
    assert f'id="member-{held}"' in page
    for name in ("Applied", "Refused", "Withdrawn", "Expired"):
        assert f"{name} Cluster" not in page, name
    assert "1 member" in page
    # 7 members: 3 SMEs, 1 large firm, 2 research partners.
    row = page[page.index(f'id="member-{held}"') :]
    assert [cell for cell in ("7", "3", "1", "2") if f'<td class="num">{cell}</td>' in row[:600]]
    searched = text(anonymous.get(f"/programmes/{world.slug}/members?q=trade+fairs"))
    assert world.cluster_name in searched
    assert world.cluster_name not in text(
        anonymous.get(f"/programmes/{world.slug}/members?q=nothing-like-it")
    )
    # A competition has no members page.
    with app.app_context():
        competition = make_programme(slug="clusters4future")
        db.session.commit()
        assert competition.kind.value == "competition"
    assert anonymous.get("/programmes/clusters4future/members").status_code == 404


def test_the_public_list_is_in_german_for_a_german_reader(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        granted(world)
    browser = Browser(app.test_client())
    browser.submit("/language", {"locale": "de"}, page=f"/programmes/{world.slug}/members")
    page = text(browser.get(f"/programmes/{world.slug}/members"))
    assert "Mitglieder von go-cluster" in page
    assert "KMU" in page and "Gültig bis" in page


# --- the registry counts each cluster's members --------------------------------------------


def test_the_registry_shows_a_cluster_management_organisations_members_by_kind(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        granted(world)
        officer = world.officer
    browser = as_person(app, officer)
    page = text(browser.get(f"/organisations/{world.cluster_id}"))
    assert "Its cluster's member organisations" in page
    counts = page[page.index('id="cluster-counts"') :]
    assert [f'<td class="num">{n}</td>' in counts for n in (7, 3, 1, 2)] == [True] * 4
    assert "Membership:" in page  # where it is used: its membership of go-cluster
    # A member names the cluster it belongs to.
    member = text(browser.get(f"/organisations/{world.member_ids[0]}"))
    assert "Cluster member:" in member and f"{world.cluster_name} (go-cluster)</a>" in member
    listed = text(browser.get("/organisations?q=Cluster+Management"))
    row = listed[listed.index(f'id="organisation-{world.cluster_id}"') :]
    assert "3 SMEs, 1 large firms, 2 research partners" in row[:800]


def test_the_registry_list_counts_every_cluster_in_one_query_whatever_their_number(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        granted(world)
    browser = as_person(app, world.officer)
    few = queries_for_page(app, browser, "/organisations")
    with app.app_context():
        programme = db.session.get(Programme, world.programme_id)
        for n in range(3):
            cluster = make_organisation(name=f"Another Cluster {n} e.V.")
            created = ops.apply_for_membership(
                programme, actor=user(world.applicant), organisation_name=cluster.name,
                services="", now=utcnow(),
            )  # fmt: skip
            for _ in range(4):
                db.session.add(
                    MembershipMember(
                        membership_id=created.id,
                        organisation_id=make_organisation().id,
                        added_at=utcnow(),
                    )
                )
        db.session.commit()
    assert queries_for_page(app, browser, "/organisations") == few


def test_a_merge_that_would_list_one_organisation_twice_in_a_cluster_is_refused(app):  # type: ignore[no-untyped-def]
    from competition.organisations.operations import merge_organisations

    with app.app_context():
        world = build_world()
        applied(world)
        merged = db.session.get(Organisation, world.member_ids[0])
        kept = db.session.get(Organisation, world.member_ids[1])
        with pytest.raises(DomainError, match="Both organisations are members of the cluster"):
            merge_organisations(merged, into=kept, actor=user(world.officer), now=utcnow())
        db.session.rollback()
        outsider = make_organisation()
        merge_organisations(
            db.session.get(Organisation, outsider.id),
            into=db.session.get(Organisation, world.member_ids[1]),
            actor=user(world.officer),
            now=utcnow(),
        )


# --- the programme's kind and its pages -------------------------------------------------------


def test_an_officer_sets_up_a_membership_programme_which_takes_no_calls(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = person(make_user(roles=(Role.OFFICER,)))
        db.session.commit()
    browser = as_person(app, officer)
    created = browser.submit(
        "/programmes/new",
        {"name": "go-cluster", "slug": "go-cluster", "total_budget": "0", "kind": "membership"},
    )
    assert created.status_code == 302
    with app.app_context():
        programme = db.session.scalar(sa.select(Programme))
        programme_id = programme.id
        assert programme.is_membership
    page = text(browser.get(f"/programmes/{programme_id}"))
    assert "it has no calls" in page and "New call" not in page
    assert f"/programmes/{programme_id}/memberships" in page
    no_call = browser.get(f"/programmes/{programme_id}/calls/new")
    assert "not through calls" in text(no_call) and 'name="round_number"' not in text(no_call)
    with app.app_context():
        from competition.programmes.operations import create_call

        with pytest.raises(DomainError, match="membership programme"):
            create_call(
                db.session.get(Programme, programme_id),
                actor=user(officer),
                name="Round 1",
                round_number=1,
                reference_prefix="GC",
                now=utcnow(),
            )
        db.session.rollback()
        world_applicant = make_user(roles=(Role.APPLICANT,))
        cluster = make_organisation(name="Some Cluster e.V.")
        ops.apply_for_membership(
            db.session.get(Programme, programme_id),
            actor=world_applicant,
            organisation_name=cluster.name,
            services="",
            now=utcnow(),
        )
    # Holding a membership, it stays a membership programme.
    back = browser.submit(
        f"/programmes/{programme_id}/edit",
        {"name": "go-cluster", "slug": "go-cluster", "total_budget": "0", "kind": "competition"},
    )
    assert back.status_code == 422
    assert "it stays a membership programme" in text(back)
    # Criteria are set up on the programme's page for them.
    criteria = f"/programmes/{programme_id}/membership-criteria"
    bad = browser.submit(
        criteria,
        {"name": "Reach", "weight": "0", "scale_min": "0", "scale_max": "5", "scale_step": "1"},
    )
    assert bad.status_code == 422 and "The weight must be greater than 0." in text(bad)
    good = browser.submit(
        criteria,
        {"name": "Reach", "weight": "1,5", "scale_min": "0", "scale_max": "5", "scale_step": "0.5"},
    )
    assert good.status_code == 302
    assert "Reach" in text(browser.get(criteria))


def test_a_competition_with_calls_cannot_become_a_membership_programme(app):  # type: ignore[no-untyped-def]
    from tests.factories import make_call

    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        programme = make_programme(officers=(officer,), slug="c4f", name="C4F")
        make_call(programme)
        db.session.commit()
        programme_id, who = programme.id, person(officer)
    refused = as_person(app, who).submit(
        f"/programmes/{programme_id}/edit",
        {"name": "C4F", "slug": "c4f", "total_budget": "1000", "kind": "membership"},
    )
    assert refused.status_code == 422
    assert "a membership programme has none" in text(refused)


def test_the_pages_read_the_same_few_queries_however_many_members(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        membership_id = granted(world)
    pages = [
        (as_person(app, world.officer), f"/memberships/{membership_id}"),
        (as_person(app, world.applicant), f"/memberships/{membership_id}"),
        (as_person(app, world.officer), f"/programmes/{world.programme_id}/memberships"),
        (Browser(app.test_client()), f"/programmes/{world.slug}/members"),
    ]
    few = [queries_for_page(app, browser, url) for browser, url in pages]
    with app.app_context():
        for _ in range(30):
            db.session.add(
                MembershipMember(
                    membership_id=membership_id,
                    organisation_id=make_organisation().id,
                    added_at=utcnow(),
                )
            )
        db.session.commit()
    assert [queries_for_page(app, browser, url) for browser, url in pages] == few


def test_the_officers_list_filters_by_state_and_searches_by_name(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        held = granted(world)
        other = make_organisation(name="Zweiter Cluster e.V.")
        waiting = ops.apply_for_membership(
            db.session.get(Programme, world.programme_id),
            actor=user(world.applicant),
            organisation_name=other.name,
            services="",
            now=utcnow(),
        ).id
    browser = as_person(app, world.officer)
    url = f"/programmes/{world.programme_id}/memberships"
    everything = text(browser.get(url))
    assert f'id="membership-{held}"' in everything and f'id="membership-{waiting}"' in everything
    applied_only = text(browser.get(f"{url}?state=applied"))
    assert f'id="membership-{waiting}"' in applied_only
    assert f'id="membership-{held}"' not in applied_only
    searched = text(browser.get(f"{url}?q=zweiter"))
    assert f'id="membership-{waiting}"' in searched and f'id="membership-{held}"' not in searched
