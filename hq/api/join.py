"""The sign-up page a shopper opens on their own phone, from a kiosk's QR code.

    GET  /join/{token}        the form (Simplified Chinese; `?lang=en` for English)
    POST /join/{token}        check it: the form again with each problem beside its
                              field (422), or sign up and 303 to ...
    GET  /join/{token}/done   the thank-you page

The token is a kiosk's self-checking one-time link (`hq.crm.handoff`). A link
that is used, expired or not genuine gets a page that says so in the shopper's
language, with a 4xx status; no path through here shows a stack trace.

Plain HTML and CSS, no JavaScript, made with string templates: everything that
comes from outside (what the shopper typed, notice texts) goes through
`html.escape`. The form posts to its own address (no `action`), so the page
works under whatever prefix a proxy serves HQ at. Nothing the shopper typed is
logged; a form that fails its checks is shown again with what they typed.
"""

from __future__ import annotations

import html
import logging
import traceback
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal
from urllib.parse import parse_qs

import phonenumbers
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from hq.api.common import Clock
from hq.crm import handoff
from hq.crm.handoff import ConsentChoice, Handoff, HandoffRefused, KioskLookup, PhoneSignup
from hq.crm.notices import Language, Notices, NoticeSource, NoticesUnavailable
from hq.crm.people import DEFAULT_REGION, InvalidEmail, InvalidPhone, e164, normalise_email
from hq.db import Database

_log = logging.getLogger("hq.join")

MAX_FORM_BYTES: Final = 32 * 1024
# The form's fields and four hidden notice hashes are well under 2 kB; anything
# much larger is not this form.
MAX_FIELDS: Final = 20

PHONE_MAX: Final = 40  # as the wire format's member_signup.phone
NAME_MAX: Final = 40  # as the kiosk's sign-up form
EMAIL_MAX: Final = 254

AGE_OK: Final = "14+"
AGE_UNDER: Final = "under14"
# China's PIPL: under 14, a parent or guardian has to consent. Staff help with that.

