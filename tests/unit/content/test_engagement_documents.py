"""The optional documents: consent notices, surveys, coupon campaigns and prize draws.

A bundle without them loads with none; a broken one says file, field and problem.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import (
    edit_json,
    only_problem,
    problems_of,
    remove_file,
    sample_bundle,
    write_file,
)
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from content.bundle import (
    COUPONS,
    MANIFEST,
    NOTICES,
    OFFERS,
    OPTIONAL_DOCUMENTS,
    PRIZES,
    SURVEYS,
    BundleProblem,
    load_bundle,
)
from content.model import (
    ConsentPurpose,
    LocalizedText,
    QuestionKind,
    Survey,
    SurveyQuestion,
)

Edit = Callable[[Any], object]


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    # One product: these tests are about the other documents, and copy a bundle each.
    return sample_bundle(tmp_path / "bundle", products=1)


def drop_documents(root: Path, *names: str) -> None:
    """Remove documents and their manifest entries, as a bundle without them would be."""
    for name in names:
        if (root / name).exists():  # the sample has no recommender.json
            remove_file(root, name)
    edit_json(
        root,
        MANIFEST,
        lambda doc: doc.update(assets=[a for a in doc["assets"] if a["path"] not in names]),
    )


# --- Loading and lookups ---------------------------------------------------------


def test_sample_bundle_offers_notices_surveys_coupons_and_a_draw(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)

    assert [n.purpose for n in bundle.notices] == list(ConsentPurpose)
    marketing = bundle.notice(ConsentPurpose.MARKETING)
    assert marketing is not None
    assert marketing.purpose is ConsentPurpose.MARKETING
    assert bundle.notice(ConsentPurpose("recognition")) is bundle.notices[2]

    visit = bundle.survey("visit")
    assert visit is not None
    assert visit.reward is not None
    reward = bundle.campaign(visit.reward)
    assert reward is not None
    assert bundle.campaign_numbered(reward.number) is reward

    draw = bundle.prize_draw("daily-draw")
    assert draw is not None
    assert all(bundle.campaign(prize.campaign) is not None for prize in draw.prizes)

    assert bundle.survey("nope") is None
    assert bundle.campaign("nope") is None
    assert bundle.campaign_numbered(4095) is None
    assert bundle.prize_draw("nope") is None


def test_bundle_without_the_optional_documents_loads_with_none(bundle_dir: Path) -> None:
    drop_documents(bundle_dir, *OPTIONAL_DOCUMENTS)

    bundle = load_bundle(bundle_dir)

    assert bundle.notices == ()
    assert bundle.surveys == ()
    assert bundle.campaigns == ()
    assert bundle.prize_draws == ()
    assert bundle.notice(ConsentPurpose.MEMBERSHIP) is None
    assert bundle.survey("visit") is None
    assert bundle.campaign("accessory-50") is None
    assert bundle.prize_draw("daily-draw") is None
    assert len(bundle.catalog.products) == 1


def test_a_survey_without_a_reward_needs_no_coupons(bundle_dir: Path) -> None:
    drop_documents(bundle_dir, COUPONS, PRIZES, OFFERS)  # all that name campaigns
    edit_json(bundle_dir, SURVEYS, lambda doc: doc["surveys"][1].pop("reward"))

    bundle = load_bundle(bundle_dir)

    assert [survey.id for survey in bundle.surveys] == ["smiley", "visit"]
    assert bundle.campaigns == ()


def test_optional_document_must_be_listed_in_the_manifest(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir,
        MANIFEST,
        lambda doc: doc.update(assets=[a for a in doc["assets"] if a["path"] != NOTICES]),
    )
    assert only_problem(bundle_dir) == BundleProblem(NOTICES, "", "is not listed in manifest.json")


def test_optional_document_listed_but_missing_is_an_error(bundle_dir: Path) -> None:
    remove_file(bundle_dir, PRIZES)
    assert only_problem(bundle_dir) == BundleProblem(
        PRIZES, "", "is listed in manifest.json but missing"
    )


def test_changed_optional_document_is_caught_by_its_hash(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir,
        COUPONS,
        lambda doc: doc["campaigns"][0].update(daily_budget=9999),
        update_manifest=False,
    )
    fields = {(p.file, p.field) for p in problems_of(bundle_dir)}
    assert fields & {(COUPONS, "size"), (COUPONS, "sha256")}


def test_broken_json_in_an_optional_document_is_reported(bundle_dir: Path) -> None:
    write_file(bundle_dir, SURVEYS, b'{"surveys": [')

    problem = only_problem(bundle_dir)

    assert (problem.file, problem.field) == (SURVEYS, "")
    assert problem.problem.startswith("invalid JSON")


def test_broken_coupons_do_not_also_fail_every_reward(bundle_dir: Path) -> None:
    write_file(bundle_dir, COUPONS, b"[]")
    assert [p.file for p in problems_of(bundle_dir)] == [COUPONS]


def test_rewards_and_prizes_must_name_existing_campaigns(bundle_dir: Path) -> None:
    edit_json(bundle_dir, SURVEYS, lambda doc: doc["surveys"][1].update(reward="gone-50"))
    edit_json(
        bundle_dir, PRIZES, lambda doc: doc["draws"][0]["prizes"][1].update(campaign="case-5")
    )

    problems = problems_of(bundle_dir)

    assert [str(p) for p in problems] == [
        "surveys.json: surveys[1].reward: coupon campaign 'gone-50' is not in coupons.json",
        "prizes.json: draws[0].prizes[1].campaign: coupon campaign 'case-5' is not in coupons.json",
    ]


def test_a_prize_picture_must_be_a_listed_asset(bundle_dir: Path) -> None:
    edit_json(
        bundle_dir, PRIZES, lambda doc: doc["draws"][0]["prizes"][1].update(image="images/no.png")
    )
    assert only_problem(bundle_dir) == BundleProblem(
        PRIZES, "draws[0].prizes[1].image", "images/no.png is not listed in manifest.json"
    )


def test_the_sample_draws_grand_prize_comes_with_its_picture(bundle_dir: Path) -> None:
    (draw,) = load_bundle(bundle_dir).prize_draws
    grand, case = draw.prizes
    assert grand.image is not None
    assert grand.image.startswith("images/")
    assert (case.image, draw.rules) == (None, None)  # the kiosk's ticket and its own rules


def test_rewards_need_coupons_json(bundle_dir: Path) -> None:
    drop_documents(bundle_dir, COUPONS, PRIZES, OFFERS)  # all that name campaigns
    assert only_problem(bundle_dir) == BundleProblem(
        SURVEYS, "surveys[1].reward", "coupon campaign 'accessory-50' is not in coupons.json"
    )


# --- Each rule names the offending field --------------------------------------------


def _set(path: tuple[str | int, ...], value: object) -> Edit:
    def edit(doc: Any) -> None:
        *parents, last = path
        for part in parents:
            doc = doc[part]
        doc[last] = value

    return edit


def _pop(path: tuple[str | int, ...]) -> Edit:
    def edit(doc: Any) -> None:
        *parents, last = path
        for part in parents:
            doc = doc[part]
        del doc[last]

    return edit


def _copy(path: tuple[str | int, ...], count: int) -> Edit:
    """Append copies of the first item of a list."""

    def edit(doc: Any) -> None:
        for part in path:
            doc = doc[part]
        doc.extend(dict(doc[0]) for _ in range(count))

    return edit


_CHOICES = ("surveys", 1, "questions", 1, "choices")
_VISIT = ("surveys", 1, "questions")

RULES = [
    # notices.json
    pytest.param(
        NOTICES, _pop(("notices", 2)), "notices", "no notice for recognition", id="notice-missing"
    ),
    pytest.param(
        NOTICES,
        _set(("notices", 3, "purpose"), "marketing"),
        "notices[3].purpose",
        "a second notice for 'marketing' (first at notices[1])",
        id="notice-purpose-twice",
    ),
    pytest.param(
        NOTICES,
        _set(("notices", 0, "purpose"), "profiling"),
        "notices[0].purpose",
        "Input should be 'membership', 'marketing', 'recognition' or 'personalisation'",
        id="notice-unknown-purpose",
    ),
    pytest.param(
        NOTICES,
        _set(("notices", 0, "version"), ""),
        "notices[0].version",
        "String should have at least 1 character",
        id="notice-version-empty",
    ),
    pytest.param(
        NOTICES,
        _set(("notices", 0, "version"), "v" * 51),
        "notices[0].version",
        "String should have at most 50 characters",
        id="notice-version-long",
    ),
    pytest.param(
        NOTICES,
        _set(("notices", 1, "text", "zh-CN"), "字" * 2001),
        "notices[1].text.zh-CN",
        "is 2001 characters; a notice has at most 2000",
        id="notice-text-long",
    ),
    # surveys.json
    pytest.param(
        SURVEYS,
        _set(("surveys", 1, "id"), "Visit Survey"),
        "surveys[1].id",
        "must be 1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit",
        id="survey-id-not-a-slug",
    ),
    pytest.param(
        SURVEYS,
        _set(("surveys", 1, "id"), "smiley"),
        "surveys[1].id",
        "duplicate survey id 'smiley' (first at surveys[0])",
        id="survey-id-twice",
    ),
    pytest.param(
        SURVEYS,
        _set(("surveys", 1, "questions"), []),
        "surveys[1].questions",
        "Tuple should have at least 1 item after validation, not 0",
        id="survey-no-questions",
    ),
    pytest.param(
        SURVEYS,
        _copy(("surveys", 0, "questions"), 10),
        "surveys[0].questions",
        "Tuple should have at most 10 items after validation, not 11",
        id="survey-eleven-questions",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 2, "id"), "experience"),
        "surveys[1].questions[2].id",
        "duplicate question id 'experience' (first at questions[0])",
        id="question-id-twice",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 3, "id"), "end"),
        "surveys[1].questions[3].id",
        "'end' is reserved for ending the survey",
        id="question-called-end",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 2, "kind"), "stars"),
        "surveys[1].questions[2].kind",
        "Input should be 'smiley', 'nps', 'single', 'multiple' or 'text'",
        id="question-unknown-kind",
    ),
    pytest.param(
        SURVEYS,
        lambda doc: doc["surveys"][1]["questions"][1].update(
            choices=doc["surveys"][1]["questions"][1]["choices"][:1]
        ),
        "surveys[1].questions[1].choices",
        "a single question needs 2 to 8 choices, not 1",
        id="single-one-choice",
    ),
    pytest.param(
        SURVEYS,
        lambda doc: doc["surveys"][1]["questions"][1]["choices"].extend(
            {"id": f"more-{n}", "label": {"zh-CN": "更多", "en": "More"}} for n in range(3)
        ),
        "surveys[1].questions[1].choices",
        "a single question needs 2 to 8 choices, not 9",
        id="single-nine-choices",
    ),
    pytest.param(
        SURVEYS,
        _set((*_CHOICES, 4, "id"), "staff"),
        "surveys[1].questions[1].choices[4].id",
        "duplicate choice id 'staff' (first at choices[1])",
        id="choice-id-twice",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 2, "choices"), [{"id": "a", "label": {"zh-CN": "甲", "en": "A"}}] * 2),
        "surveys[1].questions[2].choices",
        "a nps question has no choices",
        id="nps-with-choices",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 3, "max_length"), 501),
        "surveys[1].questions[3].max_length",
        "Input should be less than or equal to 500",
        id="text-too-long-allowed",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 3, "max_length"), 0),
        "surveys[1].questions[3].max_length",
        "Input should be greater than or equal to 1",
        id="text-max-length-zero",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 0, "branches", "5"), "recommend"),
        'surveys[1].questions[0].branches["5"]',
        '\'5\' is not an answer to this smiley question (expected "1" to "4")',
        id="smiley-branch-on-5",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 2, "branches"), {"11": "end"}),
        'surveys[1].questions[2].branches["11"]',
        '\'11\' is not an answer to this nps question (expected "0" to "10")',
        id="nps-branch-on-11",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 1, "branches"), {"parking": "end"}),
        "surveys[1].questions[1].branches.parking",
        "'parking' is not an answer to this single question (expected a choice id of this"
        " question)",
        id="single-branch-on-unknown-choice",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 3, "branches"), {"x": "end"}),
        "surveys[1].questions[3].branches.x",
        "a text question cannot branch (only single, smiley and nps questions can)",
        id="text-branch",
    ),
    pytest.param(
        SURVEYS,
        lambda doc: doc["surveys"][1]["questions"][1].update(
            kind="multiple", branches={"price": "end"}
        ),
        "surveys[1].questions[1].branches.price",
        "a multiple question cannot branch (only single, smiley and nps questions can)",
        id="multiple-branch",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 0, "branches", "4"), "thanks"),
        'surveys[1].questions[0].branches["4"]',
        "no question 'thanks' in this survey (or 'end' to end it)",
        id="branch-to-unknown-question",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 2, "branches"), {"0": "what-went-wrong"}),
        'surveys[1].questions[2].branches["0"]',
        "question 'what-went-wrong' is not after this one; a branch can only go forward"
        " (or to 'end')",
        id="branch-backwards",
    ),
    pytest.param(
        SURVEYS,
        _set((*_VISIT, 2, "branches"), {"0": "recommend"}),
        'surveys[1].questions[2].branches["0"]',
        "question 'recommend' is not after this one; a branch can only go forward (or to 'end')",
        id="branch-to-itself",
    ),
    pytest.param(
        SURVEYS,
        _set(("surveys", 1, "terminal"), True),
        "surveys[1].questions",
        "a terminal survey has exactly one question",
        id="terminal-with-four-questions",
    ),
    pytest.param(
        SURVEYS,
        _set(("surveys", 0, "questions", 0, "kind"), "nps"),
        "surveys[0].questions[0].kind",
        "a terminal survey asks a smiley question",
        id="terminal-nps",
    ),
    pytest.param(
        SURVEYS,
        _set(("surveys", 1, "low_score"), {"smiley": 5}),
        "surveys[1].low_score.smiley",
        "Input should be less than or equal to 4",
        id="low-smiley-above-4",
    ),
    pytest.param(
        SURVEYS,
        _set(("surveys", 1, "low_score"), {"nps": 11}),
        "surveys[1].low_score.nps",
        "Input should be less than or equal to 10",
        id="low-nps-above-10",
    ),
    # coupons.json
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "number"), 0),
        "campaigns[0].number",
        "Input should be greater than or equal to 1",
        id="campaign-number-0",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "number"), 4096),
        "campaigns[0].number",
        "Input should be less than or equal to 4095",
        id="campaign-number-4096",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 2, "id"), "accessory-50"),
        "campaigns[2].id",
        "duplicate campaign id 'accessory-50' (first at campaigns[0])",
        id="campaign-id-twice",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 2, "number"), 1),
        "campaigns[2].number",
        "duplicate campaign number 1 (first at campaigns[0])",
        id="campaign-number-twice",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 1, "value"), {"amount": "5.00"}),
        "campaigns[1].percent_off",
        "give either value or percent_off, not both",
        id="campaign-value-and-percent",
    ),
    pytest.param(
        COUPONS,
        _pop(("campaigns", 0, "value")),
        "campaigns[0]",
        "give either value (money off) or percent_off, one of the two",
        id="campaign-neither-value-nor-percent",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "value", "amount"), "0.00"),
        "campaigns[0].value.amount",
        "a coupon must be worth more than 0",
        id="campaign-worth-nothing",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 1, "percent_off"), 101),
        "campaigns[1].percent_off",
        "Input should be less than or equal to 100",
        id="campaign-101-percent",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "ends_at"), "2025-01-01T00:00:00+08:00"),
        "campaigns[0].ends_at",
        "must be after starts_at (2025-01-01T00:00:00+08:00)",
        id="campaign-ends-when-it-starts",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "starts_at"), "2025-01-01T00:00:00"),
        "campaigns[0].starts_at",
        "must be an ISO 8601 date and time with a UTC offset, e.g. 2025-06-18T09:30:00+08:00",
        id="campaign-start-without-offset",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "ends_at"), "next year"),
        "campaigns[0].ends_at",
        "must be an ISO 8601 date and time with a UTC offset, e.g. 2025-06-18T09:30:00+08:00",
        id="campaign-end-not-a-date",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "valid_days"), 367),
        "campaigns[0].valid_days",
        "Input should be less than or equal to 366",
        id="campaign-valid-367-days",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "daily_budget"), -1),
        "campaigns[0].daily_budget",
        "Input should be greater than or equal to 0",
        id="campaign-negative-budget",
    ),
    pytest.param(
        COUPONS,
        _pop(("campaigns", 0, "daily_budget")),
        "campaigns[0].daily_budget",
        "Field required",
        id="campaign-budget-required",
    ),
    pytest.param(
        COUPONS,
        _set(("campaigns", 0, "per_member_limit"), 0),
        "campaigns[0].per_member_limit",
        "Input should be greater than or equal to 1",
        id="campaign-per-member-0",
    ),
    # prizes.json
    pytest.param(
        PRIZES,
        _set(("draws", 0, "prizes", 0, "chance"), "0"),
        "draws[0].prizes[0].chance",
        "Input should be greater than 0",
        id="prize-chance-0",
    ),
    pytest.param(
        PRIZES,
        _set(("draws", 0, "prizes", 0, "chance"), "1.5"),
        "draws[0].prizes[0].chance",
        "Input should be less than or equal to 1",
        id="prize-chance-above-1",
    ),
    pytest.param(
        PRIZES,
        _set(("draws", 0, "prizes", 1, "chance"), "0.96"),
        "draws[0].prizes",
        "chances add up to 1.01; at most 1 (the rest is no prize)",
        id="prize-chances-above-1",
    ),
    pytest.param(
        PRIZES,
        _set(("draws", 0, "prizes", 0, "daily_cap"), -1),
        "draws[0].prizes[0].daily_cap",
        "Input should be greater than or equal to 0",
        id="prize-negative-cap",
    ),
    pytest.param(
        PRIZES,
        _set(("draws", 0, "prizes", 1, "id"), "grand"),
        "draws[0].prizes[1].id",
        "duplicate prize id 'grand' (first at prizes[0])",
        id="prize-id-twice",
    ),
    pytest.param(
        PRIZES,
        _set(("draws", 0, "prizes"), []),
        "draws[0].prizes",
        "Tuple should have at least 1 item after validation, not 0",
        id="draw-without-prizes",
    ),
    pytest.param(
        PRIZES,
        lambda doc: doc["draws"][0].update(
            prizes=[
                {"id": f"p{n}", "campaign": "case-10-off", "chance": "0.01", "daily_cap": 1}
                for n in range(21)
            ]
        ),
        "draws[0].prizes",
        "Tuple should have at most 20 items after validation, not 21",
        id="draw-21-prizes",
    ),
    pytest.param(
        PRIZES,
        _set(("draws", 0, "draws_per_member_per_day"), 0),
        "draws[0].draws_per_member_per_day",
        "Input should be greater than or equal to 1",
        id="draw-zero-per-day",
    ),
    pytest.param(
        PRIZES,
        _set(("draws", 0, "ends_at"), "2024-12-31T23:59:59+08:00"),
        "draws[0].ends_at",
        "must be after starts_at (2025-01-01T00:00:00+08:00)",
        id="draw-ends-before-it-starts",
    ),
    pytest.param(
        PRIZES,
        _copy(("draws",), 1),
        "draws[1].id",
        "duplicate draw id 'daily-draw' (first at draws[0])",
        id="draw-id-twice",
    ),
]


@pytest.mark.parametrize(("document", "edit", "field", "problem"), RULES)
def test_a_broken_rule_names_the_field(
    bundle_dir: Path, document: str, edit: Edit, field: str, problem: str
) -> None:
    edit_json(bundle_dir, document, edit)
    assert only_problem(bundle_dir) == BundleProblem(document, field, problem)


def test_every_problem_across_the_new_documents_is_collected(bundle_dir: Path) -> None:
    edit_json(bundle_dir, NOTICES, _set(("notices", 0, "version"), ""))
    edit_json(bundle_dir, SURVEYS, _set((*_VISIT, 0, "branches", "5"), "end"))
    edit_json(bundle_dir, SURVEYS, _set((*_VISIT, 2, "branches"), {"0": "experience"}))
    edit_json(bundle_dir, COUPONS, _set(("campaigns", 1, "percent_off"), 0))

    fields = [(p.file, p.field) for p in problems_of(bundle_dir)]

    assert fields == [
        (NOTICES, "notices[0].version"),
        # Question 0 is itself broken, so the survey's flow is not checked as well.
        (SURVEYS, 'surveys[1].questions[0].branches["5"]'),
        (COUPONS, "campaigns[1].percent_off"),
    ]


def test_branches_may_end_the_survey_and_chances_may_add_up_to_exactly_one(
    bundle_dir: Path,
) -> None:
    edit_json(bundle_dir, SURVEYS, _set((*_VISIT, 0, "branches", "1"), "end"))
    edit_json(
        bundle_dir,
        PRIZES,
        lambda doc: doc["draws"][0].update(
            prizes=[
                {"id": f"p{n}", "campaign": "case-10-off", "chance": "0.1", "daily_cap": 1}
                for n in range(10)
            ]
        ),
    )

    bundle = load_bundle(bundle_dir)

    visit = bundle.survey("visit")
    assert visit is not None
    assert visit.questions[0].branches["1"] == "end"
    draw = bundle.prize_draw("daily-draw")
    assert draw is not None
    # Ten times 0.1 is exactly 1 in decimal, though not in floating point.
    assert sum(p.chance for p in draw.prizes) == Decimal(1)


# --- Question flow, for any branches --------------------------------------------------

_TITLE = LocalizedText(zh_cn="调查", en="Survey")
_PROMPT = LocalizedText(zh_cn="如何？", en="How was it?")


def _smiley_survey(targets: list[list[int]]) -> Survey:
    """Smiley questions q0, q1, ...; targets[i][a] is where answer a + 1 jumps (-1: "end")."""
    return Survey(
        id="s",
        title=_TITLE,
        questions=tuple(
            SurveyQuestion(
                id=f"q{i}",
                kind=QuestionKind.SMILEY,
                prompt=_PROMPT,
                branches={
                    str(answer): "end" if to == -1 else f"q{to}"
                    for answer, to in enumerate(jumps, start=1)
                },
            )
            for i, jumps in enumerate(targets)
        ),
    )


_JUMPS = st.lists(
    st.lists(st.integers(min_value=-1, max_value=6), max_size=4), min_size=1, max_size=6
)


@given(targets=_JUMPS, data=st.data())
def test_any_accepted_survey_ends_whatever_the_answers(
    targets: list[list[int]], data: st.DataObject
) -> None:
    forward = all(
        to == -1 or i < to < len(targets) for i, jumps in enumerate(targets) for to in jumps
    )
    if not forward:
        with pytest.raises(ValidationError):
            _smiley_survey(targets)
        return

    survey = _smiley_survey(targets)
    position = {question.id: i for i, question in enumerate(survey.questions)}
    at: int | None = 0
    steps = 0
    while at is not None and at < len(survey.questions):
        answer = str(data.draw(st.integers(min_value=1, max_value=4)))
        target = survey.questions[at].branches.get(answer)
        at = at + 1 if target is None else (None if target == "end" else position[target])
        steps += 1
        assert steps <= len(survey.questions)
