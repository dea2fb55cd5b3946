"""The survey's question flow, answer checks and low scores: pure, fed by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content.model import (
    LocalizedText,
    LowScore,
    QuestionKind,
    Survey,
    SurveyChoice,
    SurveyQuestion,
)
from content.sample import SMILEY_SURVEY, VISIT_SURVEY, sample_surveys
from kiosk.survey import (
    SKIPPED,
    Answer,
    InvalidAnswer,
    check_answer,
    first_question,
    is_low,
    next_question,
    question,
    terminal_survey,
    visit_survey,
)

SURVEYS = sample_surveys().surveys


def text(words: str) -> LocalizedText:
    return LocalizedText(zh_cn=words, en=words)


def choices(*ids: str) -> tuple[SurveyChoice, ...]:
    return tuple(SurveyChoice(id=i, label=text(i)) for i in ids)


def ask(kind: QuestionKind, qid: str = "q", **more: object) -> SurveyQuestion:
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE) and "choices" not in more:
        more["choices"] = choices("red", "green", "blue")
    return SurveyQuestion.model_validate({"id": qid, "kind": kind, "prompt": text(qid), **more})


def survey_of(*questions: SurveyQuestion, low_score: LowScore | None = None) -> Survey:
    return Survey(id="s", title=text("s"), questions=questions, low_score=low_score or LowScore())


def visit() -> Survey:
    found = next(s for s in SURVEYS if s.id == VISIT_SURVEY)
    return found


def walk(flow: Survey, answers: dict[str, Answer]) -> list[str]:
    """The ids of the questions asked, answering each from `answers`."""
    asked: SurveyQuestion | None = first_question(flow)
    seen = []
    while asked is not None:
        seen.append(asked.id)
        asked = next_question(flow, asked, check_answer(asked, answers[asked.id]))
    return seen


# --- the flow ---------------------------------------------------------------------------

VISIT_ANSWERS = {
    "what-went-wrong": Answer(choices=("waiting",)),
    "recommend": Answer(score=3),
    "comments": SKIPPED,
}


@pytest.mark.parametrize("score", [3, 4])
def test_a_happy_shopper_is_not_asked_what_went_wrong(score: int) -> None:
    answers = {"experience": Answer(score=score), **VISIT_ANSWERS}
    assert walk(visit(), answers) == ["experience", "recommend", "comments"]


@pytest.mark.parametrize("score", [1, 2])
def test_an_unhappy_shopper_is_asked_what_went_wrong(score: int) -> None:
    answers = {"experience": Answer(score=score), **VISIT_ANSWERS}
    assert walk(visit(), answers) == ["experience", "what-went-wrong", "recommend", "comments"]


def test_a_branch_to_end_finishes_the_survey_at_once() -> None:
    flow = survey_of(
        ask(QuestionKind.SINGLE, "visited", branches={"red": "end", "green": "why"}),
        ask(QuestionKind.NPS, "score"),
        ask(QuestionKind.TEXT, "why"),
    )
    assert walk(flow, {"visited": Answer(choices=("red",))}) == ["visited"]
    answers = {"visited": Answer(choices=("green",)), "why": Answer(text="ok")}
    assert walk(flow, answers) == ["visited", "why"]
    answers = {"visited": Answer(choices=("blue",)), "score": Answer(score=9), "why": SKIPPED}
    with pytest.raises(InvalidAnswer):
        walk(flow, answers)  # "why" is not optional


def test_questions_are_found_by_id() -> None:
    flow = visit()
    assert first_question(flow).id == "experience"
    found = question(flow, "recommend")
    assert found is not None
    assert found.kind is QuestionKind.NPS
    assert question(flow, "nope") is None


def kind_and_branches(draw: st.DrawFn, index: int, later: list[str]) -> SurveyQuestion:
    kind = draw(st.sampled_from(QuestionKind))
    keys: list[str] = []
    extra: dict[str, object] = {}
    if kind is QuestionKind.SMILEY:
        keys = [str(s) for s in range(1, 5)]
    elif kind is QuestionKind.NPS:
        keys = [str(s) for s in range(11)]
    elif kind is QuestionKind.SINGLE:
        keys = ["a", "b", "c"]
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        extra["choices"] = choices("a", "b", "c")
    targets = st.sampled_from([*later, "end"])
    branches = draw(st.dictionaries(st.sampled_from(keys), targets)) if keys else {}
    optional = draw(st.booleans())
    return ask(kind, f"q{index}", branches=branches, optional=optional, **extra)


@st.composite
def surveys(draw: st.DrawFn) -> Survey:
    count = draw(st.integers(1, 10))
    ids = [f"q{i}" for i in range(count)]
    return survey_of(*(kind_and_branches(draw, i, ids[i + 1 :]) for i in range(count)))


def any_answer_for(asked: SurveyQuestion) -> st.SearchStrategy[Answer]:
    """Valid answers only, including a skip where the question allows it."""
    skip = [st.just(SKIPPED)] if asked.optional else []
    match asked.kind:
        case QuestionKind.SMILEY:
            given_ = st.builds(Answer, score=st.integers(1, 4))
        case QuestionKind.NPS:
            given_ = st.builds(Answer, score=st.integers(0, 10))
        case QuestionKind.SINGLE:
            given_ = st.builds(Answer, choices=st.tuples(st.sampled_from(["a", "b", "c"])))
        case QuestionKind.MULTIPLE:
            picked = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=5)
            given_ = st.builds(Answer, choices=picked.map(tuple))
        case QuestionKind.TEXT:
            given_ = st.builds(Answer, text=st.text(min_size=1).filter(str.strip))
    return st.one_of(given_, *skip)


@given(surveys(), st.data())
def test_any_survey_ends_within_as_many_answers_as_it_has_questions(
    flow: Survey, data: st.DataObject
) -> None:
    asked: SurveyQuestion | None = first_question(flow)
    positions = []
    while asked is not None:
        positions.append(flow.questions.index(asked))
        assert len(positions) <= len(flow.questions)
        answer = check_answer(asked, data.draw(any_answer_for(asked)))
        asked = next_question(flow, asked, answer)
    assert positions == sorted(set(positions)), "never back, never the same question twice"
    assert positions[0] == 0


# --- answer checks ----------------------------------------------------------------------


def test_a_smiley_takes_one_of_its_four_faces_only() -> None:
    smiley = ask(QuestionKind.SMILEY)
    for score in range(1, 5):
        assert check_answer(smiley, Answer(score=score)) == Answer(score=score)
    for wrong in (Answer(score=0), Answer(score=5), Answer(score=2, choices=("red",))):
        with pytest.raises(InvalidAnswer):
            check_answer(smiley, wrong)


def test_nps_takes_zero_to_ten() -> None:
    nps = ask(QuestionKind.NPS)
    assert check_answer(nps, Answer(score=0)) == Answer(score=0)
    assert check_answer(nps, Answer(score=10)) == Answer(score=10)
    for wrong in (-1, 11):
        with pytest.raises(InvalidAnswer):
            check_answer(nps, Answer(score=wrong))


def test_a_single_choice_takes_exactly_one_of_its_own_choices() -> None:
    single = ask(QuestionKind.SINGLE)
    assert check_answer(single, Answer(choices=("green",))) == Answer(choices=("green",))
    for wrong in (("red", "green"), ("purple",), ()):
        with pytest.raises(InvalidAnswer):
            check_answer(single, Answer(choices=wrong))
    with pytest.raises(InvalidAnswer):
        check_answer(single, Answer(score=1))


def test_a_multiple_choice_keeps_each_pick_once_in_order() -> None:
    multiple = ask(QuestionKind.MULTIPLE)
    picked = check_answer(multiple, Answer(choices=("blue", "red", "blue")))
    assert picked == Answer(choices=("blue", "red"))
    with pytest.raises(InvalidAnswer):
        check_answer(multiple, Answer(choices=("red", "purple")))


def test_free_text_is_tidied_and_cut_to_its_length() -> None:
    comments = ask(QuestionKind.TEXT, max_length=10, optional=True)
    assert check_answer(comments, Answer(text="  很好  \n 谢谢 ")) == Answer(text="很好 谢谢")
    assert check_answer(comments, Answer(text="x" * 50)).text == "x" * 10
    assert check_answer(comments, Answer(text="   ")) is SKIPPED


def test_only_optional_questions_may_be_skipped() -> None:
    for kind in QuestionKind:
        assert check_answer(ask(kind, optional=True), SKIPPED) is SKIPPED
        with pytest.raises(InvalidAnswer):
            check_answer(ask(kind), SKIPPED)
    with pytest.raises(InvalidAnswer):
        check_answer(ask(QuestionKind.TEXT), Answer(text=" \t "))


def test_free_text_never_shows_in_a_repr() -> None:
    assert "13800138000" not in repr(Answer(text="call me on 13800138000"))


raw_answers = st.builds(
    Answer,
    score=st.one_of(st.none(), st.integers(-3, 14)),
    choices=st.lists(st.sampled_from(["red", "green", "blue", "purple"]), max_size=4).map(tuple),
    text=st.text(max_size=600),
)


@given(st.sampled_from(QuestionKind), st.booleans(), raw_answers)
def test_any_answer_is_tidied_or_refused_and_a_tidied_answer_stays_as_it_is(
    kind: QuestionKind, optional: bool, answer: Answer
) -> None:
    asked = ask(kind, optional=optional)
    try:
        tidied = check_answer(asked, answer)
    except InvalidAnswer:
        return
    assert len(tidied.text) <= asked.max_length
    assert tidied.text == tidied.text.lstrip()
    assert "  " not in tidied.text
    assert not tidied.skipped or optional


def test_text_cut_at_its_length_does_not_end_in_a_space() -> None:
    comments = ask(QuestionKind.TEXT, max_length=5)
    assert check_answer(comments, Answer(text="good staff")).text == "good"


# --- low scores -------------------------------------------------------------------------


def test_unhappy_faces_and_nps_detractors_are_low_by_default() -> None:
    flow = visit()
    smiley, nps = ask(QuestionKind.SMILEY), ask(QuestionKind.NPS)
    assert [is_low(flow, smiley, Answer(score=s)) for s in range(1, 5)] == [
        True,
        True,
        False,
        False,
    ]
    assert [s for s in range(11) if is_low(flow, nps, Answer(score=s))] == list(range(7))


def test_a_survey_can_set_its_own_low_mark() -> None:
    strict = survey_of(ask(QuestionKind.SMILEY), low_score=LowScore(smiley=1, nps=8))
    assert not is_low(strict, ask(QuestionKind.SMILEY), Answer(score=2))
    assert is_low(strict, ask(QuestionKind.NPS), Answer(score=8))


def test_choices_text_and_skips_are_never_low() -> None:
    flow = visit()
    assert not is_low(flow, ask(QuestionKind.SINGLE), Answer(choices=("red",)))
    assert not is_low(flow, ask(QuestionKind.TEXT), Answer(text="terrible"))
    assert not is_low(flow, ask(QuestionKind.SMILEY, optional=True), SKIPPED)


# --- which survey goes where ----------------------------------------------------------


def test_the_attract_smiley_and_the_visit_survey_are_picked_apart() -> None:
    terminal = terminal_survey(SURVEYS)
    offered = visit_survey(SURVEYS)
    assert terminal is not None
    assert terminal.id == SMILEY_SURVEY
    assert offered is not None
    assert offered.id == VISIT_SURVEY


def test_without_surveys_neither_is_offered() -> None:
    assert terminal_survey(()) is None
    assert visit_survey(()) is None
    only_smiley = tuple(s for s in SURVEYS if s.terminal)
    assert visit_survey(only_smiley) is None
    assert terminal_survey(tuple(s for s in SURVEYS if not s.terminal)) is None