_SECURITY_HEADERS: Final = {
    # Typed personal data must not linger in caches; the link must not leak onwards.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

FieldName = Literal["phone", "name", "email", "age", "consent"]

# ---------------------------------------------------------------- words

STRINGS: Final[dict[str, dict[Language, str]]] = {
    "brand": {"zh-CN": "会员注册", "en": "Membership"},
    "switch": {"zh-CN": "English", "en": "中文"},
    "title": {"zh-CN": "注册会员", "en": "Become a member"},
    "intro": {
        "zh-CN": "在您自己的手机上填写，只需一分钟。",
        "en": "Fill it in on your own phone: it takes a minute.",
    },
    "phone": {"zh-CN": "手机号码", "en": "Mobile number"},
    "phone_hint": {"zh-CN": "11 位手机号码", "en": "11-digit mobile number"},
    "name": {"zh-CN": "怎么称呼您", "en": "What shall we call you"},
    "name_hint": {"zh-CN": "例如：王女士", "en": "e.g. Ms Wang"},
    "greet": {
        "zh-CN": "认出我时，在屏幕上用这个称呼问候我",
        "en": "Greet me by this name when a screen recognises me",
    },
    "email": {"zh-CN": "电子邮箱（选填）", "en": "Email (optional)"},
    "age": {"zh-CN": "您是否已年满 14 周岁？", "en": "Are you 14 or older?"},
    "age_ok": {"zh-CN": "已满 14 周岁", "en": "I am 14 or older"},
    "age_under": {"zh-CN": "未满 14 周岁", "en": "I am under 14"},
    "consents": {
        "zh-CN": "请逐项选择（仅“成为会员”为必选）",
        "en": "Choose each one (only membership is required)",
    },
    "notice_version": {"zh-CN": "告知书版本 {version}", "en": "Notice version {version}"},
    "submit": {"zh-CN": "提交", "en": "Sign up"},
    "summary": {
        "zh-CN": "请修改下面标出的内容后再提交。",
        "en": "Please fix what is marked below, then send it again.",
    },
    # -- problems, one per field
    "phone_missing": {"zh-CN": "请输入手机号码", "en": "Please enter your mobile number"},
    "phone_invalid": {
        "zh-CN": "这不是有效的手机号码，请检查位数",
        "en": "This is not a valid mobile number: please check the digits",
    },
    "phone_not_mobile": {
        "zh-CN": "请填写手机号码（不支持固定电话）",
        "en": "Please give a mobile number, not a landline",
    },
    "name_missing": {"zh-CN": "请告诉我们怎么称呼您", "en": "Please tell us your name"},
    "name_too_long": {
        "zh-CN": f"称呼最多 {NAME_MAX} 个字",
        "en": f"At most {NAME_MAX} characters, please",
    },
    "name_invalid": {
        "zh-CN": "称呼中有无法保存的字符",
        "en": "Your name holds characters we cannot store",
    },
    "email_invalid": {
        "zh-CN": "邮箱格式不正确，可以留空",
        "en": "This email address looks wrong (you may leave it empty)",
    },
    "age_missing": {"zh-CN": "请选择您的年龄段", "en": "Please answer this question"},
    "membership_required": {
        "zh-CN": "注册需要勾选“成为会员”",
        "en": "To sign up, tick membership",
    },
    "notices_changed": {
        "zh-CN": "告知书刚刚更新，请重新阅读并逐项选择",
        "en": "The notices were just updated: please read them and choose again",
    },
    # -- whole pages
    "thanks_title": {"zh-CN": "欢迎成为会员！", "en": "Welcome, you are a member!"},
    "thanks_body": {
        "zh-CN": "注册已完成，您可以关闭此页面。",
        "en": "You are signed up. You can close this page.",
    },
    "under_age_title": {"zh-CN": "请联系店员", "en": "Please ask a member of staff"},
    "under_age_body": {
        "zh-CN": "未满 14 周岁注册会员需要父母或监护人同意，店员可以协助您办理。",
        "en": "Under 14, a parent or guardian has to agree to your membership."
        " Our staff will gladly help you sign up together.",
    },
    "used_title": {"zh-CN": "这个链接已经用过了", "en": "This link has been used already"},
    "used_body": {
        "zh-CN": "每个链接只能注册一次。如果您刚刚完成注册，您已经是会员了。需要帮助请联系店员。",
        "en": "Each link signs up one member. If you have just signed up, you are a member"
        " already. For help, please ask a member of staff.",
    },
    "expired_title": {"zh-CN": "这个链接已过期", "en": "This link has expired"},
    "expired_body": {
        "zh-CN": "链接在生成后 10 分钟内有效。"
        "请在店内自助屏上再点一次“用手机继续”，扫描新的二维码。",
        "en": "Links work for 10 minutes. Tap “Continue on your phone” on the kiosk"
        " again and scan the new code.",
    },
    "invalid_title": {"zh-CN": "无法使用这个链接", "en": "This link cannot be used"},
    "invalid_body": {
        "zh-CN": "请扫描店内自助屏上显示的二维码，或请店员协助。",
        "en": "Please scan the code shown on a kiosk in our store, or ask a member of staff.",
    },
    "unavailable_title": {"zh-CN": "暂时无法注册", "en": "Sign-up is not available right now"},
    "unavailable_body": {
        "zh-CN": "请稍后再试，或在店内自助屏上注册。",
        "en": "Please try again in a moment, or sign up on a kiosk in our store.",
    },
}


def tr(language: Language, key: str, **values: object) -> str:
    text = STRINGS[key][language]
    return text.format(**values) if values else text


# ---------------------------------------------------------------- the form, checked


@dataclass(frozen=True, slots=True)
class JoinForm:
    """What came back from the form. No typed field shows in a repr."""

    phone: str = field(default="", repr=False)
    name: str = field(default="", repr=False)
    email: str = field(default="", repr=False)
    age: str = ""
    greet: bool = False
    consents: frozenset[str] = frozenset()
    shown: frozenset[str] = frozenset()  # the notices the page showed (`_shown_marks`)


@dataclass(frozen=True, slots=True)
class UnderAge:
    """The shopper said they are under 14: no sign-up here, staff help instead."""


def read_form(body: bytes) -> JoinForm:
    """The form in an application/x-www-form-urlencoded body (what is missing is empty)."""
    text = body.decode("utf-8", errors="replace")
    fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)

    def one(name: str) -> str:
        values = fields.get(name)
        return values[0] if values else ""

    return JoinForm(
        phone=one("phone"),
        name=one("name"),
        email=one("email"),
        age=one("age"),
        greet=one("greet") == "1",
        consents=frozenset(fields.get("consent", ())),
        shown=frozenset(fields.get("shown", ())),
    )


