"""What each screen shows, worked out from the session state and the bundle (pure, no Qt).

The screens only lay these values out; every wording, ordering and choice of
recommendation is decided here, so it is tested without a display.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from content.bundle import Bundle
from content.model import (
    ConsentPurpose,
    CouponCampaign,
    Language,
    PrizeDraw,
    Product,
    QuestionKind,
)
from content.recommend import Shopper, best_sellers, related
from kiosk import signup, survey
from kiosk.i18n import format_price, tr
from kiosk.session import (
    Binding,
    CompareView,
    CouponView,
    DrawView,
    FobView,
    LocateNotice,
    MemberOffer,
    MemberVisit,
    OfferStep,
    Pick,
    PrintStep,
    ProductView,
    RewardStatus,
    SessionState,
    SignupStep,
    SignupView,
    SurveyView,
    ThanksView,
    draw_refusal,
)
from kiosk.specs import CompareRow, compare, spec_values

SHELF_SIZE: Final = 3  # cards per shelf: three stay legible at 1920 px next to each other
WELCOME_SHELF_SIZE: Final = 4  # the welcome has the whole width for each row
PRODUCT_SPECS: Final = (
    "spec.display",
    "spec.refresh",
    "spec.chipset",
    "spec.memory",
    "spec.storage",
    "spec.camera",
    "spec.battery",
    "spec.charging",
)


@dataclass(frozen=True, slots=True)
class Card:
    sku: str
    name: str
    price: str
    slot: int | None
    image: Path


@dataclass(frozen=True, slots=True)
class ProductPage:
    sku: str
    language: Language
    brand: str
    title: str
    colour: str
    price: str
    in_stock: bool
    specs: tuple[tuple[str, str], ...]  # (label, value)
    images: tuple[Path, ...]
    related: tuple[Card, ...]
    best_sellers: tuple[Card, ...]
    hint: str
    notice: str | None


@dataclass(frozen=True, slots=True)
class CompareSide:
    sku: str
    brand: str
    title: str
    image: Path


@dataclass(frozen=True, slots=True)
class ComparePage:
    language: Language
    left: CompareSide
    right: CompareSide
    rows: tuple[tuple[str, CompareRow], ...]  # (label, row)


@dataclass(frozen=True, slots=True)
class Offer:
    """Something on offer to the member right now: the draw, a survey's coupon.

    `action` is what the button opens: ("draw", draw id) or ("feedback", survey id);
    None when there is nothing to press (today's draw is had: `title` says so)."""

    title: str
    body: str
    button: str | None
    action: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class MemberOfferCard:
    """The member offer (rewards.offers chose it) as the welcome's hero card. Not an
    `Offer`: those are the small column of the draw and a survey's coupon.

    `button`: "take it" for a coupon offer, "show my coupon" once taken; None for a
    message-only offer or while the desk answers. `product`: the featured phone,
    tapped like a recommendation."""

    offer: str  # its id: a new offer's card settles in, the same one in another language not
    title: str
    message: str
    value: str | None  # the coupon's worth, "¥200" or "9折"; None: a message only
    product: Card | None
    button: str | None
    status: str | None  # "taking…", or why it could not be taken (kind words)
    badge: str  # "会员专享 / Members only"


@dataclass(frozen=True, slots=True)
class WelcomePage:
    language: Language
    greeting: str
    subtitle: str
    last_viewed_title: str  # "You looked at · 3 days ago" when the visit's day is known
    last_viewed: tuple[Card, ...]  # empty when none of them is in this store's catalog
    picks_title: str
    picks: tuple[Card, ...]
    offers: tuple[Offer, ...]
    leaving: str  # the warning before the welcome returns to the attract loop, "{seconds}"
    member_offer: MemberOfferCard | None = None


def _card(bundle: Bundle, product: Product, language: Language) -> Card:
    return Card(
        sku=product.sku,
        name=product.name.get(language),
        price=format_price(product.price),
        slot=bundle.slot_of(product.sku),
        image=bundle.asset(product.images[0]),
    )


def notice_text(notice: LocateNotice | None, state: SessionState) -> str | None:
    if notice is None:
        return None
    if notice.slot is None:
        return tr(state.language, "locate.ask_staff")
    if any(p.slot == notice.slot for p in state.picks):
        return tr(state.language, "locate.in_hand")
    return tr(state.language, "locate.on_slot", slot=notice.slot)


def product_page(bundle: Bundle, view: ProductView, state: SessionState) -> ProductPage | None:
    product = bundle.product(view.sku)
    if product is None:
        return None
    language = state.language
    # Phones already in the shopper's hands are not recommended back to them.
    in_hand = tuple(p.sku for p in state.picks if p.sku is not None)
    # The store's lifts, not the member's history: the panels a lift shows are prepared
    # ahead for anyone (lifted_page); the member's own picks are on their welcome.
    store = state.store_lifts
    alike = related(bundle, view.sku, limit=SHELF_SIZE, exclude=in_hand, store=store)
    shown = (view.sku, *in_hand, *(p.sku for p in alike))
    best = best_sellers(bundle, limit=SHELF_SIZE, exclude=shown, store=store)
    specs = {v.label_key: v.text for v in spec_values(product.specs)}
    return ProductPage(
        sku=product.sku,
        language=language,
        brand=product.brand,
        title=product.name.get(language),
        colour=product.colour.get(language),
        price=format_price(product.price),
        in_stock=product.in_stock,
        specs=tuple((tr(language, key), specs[key]) for key in PRODUCT_SPECS),
        images=tuple(bundle.asset(path) for path in product.images),
        related=tuple(_card(bundle, p, language) for p in alike),
        best_sellers=tuple(_card(bundle, p, language) for p in best),
        hint=tr(language, "product.compare_hint") if view.in_hand else "",
        notice=notice_text(state.notice, state),
    )


def lifted_page(
    bundle: Bundle, sku: str, language: Language, store_lifts: Mapping[str, float] | None = None
) -> ProductPage | None:
    """The page a lift of `sku` shows when it starts a session (the phone alone in the
    shopper's hands, no notice): what the product screen prepares ahead for each phone
    of the cabinet, equal to the page `product_page` gives at that lift. `store_lifts`:
    the session state's (the same until the next session ends)."""
    slot = bundle.slot_of(sku) or 0
    state = SessionState(
        boot="",
        language=language,
        picks=(Pick(slot, sku, 0.0, 0),),
        store_lifts=store_lifts if store_lifts is not None else {},
    )
    return product_page(bundle, ProductView(sku, in_hand=True), state)


def cabinet_skus(bundle: Bundle) -> tuple[str, ...]:
    """The phones on the cabinet's slots that the catalog sells, each once, by slot."""
    ordered = sorted(bundle.planogram.slots, key=lambda a: a.slot)
    return tuple(dict.fromkeys(a.sku for a in ordered if bundle.product(a.sku) is not None))


def compare_page(bundle: Bundle, view: CompareView, state: SessionState) -> ComparePage | None:
    left, right = bundle.product(view.left), bundle.product(view.right)
    if left is None or right is None:
        return None
    language = state.language

    def side(product: Product) -> CompareSide:
        return CompareSide(
            product.sku,
            product.brand,
            product.name.get(language),
            bundle.asset(product.images[0]),
        )

    rows = tuple((tr(language, row.label_key), row) for row in compare(left, right))
    return ComparePage(language, side(left), side(right), rows)


def days_ago(language: Language, seen: datetime, now: datetime) -> str:
    """When a visit was, as a shopper says it, in the store's days: today, yesterday,
    3 days ago. `now` is the store's wall clock (naive: the machine's own zone)."""
    local = seen.astimezone(now.tzinfo) if now.tzinfo is not None else seen.astimezone()
    days = (now.date() - local.date()).days
    if days <= 0:
        return tr(language, "ago.today")
    if days == 1:
        return tr(language, "ago.yesterday")
    return tr(language, "ago.days", days=days)


def welcome_page(
    bundle: Bundle, member: MemberVisit, state: SessionState, now: datetime | None = None
) -> WelcomePage:
    """The member's welcome: what they looked at last time (those this store sells) and
    picks: drawn from what they looked at when they consented to personalised
    recommendations, filled up with best sellers (this store's lifts mixed in); without
    that consent, best sellers only. What is on offer to them.
    `now`: the store's wall clock, to say when their last visit was (None: not said)."""
    language = state.language
    distinct = dict.fromkeys(member.last_viewed)  # in order, each once
    seen = tuple(p for p in map(bundle.product, distinct) if p is not None)
    seen = seen[:WELCOME_SHELF_SIZE]
    shown = [p.sku for p in seen]  # not offered again beside the row that shows them
    picks: list[Product] = []
    store = state.store_lifts
    shopper = Shopper(tuple(distinct), personalised=member.personalised)
    if member.personalised:
        # Round robin over what they looked at, most recent first: each visit counts.
        alike = [
            related(
                bundle,
                p.sku,
                limit=WELCOME_SHELF_SIZE,
                exclude=shown,
                store=store,
                shopper=shopper,
            )
            for p in seen
        ]
        for rank in range(WELCOME_SHELF_SIZE):
            for row in alike:
                if rank < len(row) and row[rank].sku not in shown:
                    picks.append(row[rank])
                    shown.append(row[rank].sku)
        picks = picks[:WELCOME_SHELF_SIZE]
    if len(picks) < WELCOME_SHELF_SIZE:
        picks += best_sellers(
            bundle,
            limit=WELCOME_SHELF_SIZE - len(picks),
            exclude=shown,
            store=store,
            shopper=shopper,
        )
    name = member.greeting_name
    last_viewed_title = tr(language, "welcome.last_viewed")
    if member.last_seen is not None and now is not None:
        when = days_ago(language, member.last_seen, now)
        last_viewed_title = tr(language, "welcome.last_viewed_when", when=when)
    # A member who joined minutes ago is welcomed, not "welcomed back".
    welcome = "welcome.joined" if member.joined else "welcome"
    return WelcomePage(
        language=language,
        greeting=tr(language, f"{welcome}.named", name=name) if name else tr(language, welcome),
        subtitle=tr(language, "welcome.subtitle" if seen else "welcome.subtitle_new"),
        last_viewed_title=last_viewed_title,
        last_viewed=tuple(_card(bundle, p, language) for p in seen),
        picks_title=tr(
            language, "welcome.picks" if seen and member.personalised else "welcome.picks_new"
        ),
        picks=tuple(_card(bundle, p, language) for p in picks),
        offers=member_offers(bundle, state),
        leaving=tr(language, "welcome.leaving"),
        member_offer=member_offer_card(bundle, state.offer, language),
    )


_OFFER_REFUSALS: Final = {
    "member_limit": "member_offer.refused.member_limit",
    "budget_spent": "member_offer.refused.budget_spent",
    "ended": "member_offer.refused.ended",
    "not_started": "member_offer.refused.ended",
}


def member_offer_card(
    bundle: Bundle, offer: MemberOffer | None, language: Language
) -> MemberOfferCard | None:
    """The hero card for this session's member offer, once one is chosen."""
    if offer is None or offer.offer is None:
        return None
    chosen = offer.offer
    campaign = None if chosen.campaign is None else bundle.campaign(chosen.campaign)
    product = None if chosen.product is None else bundle.product(chosen.product)
    button = status = None
    if campaign is not None:
        match offer.step:
            case OfferStep.SHOWN:
                button = tr(language, "member_offer.take")
            case OfferStep.TAKING:
                status = tr(language, "member_offer.taking")
            case OfferStep.TAKEN:
                button = tr(language, "member_offer.show")
            case OfferStep.REFUSED:
                key = _OFFER_REFUSALS.get(offer.refusal or "", "member_offer.refused.unavailable")
                status = tr(language, key)
    return MemberOfferCard(
        offer=chosen.id,
        title=chosen.title.get(language),
        message="" if chosen.message is None else chosen.message.get(language),
        value=None if campaign is None else coupon_value(campaign, language),
        product=None if product is None else _card(bundle, product, language),
        button=button,
        status=status,
        badge=tr(language, "member_offer.badge"),
    )


def member_offers(bundle: Bundle, state: SessionState) -> tuple[Offer, ...]:
    """The draw (or that today's is had) and a survey's coupon, as far as they apply."""
    language = state.language
    offers: list[Offer] = []
    if state.member is not None and bundle.prize_draws:
        shown = bundle.prize_draws[0]
        refusal = draw_refusal(state, shown.id)
        if refusal is None:
            best = _prize_titles(bundle, shown, language)
            body = tr(language, "offer.draw.body", prize=best[0]) if best else ""
            offers.append(
                Offer(
                    shown.title.get(language),
                    body,
                    tr(language, "offer.draw.button"),
                    ("draw", shown.id),
                )
            )
        elif refusal == "member_limit":
            offers.append(
                Offer(shown.title.get(language), tr(language, "draw.already_drawn"), None, None)
            )
    offered = survey.visit_survey(bundle.surveys)
    if offered is not None and not state.surveyed and offered.reward is not None:
        reward = bundle.campaign(offered.reward)
        if reward is not None:
            offers.append(
                Offer(
                    tr(language, "offer.feedback.title"),
                    tr(language, "offer.feedback.body", reward=reward.title.get(language)),
                    tr(language, "offer.feedback.button"),
                    ("feedback", offered.id),
                )
            )
    return tuple(offers)


def _prize_titles(bundle: Bundle, shown: PrizeDraw, language: Language) -> list[str]:
    """The prizes' campaign titles, the rarest (the grand prize) first."""
    ranked = sorted(shown.prizes, key=lambda p: p.chance)
    campaigns = (bundle.campaign(p.campaign) for p in ranked)
    return [c.title.get(language) for c in campaigns if c is not None]


# --- sign-up, surveys, draws and coupons ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actions:
    """The buttons a browsing screen offers: each None when it is not on offer."""

    join: str | None  # label
    feedback: tuple[str, str] | None  # (survey id, label)
    draw: tuple[str, str] | None  # (draw id, label)


def actions(bundle: Bundle, state: SessionState) -> Actions:
    language = state.language
    join = None
    if state.member is None and signup.can_sign_up(bundle.notices):
        join = tr(language, "action.join")
    feedback = None
    offered = survey.visit_survey(bundle.surveys)
    if offered is not None and not state.surveyed:
        feedback = (offered.id, tr(language, "action.feedback"))
    draw = None
    if state.member is not None and bundle.prize_draws:
        shown = bundle.prize_draws[0].id
        if draw_refusal(state, shown) is None:  # had today's: not offered again
            draw = (shown, tr(language, "action.draw"))
    return Actions(join, feedback, draw)


@dataclass(frozen=True, slots=True)
class ConsentItem:
    purpose: ConsentPurpose
    label: str
    text: str
    version: str  # as shown: "Notice version 2026-11"


@dataclass(frozen=True, slots=True)
class WelcomeCoupon:
    """The coupon a new member is given as they join (a welcome campaign's)."""

    heading: str
    offer: str  # the campaign's title, e.g. "手机壳9折"
    code: str
    expires: str
    how: str


@dataclass(frozen=True, slots=True)
class SignupPage:
    language: Language
    step: SignupStep
    title: str
    errors: tuple[tuple[signup.FormField, str], ...]  # (field, explanation)
    consents: tuple[ConsentItem, ...]
    binding: str | None  # what to say about linking a fob, on the last step
    draw: tuple[str, str] | None  # offered right after joining
    benefits: tuple[str, ...] = ()  # on the last step: what membership gives them
    next_step: str = ""  # on the last step: what to do now
    coupon: WelcomeCoupon | None = None  # on the last step, once the desk has issued it


def signup_page(bundle: Bundle, view: SignupView, state: SessionState) -> SignupPage:
    language = state.language
    errors = tuple((signup.field_of(p), tr(language, p.value)) for p in view.problems)
    consents = tuple(
        ConsentItem(
            n.purpose,
            n.label.get(language),
            n.text.get(language),
            tr(language, "signup.notice_version", version=n.version),
        )
        for n in bundle.notices
    )
    binding = None
    if view.step is SignupStep.DONE and view.binding is not Binding.NONE:
        binding = tr(language, f"signup.bind.{view.binding.value}")
    titles = {
        SignupStep.UNDER_AGE: "signup.under_age.title",
        SignupStep.DONE: "signup.done.title",
    }
    draw = actions(bundle, state).draw if view.step is SignupStep.DONE else None
    title = tr(language, titles.get(view.step, "signup.title"))
    benefits: tuple[str, ...] = ()
    next_step = ""
    if view.step is SignupStep.DONE:
        if view.name:
            title = tr(language, "signup.done.title_named", name=view.name)
        benefits, next_step = _membership(bundle, view, draw, language)
    return SignupPage(
        language=language,
        step=view.step,
        title=title,
        errors=errors,
        consents=consents,
        binding=binding,
        draw=draw,
        benefits=benefits,
        next_step=next_step,
        coupon=_welcome_coupon(bundle, view, language),
    )


def _welcome_coupon(bundle: Bundle, view: SignupView, language: Language) -> WelcomeCoupon | None:
    campaign = None if view.coupon is None else bundle.campaign(view.coupon.campaign)
    if view.coupon is None or campaign is None:
        return None
    return WelcomeCoupon(
        heading=tr(language, "signup.coupon"),
        offer=campaign.title.get(language),
        code=view.coupon.code,
        expires=tr(language, "coupon.expires", date=view.coupon.expires_on.isoformat()),
        how=tr(language, "coupon.how"),
    )


def _membership(
    bundle: Bundle, view: SignupView, draw: tuple[str, str] | None, language: Language
) -> tuple[tuple[str, ...], str]:
    """What membership gives the new member here, and what to do next: the bundle's
    member draw where it has one (by its title), else a look at the phones."""
    shown = None if draw is None else bundle.prize_draw(draw[0])
    benefits = []
    if shown is not None:
        benefits.append(tr(language, "signup.benefit.draw", title=shown.title.get(language)))
    benefits.append(tr(language, "signup.benefit.coupons"))
    if view.binding is not Binding.NONE:  # they agreed to be recognised by a fob or tag
        benefits.append(tr(language, "signup.benefit.recognition"))
    else:
        benefits.append(tr(language, "signup.benefit.picks"))
    next_step = tr(language, "signup.next.draw" if shown is not None else "signup.next.browse")
    return tuple(benefits), next_step


@dataclass(frozen=True, slots=True)
class SurveyPage:
    language: Language
    title: str
    progress: str
    prompt: str
    kind: QuestionKind
    choices: tuple[tuple[str, str], ...]  # (choice id, label); smiley and NPS: (score, label)
    optional: bool
    max_length: int


def survey_page(bundle: Bundle, view: SurveyView, state: SessionState) -> SurveyPage | None:
    shown = bundle.survey(view.survey)
    asked = None if shown is None else survey.question(shown, view.question)
    if shown is None or asked is None:
        return None
    language = state.language
    choices: tuple[tuple[str, str], ...]
    match asked.kind:
        case QuestionKind.SMILEY:
            choices = tuple(
                (str(score), tr(language, f"survey.smiley.{score}"))
                for score in survey.SMILEY_SCORES
            )
        case QuestionKind.NPS:
            choices = tuple((str(score), str(score)) for score in survey.NPS_SCORES)
        case _:
            choices = tuple((c.id, c.label.get(language)) for c in asked.choices)
    return SurveyPage(
        language=language,
        title=shown.title.get(language),
        progress=tr(
            language,
            "survey.progress",
            n=view.answered + 1,
            total=view.answered + survey.questions_left(shown, asked),
        ),
        prompt=asked.prompt.get(language),
        kind=asked.kind,
        choices=choices,
        optional=asked.optional,
        max_length=asked.max_length,
    )


@dataclass(frozen=True, slots=True)
class MessagePage:
    """A title and a line: thanks after a survey, "not recognised" after a fob."""

    language: Language
    title: str
    body: str
    button: str | None  # a next step to press, if any
    busy: bool  # waiting for the reward desk
    action: str = ""  # what `button` opens: "join" (sign up)


def thanks_page(view: ThanksView, state: SessionState) -> MessagePage:
    language = state.language
    body = {
        RewardStatus.PENDING: "survey.thanks.pending",
        RewardStatus.NONE: "survey.thanks.none",
        RewardStatus.REFUSED: "survey.thanks.refused",
    }[view.reward]
    return MessagePage(
        language,
        tr(language, "survey.thanks"),
        tr(language, body),
        None,
        busy=view.reward is RewardStatus.PENDING,
    )


_DRAW_OUTCOMES: Final = {
    "no_win": "draw.no_win",
    "already_drawn": "draw.already_drawn",
    "member_limit": "draw.already_drawn",
    "not_started": "draw.closed",
    "member_gone": "draw.closed",
    "ended": "draw.closed",
}


@dataclass(frozen=True, slots=True)
class PrizeCard:
    """One prize on the draw screen: its picture (None: a ticket showing `value`)."""

    name: str
    value: str
    odds: str  # "5% chance"
    image: Path | None


@dataclass(frozen=True, slots=True)
class DrawPage:
    """The prize draw: prizes and rules from the bundle, then the moment, the result
    and what to do next. `message` replaces the button once there is nothing to press
    (drawn today, the result)."""

    language: Language
    title: str
    prizes: tuple[PrizeCard, ...]
    rules: tuple[str, ...]
    button: str | None  # "tap to draw", while it may be pressed
    drawing: bool  # the animation runs (a tap skips it)
    message: str | None  # "already drawn today...", "not this time", ...
    next_step: str | None  # after a loss: what else there is
    next_action: tuple[str, str, str] | None  # ("feedback", survey id, label)
    close: str


def odds_text(language: Language, chance: Decimal) -> str:
    percent = (chance * 100).normalize()
    return tr(language, "draw.odds", percent=f"{percent:f}")


def draw_page(bundle: Bundle, view: DrawView, state: SessionState) -> DrawPage | None:
    shown = bundle.prize_draw(view.draw)
    if shown is None:
        return None
    language = state.language
    prizes = []
    for prize in sorted(shown.prizes, key=lambda p: p.chance):  # the grand prize first
        campaign = bundle.campaign(prize.campaign)
        if campaign is None:
            continue
        prizes.append(
            PrizeCard(
                name=campaign.title.get(language),
                value=coupon_value(campaign, language),
                odds=odds_text(language, prize.chance),
                image=None if prize.image is None else bundle.asset(prize.image),
            )
        )
    outcome = view.outcome
    if outcome is None and not view.drawing:
        outcome = draw_refusal(state, view.draw)  # said before the button, not after
    message = (
        None if outcome is None else tr(language, _DRAW_OUTCOMES.get(outcome, "draw.unavailable"))
    )
    next_step = next_action = None
    if outcome in ("no_win", "member_limit", "already_drawn"):
        next_step = tr(language, "draw.next.tomorrow")
        offered = survey.visit_survey(bundle.surveys)
        if offered is not None and not state.surveyed:
            next_action = ("feedback", offered.id, tr(language, "offer.feedback.button"))
            if offered.reward is not None:
                next_step = tr(language, "draw.next.feedback")
    return DrawPage(
        language=language,
        title=shown.title.get(language),
        prizes=tuple(prizes),
        rules=draw_rules(shown, language),
        button=None if view.drawing or outcome is not None else tr(language, "draw.button"),
        drawing=view.drawing,
        message=message,
        next_step=next_step,
        next_action=next_action,
        close=tr(language, "action.done" if outcome is not None else "action.close"),
    )


def draw_rules(shown: PrizeDraw, language: Language) -> tuple[str, ...]:
    """The draw's small print: the bundle's own, else how often and until when."""
    if shown.rules is not None:
        return tuple(line for line in shown.rules.get(language).splitlines() if line.strip())
    # ends_at is exclusive: a draw ending at midnight is open until the day before.
    until = (datetime.fromisoformat(shown.ends_at) - timedelta(microseconds=1)).date()
    return (
        tr(language, "draw.rule.per_day", n=shown.draws_per_member_per_day),
        tr(language, "draw.rule.coupons"),
        tr(language, "draw.rule.until", date=until.isoformat()),
    )


def fob_page(view: FobView, state: SessionState, can_join: bool) -> MessagePage:
    """The neutral answer to a fob that recognises no one: nothing about whose it is."""
    language = state.language
    return MessagePage(
        language,
        tr(language, "fob.title"),
        tr(language, "fob.body" if can_join else "fob.body_staff"),
        tr(language, "action.join") if can_join else None,
        busy=False,
        action="join",
    )


@dataclass(frozen=True, slots=True)
class CouponDelivery:
    """A member offer's coupon also goes to the member's phone (HQ texts it) or on
    paper. A button, once shown, stays where it is and says what it did (disabled):
    a second tap, or a tap meant for its neighbour, never lands on something else."""

    phone: str  # "send to my phone", then "sent to your phone"
    phone_enabled: bool
    phone_note: str | None  # once sent: "the text will arrive in a few minutes" (or offline)
    print: str | None  # None: the printer is not ready and nothing was printed (no button)
    print_enabled: bool
    print_note: str | None  # "take your coupon below", "printer unavailable"


@dataclass(frozen=True, slots=True)
class CouponPage:
    language: Language
    heading: str  # "You won!" or "Your coupon"
    title: str  # the campaign's, e.g. "¥50 off accessories"
    value: str  # "¥50" or "10%"
    terms: str
    code: str
    expires: str
    how: str
    delivery: CouponDelivery | None = None  # a member offer's coupon only


def coupon_page(bundle: Bundle, view: CouponView, state: SessionState) -> CouponPage:
    language = state.language
    campaign = bundle.campaign(view.coupon.campaign)
    heading = tr(language, "coupon.won" if view.prize is not None else "coupon.earned")
    delivery = None
    offer = state.offer
    if view.offer is not None and offer is not None and offer.coupon is not None:
        heading = tr(language, "member_offer.coupon")
        delivery = coupon_delivery(offer, state)
    return CouponPage(
        language=language,
        heading=heading,
        title="" if campaign is None else campaign.title.get(language),
        value="" if campaign is None else coupon_value(campaign, language),
        terms="" if campaign is None else campaign.terms.get(language),
        code=view.coupon.code,
        expires=tr(language, "coupon.expires", date=view.coupon.expires_on.isoformat()),
        how=tr(language, "coupon.how"),
        delivery=delivery,
    )


def coupon_delivery(offer: MemberOffer, state: SessionState) -> CouponDelivery:
    """Send to my phone (once), print (while the printer is ready), and what happened."""
    language = state.language
    phone_note = None
    if offer.texted:
        phone_note = tr(language, "member_offer.sent" if state.hq_online else "member_offer.queued")
    printing = offer.printing
    can_print = state.printer_ready and printing in (None, PrintStep.FAILED)
    words = {
        None: "member_offer.print",
        PrintStep.FAILED: "member_offer.print",
        PrintStep.PRINTING: "member_offer.print_busy",
        PrintStep.PRINTED: "member_offer.print_done",
    }
    shown = can_print or printing in (PrintStep.PRINTING, PrintStep.PRINTED)
    notes = {
        PrintStep.PRINTED: "member_offer.printed",
        PrintStep.FAILED: "member_offer.print_failed",
    }
    note = notes.get(printing) if printing is not None else None
    return CouponDelivery(
        phone=tr(language, "member_offer.send_done" if offer.texted else "member_offer.send"),
        phone_enabled=not offer.texted,
        phone_note=phone_note,
        print=tr(language, words[printing]) if shown else None,
        print_enabled=can_print,
        print_note=None if note is None else tr(language, note),
    )


def coupon_value(campaign: CouponCampaign, language: Language) -> str:
    if campaign.value is not None:
        return format_price(campaign.value)
    percent = campaign.percent_off or 0
    if percent == 100:
        return tr(language, "coupon.free")
    if language is Language.ZH_CN:  # Chinese shops say 9折 for 10% off
        tenths = (100 - percent) / 10
        return f"{tenths:g}折"
    return f"{percent}% off"


@dataclass(frozen=True, slots=True)
class AttractPage:
    language: Language
    smiley_prompt: str | None  # the terminal survey's question, when the bundle has one
    smiley_thanks: str | None  # shown for a moment after a face was pressed
    join: str | None


def attract_page(bundle: Bundle | None, state: SessionState) -> AttractPage:
    language = state.language
    if bundle is None:
        return AttractPage(language, None, None, None)
    terminal = survey.terminal_survey(bundle.surveys)
    prompt = None if terminal is None else terminal.questions[0].prompt.get(language)
    thanks = tr(language, "smiley.thanks") if state.smiley_thanks_until is not None else None
    return AttractPage(language, prompt, thanks, actions(bundle, state).join)
