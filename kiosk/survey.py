"""Satisfaction surveys on the kiosk: the question flow and what each answer records (pure).

A survey comes from the content bundle. Each answer is its own record for HQ
(and a live message for store staff); a score at or under the survey's low mark
is flagged so the attendant view raises it as an alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from content.model import QuestionKind, Survey, SurveyQuestion

END: Final = "end"
SMILEY_SCORES: Final = range(1, 5)  # 1 very unhappy .. 4 very happy, HappyOrNot's four faces
NPS_SCORES: Final = range(11)


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer: a score (smiley, NPS), choice ids (single, multiple) or text; all
    empty when an optional question was skipped. The text is never in a repr."""

    score: int | None = None
    choices: tuple[str, ...] = ()
    text: str = field(default="", repr=False)

    @property
    def skipped(self) -> bool:
        return self.score is None and not self.choices and not self.text


SKIPPED: Final = Answer()


class InvalidAnswer(ValueError):
    """An answer the question does not allow (a bug or a forged input: never shown)."""


def first_question(survey: Survey) -> SurveyQuestion:
    return survey.questions[0]


def question(survey: Survey, question_id: str) -> SurveyQuestion | None:
    return next((q for q in survey.questions if q.id == question_id), None)


def check_answer(asked: SurveyQuestion, answer: Answer) -> Answer:
    """The answer tidied, or InvalidAnswer."""
    if answer.skipped:
        if not asked.optional:
            raise InvalidAnswer(f"question {asked.id} needs an answer")
        return SKIPPED
    match asked.kind:
        case QuestionKind.SMILEY | QuestionKind.NPS:
            allowed = SMILEY_SCORES if asked.kind is QuestionKind.SMILEY else NPS_SCORES
            if answer.score not in allowed or answer.choices or answer.text:
                raise InvalidAnswer(f"question {asked.id} takes a score")
            return Answer(score=answer.score)
        case QuestionKind.SINGLE | QuestionKind.MULTIPLE:
            ids = {c.id for c in asked.choices}
            picked = tuple(dict.fromkeys(answer.choices))
            single = asked.kind is QuestionKind.SINGLE
            if not picked or not set(picked) <= ids or (single and len(picked) != 1):
                raise InvalidAnswer(f"question {asked.id} takes its own choices")
            return Answer(choices=picked)
        case QuestionKind.TEXT:
            text = " ".join(answer.text.split())[: asked.max_length].rstrip()
            if not text:
                return _skipped_or_invalid(asked)
            return Answer(text=text)


def _skipped_or_invalid(asked: SurveyQuestion) -> Answer:
    if asked.optional:
        return SKIPPED
    raise InvalidAnswer(f"question {asked.id} needs an answer")


def next_question(survey: Survey, asked: SurveyQuestion, answer: Answer) -> SurveyQuestion | None:
    """The question after `asked`, following its branches; None when the survey is done."""
    key = _branch_key(asked, answer)
    target = asked.branches.get(key) if key is not None else None
    if target == END:
        return None
    if target is not None:
        return question(survey, target)
    index = survey.questions.index(asked)
    return survey.questions[index + 1] if index + 1 < len(survey.questions) else None


def questions_left(survey: Survey, asked: SurveyQuestion) -> int:
    """Questions left, `asked` included, on the shortest way to the end: most
    shoppers take it (a happy score skips "what went wrong"), and a count that grows
    by one later reads better than a total that was never true."""
    shortest: dict[str, int] = {}
    for index in range(len(survey.questions) - 1, -1, -1):  # branches only go forward
        each = survey.questions[index]
        ways = [shortest[t] if t != END else 0 for t in each.branches.values()]
        if not _all_branched(each):
            following = survey.questions[index + 1 :]
            ways.append(shortest[following[0].id] if following else 0)
        shortest[each.id] = 1 + min(ways)
    return shortest[asked.id]


def _all_branched(asked: SurveyQuestion) -> bool:
    """Every answer of `asked` has a branch of its own: none falls through to the next."""
    match asked.kind:
        case QuestionKind.SMILEY:
            keys = {str(score) for score in SMILEY_SCORES}
        case QuestionKind.NPS:
            keys = {str(score) for score in NPS_SCORES}
        case QuestionKind.SINGLE:
            keys = {choice.id for choice in asked.choices}
        case _:
            return False
    return not asked.optional and keys <= asked.branches.keys()


def _branch_key(asked: SurveyQuestion, answer: Answer) -> str | None:
    if answer.score is not None:
        return str(answer.score)
    if asked.kind is QuestionKind.SINGLE and answer.choices:
        return answer.choices[0]
    return None


def is_low(survey: Survey, asked: SurveyQuestion, answer: Answer) -> bool:
    """A score store staff should hear about at once."""
    if answer.score is None:
        return False
    if asked.kind is QuestionKind.SMILEY:
        return answer.score <= survey.low_score.smiley
    if asked.kind is QuestionKind.NPS:
        return answer.score <= survey.low_score.nps
    return False


def terminal_survey(surveys: tuple[Survey, ...]) -> Survey | None:
    """The always-on smiley question of the attract screen, if the bundle has one."""
    return next(
        (s for s in surveys if s.terminal and s.questions[0].kind is QuestionKind.SMILEY), None
    )


def visit_survey(surveys: tuple[Survey, ...]) -> Survey | None:
    """The survey a shopper opens from a product or welcome screen."""
    return next((s for s in surveys if not s.terminal), None)