def check_form(
    form: JoinForm, notices: Notices, *, language: Language, region: str = DEFAULT_REGION
) -> PhoneSignup | UnderAge | dict[FieldName, str]:
    """The sign-up, UnderAge, or each field's problem (the key of its explanation)."""
    if form.age == AGE_UNDER:
        return UnderAge()
    problems: dict[FieldName, str] = {}
    phone = _check_phone(form.phone, region)
    if phone.startswith("phone_"):
        problems["phone"] = phone
    name = " ".join(form.name.split())
    if not name:
        problems["name"] = "name_missing"
    elif len(name) > NAME_MAX:
        problems["name"] = "name_too_long"
    elif _unstorable(name):
        problems["name"] = "name_invalid"
    email: str | None = None
    try:
        if len(form.email) > EMAIL_MAX or _unstorable(form.email):
            raise InvalidEmail("too long or unstorable")
        email = normalise_email(form.email)
    except InvalidEmail:
        problems["email"] = "email_invalid"
    if form.age != AGE_OK:
        problems["age"] = "age_missing"
    if form.shown != _shown_marks(notices, language):
        problems["consent"] = "notices_changed"
    elif "membership" not in form.consents:
        problems["consent"] = "membership_required"
    if problems:
        return problems
    return PhoneSignup(
        phone_e164=phone,
        name=name,
        email=email,
        language=language,
        # Greeting by name is part of being recognised: without that consent, no greeting.
        greet_by_name=form.greet and "recognition" in form.consents,
        consents=tuple(
            ConsentChoice(
                purpose=notice.purpose,
                notice_version=notice.version,
                notice_sha256=notice.sha256(language),
                given=notice.purpose in form.consents,
            )
            for notice in notices.in_order()
        ),
    )


def _check_phone(typed: str, region: str) -> str:
    """The number in E.164, or the key of its problem (they start with "phone_")."""
    if not typed.strip():
        return "phone_missing"
    if len(typed) > PHONE_MAX or _unstorable(typed):
        return "phone_invalid"
    try:
        number = e164(typed, region)  # the same reading as ingest's
    except InvalidPhone:
        return "phone_invalid"
    kind = phonenumbers.number_type(phonenumbers.parse(number))
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return "phone_not_mobile"  # membership messages are texts
    return number


def _unstorable(text: str) -> bool:
    """Control characters (NUL among them: PostgreSQL refuses it) or a replaced byte."""
    return "\ufffd" in text or any(unicodedata.category(char) == "Cc" for char in text)


def _shown_marks(notices: Notices, language: Language) -> frozenset[str]:
    """What the form carries back about each notice it showed: a changed notice
    (new version or text) between showing the form and sending it is noticed."""
    return frozenset(
        f"{notice.purpose} {notice.version} {notice.sha256(language)}"
        for notice in notices.in_order()
    )


# ---------------------------------------------------------------- pages

_CSS: Final = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:18px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC",
"Microsoft YaHei",sans-serif;color:#1b1f24;background:#f3f5f7}
.bar{display:flex;justify-content:space-between;align-items:center;padding:12px 16px;
background:#0b5cab;color:#fff}
.brand{font-weight:600}
.bar a{color:#fff;min-height:44px;min-width:44px;display:inline-flex;align-items:center;
justify-content:center;padding:0 12px;border:1px solid #fff8;border-radius:8px;
text-decoration:none}
main{max-width:560px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.3em 0}
.intro{color:#4a5561;margin-top:0}
.field,fieldset{margin:0 0 20px;padding:0;border:0}
label.text,legend{display:block;font-weight:600;margin-bottom:6px;padding:0}
input[type=tel],input[type=text],input[type=email]{width:100%;min-height:52px;font:inherit;
padding:10px 12px;border:2px solid #8a96a3;border-radius:10px;background:#fff}
input:focus{outline:3px solid #0b5cab55;border-color:#0b5cab}
.hint{margin:4px 0 0;color:#4a5561;font-size:.85em}
.error{margin:6px 0 0;color:#b00020;font-weight:600}
.invalid input[type=tel],.invalid input[type=text],.invalid input[type=email]{
border-color:#b00020}
.summary{background:#fdecee;border:2px solid #b00020;border-radius:10px;padding:12px;
margin:0 0 20px;color:#b00020;font-weight:600}
label.choice{display:flex;gap:12px;align-items:center;min-height:52px;padding:8px 12px;
background:#fff;border:2px solid #c9d1d9;border-radius:10px;margin-bottom:8px;
cursor:pointer;font-weight:600}
#greet-box label.choice{font-weight:400;font-size:.9em}
label.choice input{width:28px;height:28px;flex:none;margin:0}
.consent{background:#fff;border:1px solid #dde3e9;border-radius:12px;padding:12px;
margin-bottom:12px}
.consent label.choice{border:0;padding:0;margin:0;background:none}
.notice{font-size:.85em;color:#39424c;margin:8px 0 4px}
.version{font-size:.75em;color:#6a7682;margin:0}
button{width:100%;min-height:56px;font:inherit;font-weight:700;color:#fff;
background:#0b5cab;border:0;border-radius:12px;margin:8px 0 32px;cursor:pointer}
.message{background:#fff;border-radius:12px;padding:20px;margin-top:16px}
""".replace("\n", "")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(language: Language, title: str, body: str) -> str:
    other: Language = "en" if language == "zh-CN" else "zh-CN"
    return (
        "<!doctype html>"
        f'<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f'<header class="bar"><span class="brand">{_e(tr(language, "brand"))}</span>'
        f'<a href="?lang={other}" hreflang="{other}" lang="{other}">'
        f"{_e(tr(language, 'switch'))}</a></header>"
        f"<main>{body}</main></body></html>"
    )


def message_page(language: Language, page: str) -> str:
    """A page that only tells something: "thanks", "used", "expired", ..."""
    title = tr(language, f"{page}_title")
    body = f'<div class="message" id="{page}"><h1>{_e(title)}</h1>'
    body += f"<p>{_e(tr(language, f'{page}_body'))}</p></div>"
    return _page(language, title, body)


def form_page(
    language: Language,
    notices: Notices,
    form: JoinForm | None = None,
    problems: Mapping[FieldName, str] | None = None,
) -> str:
    """The sign-up form: empty, or as sent with each field's problem beside it."""
    form = form or JoinForm()
    problems = problems or {}
    parts = [f"<h1>{_e(tr(language, 'title'))}</h1>"]
    if problems:
        parts.append(f'<div class="summary" role="alert">{_e(tr(language, "summary"))}</div>')
    else:
        parts.append(f'<p class="intro">{_e(tr(language, "intro"))}</p>')
    parts.append('<form method="post" novalidate>')
    parts.append(
        _text_field(
            language, "phone", "tel", form.phone, problems, hint="phone_hint", autocomplete="tel"
        )
    )
    parts.append(
        _text_field(
            language,
            "name",
            "text",
            form.name,
            problems,
            hint="name_hint",
            autocomplete="nickname",
            maxlength=NAME_MAX,
        )
    )
    greet = _choice("checkbox", "greet", "1", tr(language, "greet"), ticked=form.greet, at="greet")
    parts.append(f'<div class="field" id="greet-box">{greet}</div>')
    parts.append(
        _text_field(language, "email", "email", form.email, problems, autocomplete="email")
    )
    parts.append(_age(language, form, problems))
    parts.append(_consents(language, notices, form, problems))
    parts.append(f'<button type="submit">{_e(tr(language, "submit"))}</button></form>')
    return _page(language, tr(language, "title"), "".join(parts))


def _error(language: Language, name: FieldName, problems: Mapping[FieldName, str]) -> str:
    problem = problems.get(name)
    if problem is None:
        return ""
    return f'<p class="error" id="{name}-error">{_e(tr(language, problem))}</p>'


def _text_field(
    language: Language,
    name: FieldName,
    kind: str,
    value: str,
    problems: Mapping[FieldName, str],
    *,
    hint: str | None = None,
    autocomplete: str,
    maxlength: int | None = None,
) -> str:
    invalid = name in problems
    described = " ".join(
        part for part, wanted in ((f"{name}-hint", hint), (f"{name}-error", invalid)) if wanted
    )
    attributes = [
        f'id="{name}" name="{name}" type="{kind}" autocomplete="{autocomplete}"',
        f'value="{_e(value)}"',
    ]
    if kind in {"tel", "email"}:
        attributes.append(f'inputmode="{kind}"')
    if maxlength is not None:
        attributes.append(f'maxlength="{maxlength}"')
    if described:
        attributes.append(f'aria-describedby="{described}"')
    if invalid:
        attributes.append('aria-invalid="true"')
    hint_html = f'<p class="hint" id="{name}-hint">{_e(tr(language, hint))}</p>' if hint else ""
    return (
        f'<div class="field{" invalid" if invalid else ""}">'
        f'<label class="text" for="{name}">{_e(tr(language, name))}</label>'
        f"<input {' '.join(attributes)}>{hint_html}{_error(language, name, problems)}</div>"
    )


def _choice(kind: str, name: str, value: str, label: str, *, ticked: bool, at: str) -> str:
    checked = " checked" if ticked else ""
    return (
        f'<label class="choice" for="{at}"><input type="{kind}" id="{at}" name="{name}" '
        f'value="{_e(value)}"{checked}><span>{_e(label)}</span></label>'
    )


def _age(language: Language, form: JoinForm, problems: Mapping[FieldName, str]) -> str:
    return (
        f'<fieldset class="field{" invalid" if "age" in problems else ""}">'
        f"<legend>{_e(tr(language, 'age'))}</legend>"
        + _choice(
            "radio", "age", AGE_OK, tr(language, "age_ok"), ticked=form.age == AGE_OK, at="age-ok"
        )
        + _choice(
            "radio", "age", AGE_UNDER, tr(language, "age_under"), ticked=False, at="age-under"
        )
        + _error(language, "age", problems)
        + "</fieldset>"
    )


def _consents(
    language: Language, notices: Notices, form: JoinForm, problems: Mapping[FieldName, str]
) -> str:
    # Notices that changed since the form was shown are ticked afresh, not carried over.
    keep_ticks = problems.get("consent") != "notices_changed"
    parts = [
        f'<fieldset class="field{" invalid" if "consent" in problems else ""}">'
        f"<legend>{_e(tr(language, 'consents'))}</legend>",
        _error(language, "consent", problems),
    ]
    for notice in notices.in_order():
        ticked = keep_ticks and notice.purpose in form.consents
        version = tr(language, "notice_version", version=notice.version)
        parts.append(
            '<div class="consent">'
            + _choice(
                "checkbox",
                "consent",
                notice.purpose,
                notice.label.get(language),
                ticked=ticked,
                at=f"consent-{notice.purpose}",
            )
            + f'<p class="notice">{_e(notice.text.get(language))}</p>'
            f'<p class="version">{_e(version)}</p></div>'
        )
    parts.extend(
        f'<input type="hidden" name="shown" value="{_e(mark)}">'
        for mark in sorted(_shown_marks(notices, language))
    )
    parts.append("</fieldset>")
    return "".join(parts)


# ---------------------------------------------------------------- the router

_REFUSAL_PAGES: Final[dict[handoff.Refusal, tuple[str, int]]] = {
    "malformed": ("invalid", 404),
    "unknown_kiosk": ("invalid", 404),
    "forged": ("invalid", 404),
    "future": ("invalid", 403),
    "expired": ("expired", 410),
    "used": ("used", 410),
}


def _language(request: Request) -> Language:
    return "en" if request.query_params.get("lang") == "en" else "zh-CN"


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=_SECURITY_HEADERS)


def _see_other(location: str) -> Response:
    return Response(status_code=303, headers={"Location": location, **_SECURITY_HEADERS})


def _with_language(path: str, language: Language) -> str:
    return f"{path}?lang=en" if language == "en" else path


class JoinPages:
    """What each request gets: the work behind the routes, with its dependencies."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        kiosks: KioskLookup,
        notices: NoticeSource,
        region: str = DEFAULT_REGION,
    ) -> None:
        self.database = database
        self.clock = clock
        self.kiosks = kiosks
        self.notices = notices
        self.region = region

    def show_form(self, token: str, language: Language) -> Response:
        opened = self._open(token, language, submitting=False)
        if isinstance(opened, Response):
            return opened
        return _html(form_page(language, self.notices()))

    def send_form(self, token: str, language: Language, body: bytes) -> Response:
        opened = self._open(token, language, submitting=True)
        if isinstance(opened, Response):
            return opened
        form = read_form(body)
        notices = self.notices()
        checked = check_form(form, notices, language=language, region=self.region)
        if isinstance(checked, UnderAge):
            _log.info("phone sign-up declined: under 14 (kiosk %s)", opened.kiosk.kiosk_id)
            return _html(message_page(language, "under_age"))
        if isinstance(checked, dict):
            _log.info(
                "phone sign-up form sent back (kiosk %s): %s",
                opened.kiosk.kiosk_id,
                ", ".join(f"{name} {problem}" for name, problem in sorted(checked.items())),
            )
            return _html(form_page(language, notices, form, checked), 422)
        try:
            handoff.sign_up(self.database, opened, checked, now=self.clock())
        except HandoffRefused as refusal:  # another request used the link a moment ago
            return _refused(language, refusal, opened.kiosk.kiosk_id)
        return _see_other(_with_language(f"{token}/done", language))

    def show_thanks(self, token: str, language: Language) -> Response:
        try:
            link = handoff.authenticate(token, self.kiosks)
        except HandoffRefused as refusal:
            return _refused(language, refusal, None)
        if not handoff.was_used(self.database, link):
            return _see_other(_with_language(f"../{token}", language))
        return _html(message_page(language, "thanks"))

    def _open(self, token: str, language: Language, *, submitting: bool) -> Handoff | Response:
        """The link's handoff if it may be used now, else the page that says why not."""
        try:
            link = handoff.authenticate(token, self.kiosks)
        except HandoffRefused as refusal:
            return _refused(language, refusal, None)
        problem: handoff.Refusal | None
        if handoff.was_used(self.database, link):
            problem = "used"  # checked before the time: the more helpful answer
        else:
            problem = link.refusal_at(self.clock(), submitting=submitting)
        if problem is not None:
            return _refused(language, HandoffRefused(problem), link.kiosk.kiosk_id)
        return link


def _refused(language: Language, refusal: HandoffRefused, kiosk_id: str | None) -> Response:
    page, status = _REFUSAL_PAGES[refusal.reason]
    _log.info(
        "sign-up link refused (%s)%s", refusal.reason, f": kiosk {kiosk_id}" if kiosk_id else ""
    )
    return _html(message_page(language, page), status)


def safely(language: Language, work: Callable[[], Response]) -> Response:
    """Whatever fails, the shopper gets a page in their language, never a trace."""
    try:
        return work()
    except NoticesUnavailable as problem:
        _log.error("phone sign-up unavailable: %s", problem)
    except DBAPIError as error:
        _log.warning("phone sign-up: database unavailable (%s)", type(error.orig).__name__)
    except Exception as error:
        # The type and where, not the message: it might quote what was typed.
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        _log.error("phone sign-up page failed: %s%s", type(error).__name__, where)
    return _html(message_page(language, "unavailable"), 503)


def join_router(
    database: Database,
    clock: Clock,
    *,
    kiosks: KioskLookup,
    notices: NoticeSource,
    region: str = DEFAULT_REGION,
) -> APIRouter:
    """The phone sign-up pages. `kiosks` finds a kiosk (and its handoff key) by its
    number; `notices()` gives the consent notices in force; `region` reads
    national phone numbers."""
    pages = JoinPages(database, clock, kiosks=kiosks, notices=notices, region=region)
    router = APIRouter(tags=["phone sign-up"], include_in_schema=False)

    @router.get("/join/{token}", response_class=HTMLResponse)
    def join_form(token: str, request: Request) -> Response:
        language = _language(request)
        return safely(language, lambda: pages.show_form(token, language))

    @router.post("/join/{token}", response_class=HTMLResponse)
    async def join_send(token: str, request: Request) -> Response:
        language = _language(request)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return _html(message_page(language, "invalid"), 413)
        data = bytes(body)
        return await run_in_threadpool(
            safely, language, lambda: pages.send_form(token, language, data)
        )

    @router.get("/join/{token}/done", response_class=HTMLResponse)
    def join_done(token: str, request: Request) -> Response:
        language = _language(request)
        return safely(language, lambda: pages.show_thanks(token, language))

    return router


__all__ = [
    "JoinForm",
    "JoinPages",
    "UnderAge",
    "check_form",
    "form_page",
    "join_router",
    "message_page",
    "read_form",
]
