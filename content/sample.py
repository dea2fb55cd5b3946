"""Generate a complete, valid sample content bundle: fictional phones, pictures and tables.

For the demo, for tests and for the cold-start benchmark
(`kiosk-sample-bundle OUT --products 10000`). Everything is made up: the four
brands, models, chipsets and OS names; the pictures are drawn here with Pillow
(drawn at twice the size and downsampled, so edges are smooth). It also
carries the chain's consent notices, a smiley and a visit survey, coupon
campaigns, a daily prize draw and five member offers, in Chinese and English. The same
arguments give the same bundle, byte for byte, so a regenerated sample installs
as the same release.

Chinese text in pictures needs a CJK font (fonts-noto-cjk, which ./run
installs); without it pictures carry English text only.
"""

from __future__ import annotations

import argparse
import colorsys
import hashlib
import math
import random
import re
import secrets
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Final, Literal

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from pydantic import BaseModel

from content.bundle import (
    CATALOG,
    COUPONS,
    MANIFEST,
    NOTICES,
    OFFERS,
    PLANOGRAM,
    PLAYLIST,
    PRIZES,
    RECOMMENDATIONS,
    SURVEYS,
)
from content.model import (
    SCHEMA_VERSION,
    SKU_PATTERN,
    AssetEntry,
    Catalog,
    ConsentNotice,
    ConsentPurpose,
    CouponCampaign,
    CouponCampaigns,
    LocalizedText,
    Manifest,
    Money,
    Notices,
    PhoneSpecs,
    Planogram,
    Playlist,
    PlaylistItem,
    Prize,
    PrizeDraw,
    PrizeDraws,
    Product,
    QuestionKind,
    Recommendations,
    SlotAssignment,
    Survey,
    SurveyChoice,
    SurveyQuestion,
    Surveys,
)
from content.offers import Offer, OfferLimits, OfferPeriod, Offers, OfferSegment, ViewedFamily

RGB = tuple[int, int, int]
Side = Literal["front", "back"]
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# Fixed rather than "now": regenerating the same sample must give the same
# manifest, or the content store would see a changed release.
CREATED_AT: Final = "2025-06-18T09:00:00+08:00"
CABINET_SLOTS: Final = 12  # the demo cabinet has twelve pickup slots
BEST_SELLERS: Final = 6
# Beyond this many products pictures are reused: 10,000 products must generate
# in seconds for the cold-start benchmark, and only the first few are on show.
DRAWN_PRODUCTS: Final = 24
PICTURE_SIZE: Final = (720, 960)  # portrait, shown large beside the real phone
ATTRACT_SIZE: Final = (1920, 1080)  # the kiosk screen
ATTRACT_SECONDS: Final = 8.0
_SS: Final = 2  # supersampling factor: draw at 2x, downsample with LANCZOS
_BODY: Final = (388, 820)  # phone body in the 720x960 picture, ~71.5 x 151 mm
_CJK_FONTS: Final = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-{weight}.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-{weight}.ttc",
)
_CJK_SC_INDEX: Final = 2  # in NotoSansCJK-*.ttc: JP, KR, SC, TC, HK


# --- The fictional range ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Colour:
    code: str
    zh: str
    en: str
    rgb: RGB


@dataclass(frozen=True, slots=True)
class _Brand:
    zh: str
    en: str
    island: Literal["ring", "bar", "pill", "square"]  # camera island, the brand's look
    os: str
    accent: RGB


@dataclass(frozen=True, slots=True)
class _Model:
    code: str
    brand: _Brand
    name_zh: str
    name_en: str
    price: int
    display_inches: float
    display_type: str
    refresh_hz: int
    chipset: str
    ram_gb: int
    storage_gb: int
    main_camera_mp: int
    battery_mah: int
    charging_w: int
    weight_g: int
    lenses: int
    colours: tuple[_Colour, ...]
    tags: tuple[str, ...]
    slogan: tuple[str, str] = ("", "")  # zh, en; set on the four attract models


BLACK = _Colour("BK", "曜夜黑", "Midnight Black", (30, 31, 36))
SILVER = _Colour("SV", "冰川银", "Glacier Silver", (204, 208, 214))
BLUE = _Colour("BL", "晴空蓝", "Sky Blue", (118, 160, 212))
GREEN = _Colour("GN", "松石绿", "Jade Green", (78, 132, 114))
PURPLE = _Colour("PU", "暮光紫", "Twilight Purple", (146, 124, 192))
WHITE = _Colour("WH", "晨雾白", "Mist White", (236, 234, 229))
ORANGE = _Colour("OR", "珊瑚橙", "Coral Orange", (232, 126, 94))
GOLD = _Colour("GD", "流沙金", "Desert Gold", (212, 186, 142))
TITANIUM = _Colour("TI", "钛金灰", "Titanium Grey", (124, 124, 128))
RED = _Colour("RD", "绯红", "Crimson Red", (168, 38, 50))
MINT = _Colour("MT", "薄荷青", "Mint", (156, 212, 198))
NAVY = _Colour("NV", "深海蓝", "Deep Navy", (36, 54, 92))

XINGHE = _Brand("星河", "Xinghe", "ring", "XingOS 5", (96, 120, 230))
LINGYUN = _Brand("凌云", "Lingyun", "bar", "Cloudline OS 4", (240, 96, 40))
QINGLAN = _Brand("青岚", "Qinglan", "pill", "Breeze OS 3", (40, 170, 150))
OBSIDIAN = _Brand("曜石", "Obsidian", "square", "Onyx OS 2", (190, 150, 90))

LTPO: Final = "LTPO OLED"
OLED: Final = "OLED"

MODELS: Final[tuple[_Model, ...]] = (
    # Xinghe: cameras.
    _Model("XH-X60U", XINGHE, "X60 Ultra", "X60 Ultra", 8999, 6.82, LTPO, 120, "Orion O9 Elite",
           16, 512, 200, 5500, 90, 228, 4, (BLACK, WHITE, GREEN), ("flagship", "camera", "5G"),
           ("夜色，也清晰", "Clear, even at night.")),
    _Model("XH-X60P", XINGHE, "X60 Pro", "X60 Pro", 6499, 6.78, LTPO, 120, "Orion O9",
           12, 256, 50, 5400, 80, 218, 3, (BLUE, BLACK), ("flagship", "camera", "5G")),
    _Model("XH-X60", XINGHE, "X60", "X60", 4499, 6.36, OLED, 120, "Orion O9",
           12, 256, 50, 4800, 80, 188, 3, (PURPLE, SILVER), ("camera", "compact", "5G")),
    _Model("XH-S12", XINGHE, "S12", "S12", 2499, 6.67, OLED, 120, "Lyra L7",
           8, 256, 64, 5000, 67, 185, 2, (MINT, BLACK), ("value", "5G")),
    # Lingyun: performance and games.
    _Model("LY-GT7P", LINGYUN, "GT7 Pro", "GT7 Pro", 5999, 6.78, LTPO, 144, "Orion O9 Elite",
           16, 1024, 50, 6000, 120, 221, 3, (TITANIUM, RED), ("flagship", "gaming", "5G"),
           ("144Hz，一帧不掉", "144 Hz. Not a frame dropped.")),
    _Model("LY-GT7", LINGYUN, "GT7", "GT7", 3999, 6.78, OLED, 144, "Orion O8s",
           12, 512, 50, 5800, 100, 212, 2, (BLACK, ORANGE), ("gaming", "battery", "5G")),
    _Model("LY-R8", LINGYUN, "Racer 8", "Racer 8", 2799, 6.67, OLED, 120, "Orion O8s",
           12, 256, 64, 5500, 80, 199, 2, (NAVY, SILVER), ("gaming", "value", "5G")),
    _Model("LY-R8SE", LINGYUN, "Racer 8 SE", "Racer 8 SE", 1999, 6.67, OLED, 90, "Lyra L5",
           8, 128, 50, 5000, 33, 190, 2, (BLUE, BLACK), ("value", "battery", "5G")),
    # Qinglan: light and slim.
    _Model("QL-Q9P", QINGLAN, "Q9 Pro", "Q9 Pro", 4999, 6.73, LTPO, 120, "Orion O9",
           12, 512, 108, 5200, 100, 199, 3, (MINT, WHITE), ("camera", "slim", "5G"),
           ("轻薄，亦有远见", "Light in hand, sharp in sight.")),
    _Model("QL-Q9", QINGLAN, "Q9", "Q9", 3299, 6.55, OLED, 120, "Orion O8s",
           12, 256, 50, 4700, 67, 174, 2, (PURPLE, SILVER), ("slim", "5G")),
    _Model("QL-Q9M", QINGLAN, "Q9 mini", "Q9 mini", 2999, 6.1, OLED, 120, "Orion O8s",
           8, 256, 50, 4500, 45, 170, 2, (WHITE, GREEN), ("compact", "slim", "5G")),
    _Model("QL-Q7Y", QINGLAN, "Q7 青春版", "Q7 Youth", 2199, 6.72, OLED, 90, "Lyra L5",
           8, 128, 50, 5000, 33, 192, 2, (ORANGE, BLUE), ("value", "5G")),
    # Obsidian: premium and business.
    _Model("OB-V5U", OBSIDIAN, "Vertex 5 Ultra", "Vertex 5 Ultra", 8499, 6.9, LTPO, 120,
           "Orion O9 Elite", 16, 1024, 200, 5600, 100, 230, 4, (TITANIUM, BLACK, GOLD),
           ("flagship", "camera", "business", "5G"),
           ("沉稳有力，全天续航", "Quiet power, all day long.")),
    _Model("OB-V5P", OBSIDIAN, "Vertex 5 Pro", "Vertex 5 Pro", 6999, 6.8, LTPO, 120, "Orion O9",
           16, 512, 50, 5500, 90, 219, 3, (NAVY, SILVER), ("flagship", "business", "5G")),
    _Model("OB-V5", OBSIDIAN, "Vertex 5", "Vertex 5", 4999, 6.31, LTPO, 120, "Orion O9",
           12, 256, 50, 4600, 66, 183, 3, (GOLD, BLACK), ("compact", "business", "5G")),
    _Model("OB-S5", OBSIDIAN, "Slate 5", "Slate 5", 2699, 6.7, OLED, 120, "Lyra L7",
           8, 256, 64, 5000, 45, 195, 2, (SILVER, GREEN), ("business", "value", "5G")),
)  # fmt: skip
ATTRACT_MODELS: Final = ("XH-X60U", "LY-GT7P", "QL-Q9P", "OB-V5U")
_STORAGE_STEPS: Final = (128, 256, 512, 1024)
_STORAGE_PRICE_STEP: Final = 500  # CNY per storage step, as chains price variants
_SOLD_OUT_SHARE: Final = 0.1  # about one in ten sold out, so screens show both cases


# --- Consent notices, surveys, coupons and the prize draw ------------------------
# Fixed text, not drawn from the seed: the demo and the tests rely on these ids.

NOTICE_VERSION: Final = "2026-11"
VISIT_SURVEY: Final = "visit"
SMILEY_SURVEY: Final = "smiley"
SURVEY_REWARD: Final = "accessory-50"  # the visit survey's thank-you coupon
CASE_DISCOUNT: Final = "case-10-off"
GRAND_PRIZE: Final = "phone-200"
DAILY_DRAW: Final = "daily-draw"
BIRTHDAY_COUPON: Final = "birthday-100"
GOLD_COUPON: Final = "gold-accessory-20"
XINGHE_COUPON: Final = "xinghe-300"
MONTHLY_COUPON: Final = "film-30"
FEATURED_BRAND: Final = "Xinghe"  # the "looked at it before" offer's brand
# Far enough either side of today that the demo and tests work for years.
CAMPAIGNS_START: Final = "2025-01-01T00:00:00+08:00"
CAMPAIGNS_END: Final = "2030-01-01T00:00:00+08:00"


def _text(zh: str, en: str) -> LocalizedText:
    return LocalizedText(zh_cn=zh, en=en)


def sample_notices() -> Notices:
    """One notice per consent purpose: what is kept, what for, how to withdraw."""

    def notice(purpose: ConsentPurpose, label: LocalizedText, text: LocalizedText) -> ConsentNotice:
        return ConsentNotice(purpose=purpose, version=NOTICE_VERSION, label=label, text=text)

    return Notices(
        notices=(
            notice(
                ConsentPurpose.MEMBERSHIP,
                _text("成为会员（必选）", "Become a member (required)"),
                _text(
                    "我们保存您的手机号码、会员编号和您领取及使用优惠券的记录，用于管理会员账户"
                    "和核销优惠券。这些资料只保存在本连锁的会员系统中，不会出售给任何人。"
                    "您可随时在任一门店服务台注销会员，我们将在30天内删除这些资料。",
                    "We keep your mobile number, your member number and a record of the"
                    " coupons you receive and use, to run your membership and redeem your"
                    " coupons. They stay in our chain's member system and are never sold."
                    " You can close your membership at any time at any store's service desk;"
                    " we then delete this data within 30 days.",
                ),
            ),
            notice(
                ConsentPurpose.MARKETING,
                _text("通过短信和邮件接收优惠信息（可选）", "Offers by SMS and email (optional)"),
                _text(
                    "我们会用您的手机号码和电子邮箱（如您提供）发送新品和优惠信息，每月不超过"
                    "四条。回复短信“TD”或点击邮件中的退订链接即可随时退订，也可在门店服务台"
                    "撤回。撤回不影响您的会员资格。",
                    "We use your mobile number and your email address (if you give one) to"
                    " send news of phones and offers, at most four messages a month. Reply TD"
                    " to any SMS or use the unsubscribe link in any email to stop at any"
                    " time, or ask at a service desk. Stopping does not affect your"
                    " membership.",
                ),
            ),
            notice(
                ConsentPurpose.RECOGNITION,
                _text(
                    "用会员钥匙扣或标签识别我（可选）",
                    "Recognise me by my member fob or tag (optional)",
                ),
                _text(
                    "您在自助屏前轻触或带着会员钥匙扣、标签时，自助屏会认出您并显示您的优惠。"
                    "我们只保存由标签编号加密生成的代码（不保存编号本身），以及识别的时间和"
                    "门店；不采集人脸或其他生物特征。您可随时在门店服务台解绑，解绑后该代码"
                    "即被删除。",
                    "When you tap or carry your member fob or tag at a kiosk, it recognises"
                    " you and shows your offers. We keep only a scrambled code made from the"
                    " tag's number (never the number itself), with the time and store where"
                    " it was seen; no face or other biometric data. Unlink the tag at any"
                    " time at a service desk and the code is deleted.",
                ),
            ),
            notice(
                ConsentPurpose.PERSONALISATION,
                _text(
                    "根据我看过和买过的商品为我推荐（可选）",
                    "Recommendations based on what I look at and buy (optional)",
                ),
                _text(
                    "我们记录您在自助屏上拿起和查看过的机型以及您的购买记录，用来为您推荐更"
                    "合适的手机和配件。不勾选时，您看到的推荐与其他顾客相同。您可随时在门店"
                    "服务台撤回，撤回后我们将删除这些记录。",
                    "We note which phones you pick up and look at on our kiosks, and what you"
                    " buy, to suggest phones and accessories that suit you. Without this you"
                    " see the same suggestions as everyone else. Withdraw at any time at a"
                    " service desk and we delete these records.",
                ),
            ),
        )
    )


def sample_surveys() -> Surveys:
    """A one-tap smiley survey, and a short visit survey that earns a coupon."""
    how_was_it = _text("今天的购物体验如何？", "How was your shopping experience today?")
    return Surveys(
        surveys=(
            Survey(
                id=SMILEY_SURVEY,
                title=_text("今天的购物体验", "Today's shopping experience"),
                questions=(
                    SurveyQuestion(id="experience", kind=QuestionKind.SMILEY, prompt=how_was_it),
                ),
                terminal=True,
            ),
            Survey(
                id=VISIT_SURVEY,
                title=_text("一分钟购物体验调查", "One-minute survey about your visit"),
                questions=(
                    SurveyQuestion(
                        id="experience",
                        kind=QuestionKind.SMILEY,
                        prompt=how_was_it,
                        # Happy shoppers skip "what went wrong".
                        branches={"3": "recommend", "4": "recommend"},
                    ),
                    SurveyQuestion(
                        id="what-went-wrong",
                        kind=QuestionKind.SINGLE,
                        prompt=_text("哪方面最让您不满意？", "What disappointed you most?"),
                        choices=(
                            SurveyChoice(
                                id="waiting", label=_text("等候时间太长", "Waiting too long")
                            ),
                            SurveyChoice(
                                id="staff", label=_text("店员的服务", "Help from our staff")
                            ),
                            SurveyChoice(id="price", label=_text("价格", "Prices")),
                            SurveyChoice(
                                id="stock",
                                label=_text(
                                    "想要的机型或颜色缺货",
                                    "The model or colour I wanted was out of stock",
                                ),
                            ),
                            SurveyChoice(
                                id="kiosk", label=_text("自助屏不好用", "The kiosk was hard to use")
                            ),
                            SurveyChoice(id="other", label=_text("其他", "Something else")),
                        ),
                    ),
                    SurveyQuestion(
                        id="recommend",
                        kind=QuestionKind.NPS,
                        prompt=_text(
                            "您有多大可能向朋友推荐我们的门店？",
                            "How likely are you to recommend our store to a friend?",
                        ),
                    ),
                    SurveyQuestion(
                        id="comments",
                        kind=QuestionKind.TEXT,
                        prompt=_text(
                            "还有什么想告诉我们的吗？（选填）",
                            "Anything else you would like to tell us? (optional)",
                        ),
                        max_length=200,
                        optional=True,
                    ),
                ),
                reward=SURVEY_REWARD,
            ),
        )
    )


def sample_campaigns() -> CouponCampaigns:
    """The survey's thank-you coupon, the two draw prizes and the member offers' coupons."""
    return CouponCampaigns(
        campaigns=(
            CouponCampaign(
                id=SURVEY_REWARD,
                number=1,
                title=_text("配件立减¥50", "¥50 off accessories"),
                terms=_text(
                    "购买配件满¥199可用。每单限用一张，不与其他优惠同享，不可兑换现金。",
                    "On accessories worth ¥199 or more. One coupon per order; not with other"
                    " offers; no cash value.",
                ),
                value=Money(amount=Decimal("50.00")),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                valid_days=30,
                daily_budget=50,
                per_member_limit=1,
            ),
            CouponCampaign(
                id=CASE_DISCOUNT,
                number=2,
                title=_text("手机壳9折", "10% off a phone case"),
                terms=_text(
                    "购买任意手机壳一件享9折。每单限用一张，不可兑换现金。",
                    "10% off any one phone case. One coupon per order; no cash value.",
                ),
                percent_off=10,
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                valid_days=14,
                daily_budget=20,
                per_member_limit=3,
            ),
            CouponCampaign(
                id=GRAND_PRIZE,
                number=3,
                title=_text("购机立减¥200", "¥200 off a new phone"),
                terms=_text(
                    "购买标价¥2999及以上的任意手机可用。每单限用一张，不与其他优惠同享，"
                    "不可兑换现金。",
                    "On any phone priced ¥2,999 or more. One coupon per order; not with"
                    " other offers; no cash value.",
                ),
                value=Money(amount=Decimal("200.00")),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                valid_days=30,
                daily_budget=2,
                per_member_limit=1,
            ),
            # The member offers' coupons (sample_offers).
            CouponCampaign(
                id=BIRTHDAY_COUPON,
                number=4,
                title=_text("生日月购机立减¥100", "Birthday month: ¥100 off a new phone"),
                terms=_text(
                    "会员生日当月，购买标价¥1999及以上的任意手机可用。每单限用一张，"
                    "不与其他优惠同享，不可兑换现金。",
                    "In your birthday month, on any phone priced ¥1,999 or more. One coupon per"
                    " order; not with other offers; no cash value.",
                ),
                value=Money(amount=Decimal("100.00")),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                valid_days=30,
                daily_budget=20,
                per_member_limit=10,  # once a year, for as long as the campaign runs
            ),
            CouponCampaign(
                id=GOLD_COUPON,
                number=5,
                title=_text("金卡会员配件8折", "Gold members: 20% off accessories"),
                terms=_text(
                    "金卡会员购买配件（耳机、充电器、保护壳）享8折。每单限用一张，不可兑换现金。",
                    "For Gold members: 20% off accessories (earphones, chargers, cases). One"
                    " coupon per order; no cash value.",
                ),
                percent_off=20,
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                valid_days=7,
                daily_budget=30,
                per_member_limit=260,  # once a week
            ),
            CouponCampaign(
                id=XINGHE_COUPON,
                number=6,
                title=_text("星河旗舰立减¥300", "¥300 off a Xinghe flagship"),
                terms=_text(
                    "购买星河 X60 系列任意机型可用。每单限用一张，不与其他优惠同享，不可兑换现金。",
                    "On any Xinghe X60 series phone. One coupon per order; not with other"
                    " offers; no cash value.",
                ),
                value=Money(amount=Decimal("300.00")),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                valid_days=14,
                daily_budget=10,
                per_member_limit=1,
            ),
            CouponCampaign(
                id=MONTHLY_COUPON,
                number=7,
                title=_text("贴膜立减¥30", "¥30 off a screen protector"),
                terms=_text(
                    "到店贴膜服务立减¥30，含钢化膜及安装。每单限用一张，不可兑换现金。",
                    "¥30 off a fitted screen protector, film and fitting included. One coupon"
                    " per order; no cash value.",
                ),
                value=Money(amount=Decimal("30.00")),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                valid_days=30,
                daily_budget=50,
                per_member_limit=60,  # once a month
            ),
        )
    )


def sample_offers() -> Offers:
    """Five member offers, best first: a birthday-month coupon, one for members who
    looked at a Xinghe phone before (featuring one, `_offers_featuring`), a Gold-tier
    coupon, one for the first visit of the month, and a message for every member."""
    return Offers(
        offers=(
            Offer(
                id="birthday-month",
                title=_text("生日快乐！送您购机立减¥100", "Happy birthday! ¥100 off a new phone"),
                message=_text(
                    "生日当月专享，本月内到店购机可用。",
                    "Yours all this month, in any of our stores.",
                ),
                campaign=BIRTHDAY_COUPON,
                segment=OfferSegment(birthday_month=True),
                limits=OfferLimits(per_member=OfferPeriod.MONTH, store_daily_budget=20),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                priority=100,
            ),
            Offer(
                id="xinghe-again",
                title=_text(
                    "还在考虑星河X60？立减¥300", "Still thinking about the Xinghe X60? ¥300 off"
                ),
                message=_text(
                    "上次您看过星河手机，今天购买X60系列立减¥300。",
                    "You looked at Xinghe phones last time: ¥300 off the X60 series today.",
                ),
                campaign=XINGHE_COUPON,
                segment=OfferSegment(viewed=ViewedFamily(brands=(FEATURED_BRAND,))),
                limits=OfferLimits(per_member=OfferPeriod.CAMPAIGN, store_daily_budget=10),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                priority=80,
            ),
            Offer(
                id="gold-accessories",
                title=_text("金卡会员专享：配件8折", "For Gold members: 20% off accessories"),
                message=_text(
                    "耳机、充电器、保护壳，每周一次。",
                    "Earphones, chargers and cases, once a week.",
                ),
                campaign=GOLD_COUPON,
                segment=OfferSegment(tiers=("gold",)),
                limits=OfferLimits(per_member=OfferPeriod.WEEK, store_daily_budget=30),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                priority=60,
            ),
            Offer(
                id="first-visit-film",
                title=_text(
                    "本月首次到店：贴膜立减¥30",
                    "First visit this month: ¥30 off a screen protector",
                ),
                campaign=MONTHLY_COUPON,
                segment=OfferSegment(first_visit_of_month=True),
                limits=OfferLimits(per_member=OfferPeriod.MONTH, store_daily_budget=50),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                priority=40,
            ),
            Offer(
                id="trade-in-weekend",
                title=_text(
                    "会员以旧换新，最高多补¥500", "Members: up to ¥500 extra on a trade-in"
                ),
                message=_text(
                    "旧手机估价免费，店员为您现场评估。",
                    "Free valuation of your old phone: ask any of our staff.",
                ),
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
                priority=-10,
            ),
        )
    )


def _offers_featuring(listed: list[_Listed]) -> Offers:
    """The sample offers, the Xinghe one featuring the catalog's first Xinghe phone."""
    offers = sample_offers()
    featured = next(
        (entry.product.sku for entry in listed if entry.product.brand == FEATURED_BRAND), None
    )
    if featured is None:
        return offers
    return Offers(
        offers=tuple(
            offer.model_copy(update={"product": featured})
            if offer.campaign == XINGHE_COUPON
            else offer
            for offer in offers.offers
        )
    )


def sample_prize_draws() -> PrizeDraws:
    """One daily draw for members: mostly a case discount, rarely ¥200 off a phone."""
    return PrizeDraws(
        draws=(
            PrizeDraw(
                id=DAILY_DRAW,
                title=_text("会员每日幸运抽奖", "Members' daily lucky draw"),
                prizes=(
                    Prize(id="grand", campaign=GRAND_PRIZE, chance=Decimal("0.05"), daily_cap=1),
                    Prize(id="case", campaign=CASE_DISCOUNT, chance=Decimal("0.2"), daily_cap=20),
                ),
                draws_per_member_per_day=1,
                starts_at=CAMPAIGNS_START,
                ends_at=CAMPAIGNS_END,
            ),
        )
    )


def _prize_draws_with_pictures(listed: list[_Listed]) -> PrizeDraws:
    """The sample draws, the grand prize (money off a new phone) shown with the
    cabinet's first phone; the case discount shows as the kiosk's value ticket."""
    draws = sample_prize_draws()
    if not listed:
        return draws
    phone = listed[0].product.images[0]
    (draw,) = draws.draws
    prizes = tuple(
        p.model_copy(update={"image": phone}) if p.campaign == GRAND_PRIZE else p
        for p in draw.prizes
    )
    return PrizeDraws(draws=(draw.model_copy(update={"prizes": prizes}),))


# --- Bundle ---------------------------------------------------------------------


@dataclass(slots=True)
class _Writer:
    """Writes files into the bundle and remembers each one for the manifest."""

    root: Path
    assets: list[AssetEntry] = field(default_factory=list)

    def write(self, path: str, data: bytes) -> str:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        self.assets.append(AssetEntry(path=path, sha256=digest, size=len(data)))
        return path


@dataclass(frozen=True, slots=True)
class _Listed:
    """A catalog entry with the fictional model it was made from."""

    product: Product
    model: _Model


def write_sample_bundle(
    out: Path, *, products: int = 16, release: str | None = None, seed: int = 1
) -> Manifest:
    """Write a complete bundle to `out` (which must not exist, or be empty).

    The bundle is written beside `out` and renamed into place at the end, so
    an interrupted run leaves no half bundle behind. Returns the manifest.
    Raises ValueError for fewer than one product, FileExistsError when `out`
    already holds files.
    """
    _check_arguments(products, release)
    if out.is_dir() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{secrets.token_hex(4)}")
    staging.mkdir()  # not mkdtemp: its 0700 mode would stick to the bundle
    try:
        manifest = _write_bundle(staging, products=products, release=release, seed=seed)
        staging.replace(out)  # replaces an empty directory too
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _check_arguments(products: int, release: str | None) -> None:
    # Before drawing anything, rather than failing at the manifest seconds later.
    if products < 1:
        raise ValueError("a bundle needs at least one product")
    if release is not None and not re.match(SKU_PATTERN, release):
        raise ValueError(f"release {release!r} must be letters, digits, '.', '_' or '-'")


def _write_bundle(out: Path, *, products: int, release: str | None, seed: int) -> Manifest:
    rng = random.Random(seed)
    writer = _Writer(out)
    fonts = _Fonts.find()
    # Attract posters first: they draw the flagships the catalog pictures reuse.
    playlist = Playlist(
        items=tuple(_attract_item(writer, code, fonts, seed) for code in ATTRACT_MODELS)
    )
    pictures: dict[tuple[str, str], tuple[str, str]] = {}
    listed: list[_Listed] = []
    used: set[str] = set()
    for index in range(products):
        model, colour, storage = _variant(index, rng, pictures)
        key = (model.code, colour.code)
        if key not in pictures:
            front, back = _product_pictures(model, colour, fonts, seed)
            stem = f"images/{model.code.lower()}-{colour.code.lower()}"
            pictures[key] = (
                writer.write(f"{stem}-front.jpg", front),
                writer.write(f"{stem}-back.jpg", back),
            )
        sku = f"{model.code}-{storage}-{colour.code}"
        if sku in used:  # beyond the few real variants, numbered copies
            sku = f"{sku}-{index:05d}"
        used.add(sku)
        product = _product(sku, model, colour, storage=storage, images=pictures[key], rng=rng)
        listed.append(_Listed(product, model))

    catalog = Catalog(products=tuple(entry.product for entry in listed))
    planogram = Planogram(
        cabinet="demo-cabinet-12",
        store_edits="keep",  # staff may move products; a new release keeps their edits
        slots=tuple(
            SlotAssignment(slot=slot, sku=entry.product.sku)
            for slot, entry in enumerate(listed[:CABINET_SLOTS], start=1)
        ),
    )
    recommendations = _recommendations(listed, rng)
    writer.write(CATALOG, _json(catalog))
    writer.write(PLANOGRAM, _json(planogram))
    writer.write(PLAYLIST, _json(playlist))
    writer.write(RECOMMENDATIONS, _json(recommendations))
    writer.write(NOTICES, _json(sample_notices()))
    writer.write(SURVEYS, _json(sample_surveys()))
    writer.write(COUPONS, _json(sample_campaigns()))
    writer.write(PRIZES, _json(_prize_draws_with_pictures(listed)))
    writer.write(OFFERS, _json(_offers_featuring(listed)))
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        release=release or f"sample-{products}-{seed}",
        created_at=CREATED_AT,
        assets=tuple(sorted(writer.assets, key=lambda a: a.path)),
    )
    # Last, so a half-written directory never passes for a bundle.
    (out / MANIFEST).write_bytes(_json(manifest))
    return manifest


def _variant(
    index: int, rng: random.Random, pictures: dict[tuple[str, str], tuple[str, str]]
) -> tuple[_Model, _Colour, int]:
    model = MODELS[index % len(MODELS)]
    round_ = index // len(MODELS)
    if round_ == 0:
        return model, model.colours[0], model.storage_gb
    if index < DRAWN_PRODUCTS:
        colour = model.colours[round_ % len(model.colours)]
    else:  # only colours already drawn: no new pictures beyond the first few
        colour = rng.choice([c for c in model.colours if (model.code, c.code) in pictures])
    return model, colour, rng.choice([s for s in _STORAGE_STEPS if s >= model.storage_gb])


def _product(
    sku: str,
    model: _Model,
    colour: _Colour,
    *,
    storage: int,
    images: tuple[str, str],
    rng: random.Random,
) -> Product:
    steps = _STORAGE_STEPS.index(storage) - _STORAGE_STEPS.index(model.storage_gb)
    price = Decimal(model.price + steps * _STORAGE_PRICE_STEP).quantize(Decimal("0.01"))
    return Product(
        sku=sku,
        brand=model.brand.en,
        name=LocalizedText(
            zh_cn=f"{model.brand.zh} {model.name_zh}", en=f"{model.brand.en} {model.name_en}"
        ),
        colour=LocalizedText(zh_cn=colour.zh, en=colour.en),
        price=Money(amount=price),
        specs=PhoneSpecs(
            display_inches=model.display_inches,
            display_type=model.display_type,
            refresh_hz=model.refresh_hz,
            chipset=model.chipset,
            ram_gb=model.ram_gb,
            storage_gb=storage,
            main_camera_mp=model.main_camera_mp,
            battery_mah=model.battery_mah,
            charging_w=model.charging_w,
            weight_g=model.weight_g,
            network="5G",
            os=model.brand.os,
        ),
        images=images,
        tags=model.tags,
        in_stock=rng.random() >= _SOLD_OUT_SHARE,
    )


def _recommendations(listed: list[_Listed], rng: random.Random) -> Recommendations:
    # Related models come from the first products (every model once, a few
    # colours twice); each later variant borrows its model's list.
    first = listed[: len(MODELS)]
    related: dict[str, tuple[str, ...]] = {}
    for index, entry in enumerate(listed):
        if index >= len(MODELS):
            related[entry.product.sku] = related[listed[index % len(MODELS)].product.sku]
            continue
        price = entry.product.price.amount
        others = sorted(
            (other for other in first if other.model is not entry.model),
            key=lambda other: (
                other.model.brand is not entry.model.brand,
                abs(other.product.price.amount - price),
                other.product.sku,
            ),
        )
        related[entry.product.sku] = tuple(o.product.sku for o in others[: rng.choice((3, 4))])
    on_show = [entry.product.sku for entry in listed[:CABINET_SLOTS]]
    best = rng.sample(on_show, min(BEST_SELLERS, len(on_show)))
    return Recommendations(related=related, best_sellers=tuple(best))


def _attract_item(writer: _Writer, code: str, fonts: _Fonts, seed: int) -> PlaylistItem:
    model = next(m for m in MODELS if m.code == code)
    path = writer.write(f"attract/{code.lower()}.jpg", _attract_poster(model, fonts, seed))
    # No caption: the poster carries its own headline, and a caption drawn over it
    # would say the same words twice.
    return PlaylistItem(image=path, seconds=ATTRACT_SECONDS)


def _json(document: BaseModel) -> bytes:
    # One-space indent: readable by a person, a quarter smaller than two spaces
    # for the 10,000-product benchmark catalog.
    return (document.model_dump_json(by_alias=True, indent=1) + "\n").encode()


# Drawing is the slow part, and tests and benchmarks write several bundles in
# one process: the finished files are memoised (a few MB); of the large renders
# only the four attract flagships are kept, as posters and pictures share them.


@cache
def _product_pictures(
    model: _Model, colour: _Colour, fonts: _Fonts, seed: int
) -> tuple[bytes, bytes]:
    """Front and back product pictures as JPEG files."""
    if model.code in ATTRACT_MODELS and colour == model.colours[0]:
        front, back = _flagship_renders(model, fonts, seed)
    else:
        front, back = _renders(model, colour, fonts, seed)
    return _jpeg(_product_picture(front)), _jpeg(_product_picture(back))


@cache
def _attract_poster(model: _Model, fonts: _Fonts, seed: int) -> bytes:
    front, back = _flagship_renders(model, fonts, seed)
    return _jpeg(_attract_picture(model, front, back, fonts))


@cache
def _flagship_renders(model: _Model, fonts: _Fonts, seed: int) -> tuple[Image.Image, Image.Image]:
    return _renders(model, model.colours[0], fonts, seed)


def _renders(
    model: _Model, colour: _Colour, fonts: _Fonts, seed: int
) -> tuple[Image.Image, Image.Image]:
    return (
        _render_phone(model, colour, "front", fonts, seed),
        _render_phone(model, colour, "back", fonts, seed),
    )


def _jpeg(picture: Image.Image) -> bytes:
    buffer = BytesIO()
    # Quality 92 with 4:4:4 chroma: no visible loss on smooth renders and crisp
    # coloured edges, at a fraction of a PNG's size and encoding time.
    picture.save(buffer, "JPEG", quality=92, subsampling=0, optimize=True)
    return buffer.getvalue()


# --- Fonts ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fonts:
    """Noto Sans CJK SC when installed; otherwise Pillow's own font, English only."""

    regular: str | None
    bold: str | None

    @classmethod
    def find(cls) -> _Fonts:
        def first(weight: str) -> str | None:
            for pattern in _CJK_FONTS:
                path = pattern.format(weight=weight)
                if Path(path).is_file():
                    return path
            return None

        regular = first("Regular")
        return cls(regular, first("Bold") or regular)

    @property
    def cjk(self) -> bool:
        return self.regular is not None

    def get(self, size: float, *, bold: bool = False) -> _Font:
        path = self.bold if bold else self.regular
        if path is None:
            return ImageFont.load_default(size)
        return _truetype(path, round(size))


@cache
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size, index=_CJK_SC_INDEX)
    except OSError:  # a single-face file
        return ImageFont.truetype(path, size)


def _spaced_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: _Font,
    fill: tuple[int, ...],
    *,
    tracking: float,
    anchor: Literal["left", "centre"] = "left",
) -> None:
    """Letter-spaced text, as wordmarks are set."""
    widths = [font.getlength(char) for char in text]
    total = sum(widths) + tracking * (len(text) - 1)
    x, y = xy
    if anchor == "centre":
        x -= total / 2
    for char, width in zip(text, widths, strict=True):
        draw.text((x, y), char, font=font, fill=fill)
        x += width + tracking


# --- Colour -----------------------------------------------------------------------


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _shade(colour: RGB, amount: float) -> RGB:
    """Towards white for amount > 0, towards black for amount < 0."""
    return _mix(colour, (255, 255, 255), amount) if amount > 0 else _mix(colour, (0, 0, 0), -amount)


def _luma(colour: RGB) -> float:
    return (0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]) / 255


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def _rgba(colour: RGB, alpha: int) -> tuple[int, int, int, int]:
    return (*colour, alpha)


# --- Drawing helpers -----------------------------------------------------------------


def _gradient(size: tuple[int, int], tl: RGB, tr: RGB, bl: RGB, br: RGB) -> Image.Image:
    """Bilinear blend of four corner colours (a 2x2 image stretched edge to edge)."""
    corners = Image.new("RGB", (2, 2))
    corners.putdata([tl, tr, bl, br])
    return corners.resize(size, Image.Resampling.BILINEAR, box=(0.5, 0.5, 1.5, 1.5))


def _small(size: tuple[int, int]) -> tuple[int, int]:
    # Smooth fields are painted at an eighth of the size and enlarged: the
    # result is indistinguishable and several times faster than full size.
    return (max(8, size[0] // 8), max(8, size[1] // 8))


def _rounded_mask(size: tuple[int, int], radius: float) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), round(radius), 255)
    return mask


def _soft(mask: Image.Image, blur: float, opacity: float) -> Image.Image:
    """A blurred, faded copy of a mask; blurred at a quarter size because blur is costly."""
    w, h = mask.size
    small = mask.resize((max(1, w // 4), max(1, h // 4)), Image.Resampling.BOX)
    small = small.filter(ImageFilter.GaussianBlur(blur / 4))
    return small.resize((w, h), Image.Resampling.BICUBIC).point(lambda v: round(v * opacity))


def _shadow(
    canvas: Image.Image,
    shape: Image.Image,
    at: tuple[int, int],
    *,
    blur: float,
    opacity: float,
    colour: RGB = (0, 0, 0),
) -> None:
    """Paste a soft shadow of `shape` (an L mask) with its top left corner at `at`."""
    pad = math.ceil(blur * 2)
    padded = Image.new("L", (shape.width + 2 * pad, shape.height + 2 * pad), 0)
    padded.paste(shape, (pad, pad))
    canvas.paste(colour, (at[0] - pad, at[1] - pad), _soft(padded, blur, opacity))


def _lift(colour: RGB, amount: float) -> tuple[int, int, int, int]:
    """RGBA ink that lightens (amount > 0) or darkens what it is drawn over."""
    return (255, 255, 255, round(255 * amount)) if amount > 0 else (0, 0, 0, round(-255 * amount))


# --- The phone ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Phone:
    """One render: the model and colour, and where the body sits on the 2x canvas."""

    model: _Model
    colour: _Colour
    fonts: _Fonts
    body: tuple[int, int, int, int]  # left, top, right, bottom (inclusive)
    radius: float

    @property
    def width(self) -> int:
        return self.body[2] - self.body[0] + 1

    @property
    def height(self) -> int:
        return self.body[3] - self.body[1] + 1

    @property
    def dark(self) -> bool:
        return _luma(self.colour.rgb) < 0.35

    @property
    def rim(self) -> RGB:
        """The metal frame, tinted by the body colour."""
        return _mix(self.colour.rgb, (178, 180, 186), 0.45)


def _render_phone(
    model: _Model, colour: _Colour, side: Side, fonts: _Fonts, seed: int
) -> Image.Image:
    """The phone alone on a transparent background: `_BODY` plus a small margin."""
    s = _SS
    bw, bh = _BODY[0] * s, _BODY[1] * s
    margin = 8 * s  # room for the side buttons
    size = (bw + 2 * margin, bh + 2 * margin)
    phone = _Phone(
        model, colour, fonts, (margin, margin, margin + bw - 1, margin + bh - 1), radius=bw * 0.135
    )
    canvas = Image.new("RGB", size, phone.rim)
    silhouette = Image.new("L", size, 0)
    silhouette.paste(255, (margin, margin), _rounded_mask((bw, bh), phone.radius))

    # Side buttons: the right edge seen from the front, the left edge from the back.
    draw = ImageDraw.Draw(canvas, "RGBA")
    x = phone.body[2] - 2 * s if side == "front" else phone.body[0] - 3 * s
    for top, bottom in ((0.19, 0.29), (0.33, 0.39)):
        button = (x, margin + bh * top, x + 5 * s, margin + bh * bottom)
        draw.rounded_rectangle(button, 2 * s, fill=_shade(phone.rim, -0.12))
        ImageDraw.Draw(silhouette).rounded_rectangle(button, 2 * s, fill=255)

    if side == "back":
        _draw_back(canvas, phone)
    else:
        _draw_front(canvas, phone, random.Random(f"{seed}:{model.code}:{colour.code}"))

    out_size = (size[0] // s, size[1] // s)
    picture = canvas.resize(out_size, Image.Resampling.LANCZOS)
    picture.putalpha(silhouette.resize(out_size, Image.Resampling.LANCZOS))
    return picture


def _draw_back(canvas: Image.Image, phone: _Phone) -> None:
    x0, y0, x1, y1 = phone.body
    w, h = phone.width, phone.height
    c = phone.colour.rgb
    # Body: light from the top left, and a soft diagonal sheen of a window on glass.
    small = _gradient(
        _small((w, h)), _shade(c, 0.16), _shade(c, 0.05), _shade(c, -0.04), _shade(c, -0.18)
    )
    sw, sh = small.size
    sheen = Image.new("L", small.size, 0)
    ImageDraw.Draw(sheen).polygon(
        [(sw * 0.55, 0), (sw * 0.95, 0), (sw * 0.2, sh), (sw * -0.2, sh)], fill=255
    )
    sheen = sheen.filter(ImageFilter.GaussianBlur(sw * 0.12)).point(lambda v: round(v * 0.16))
    small.paste((255, 255, 255), (0, 0), sheen)
    canvas.paste(
        small.resize((w, h), Image.Resampling.BILINEAR),
        (x0, y0),
        _rounded_mask((w, h), phone.radius),
    )

    draw = ImageDraw.Draw(canvas, "RGBA")
    # Metal rim: a light edge, then a dark line where the glass meets the frame.
    draw.rounded_rectangle(
        phone.body, round(phone.radius), outline=_shade(phone.rim, 0.15), width=3 * _SS
    )
    inset = 3 * _SS
    draw.rounded_rectangle(
        (x0 + inset, y0 + inset, x1 - inset, y1 - inset),
        round(phone.radius - inset),
        outline=_lift(c, -0.35),
        width=_SS,
    )
    _draw_island(canvas, phone)
    # Wordmark low on the back, a shade off the body colour.
    _spaced_text(
        draw,
        (x0 + w / 2, y0 + h * 0.86),
        phone.model.brand.en.upper(),
        phone.fonts.get(w * 0.05, bold=True),
        _shade(c, 0.4) if phone.dark else _shade(c, -0.32),  # opaque: text ignores ink alpha
        tracking=w * 0.02,
        anchor="centre",
    )


@dataclass(frozen=True, slots=True)
class _Island:
    box: tuple[float, float, float, float]
    corner: float  # radius of the corners; half the width for a ring
    lenses: tuple[tuple[float, float, float], ...]  # centre x, centre y, radius
    flash: tuple[float, float, float]


def _island_layout(phone: _Phone) -> _Island:
    """Where the camera island and its lenses go; each brand has its own look."""
    x0, y0 = phone.body[0], phone.body[1]
    w = phone.width
    n = phone.model.lenses
    style = phone.model.brand.island
    if style == "ring":
        cx, cy, r = x0 + w / 2, y0 + w * 0.44, w * 0.3
        d = w * 0.125
        layouts: dict[int, list[tuple[float, float]]] = {
            2: [(0, -d), (0, d)],
            3: [(-d, -d * 0.9), (d, -d * 0.9), (0, d * 1.1)],
            4: [(-d, -d), (d, -d), (-d, d), (d, d)],
        }
        spots = layouts[n]
        flash = (cx + r * 0.8, cy, w * 0.032) if n == 4 else (cx + d * 1.4, cy + d, w * 0.03)
        return _Island(
            (cx - r, cy - r, cx + r, cy + r),
            r,
            tuple((cx + dx, cy + dy, w * 0.1) for dx, dy in spots),
            flash,
        )
    if style in ("bar", "pill"):
        bar = style == "bar"
        lens, step, width = (
            (w * 0.095, w * 0.23, w * 0.3) if bar else (w * 0.085, w * 0.2, w * 0.24)
        )
        left, top = x0 + w * (0.07 if bar else 0.08), y0 + w * (0.09 if bar else 0.08)
        box = (left, top, left + width, top + step * n + width / 2)
        cx = left + width / 2
        return _Island(
            box,
            width * 0.45,
            tuple((cx, top + width / 2 + step * i, lens) for i in range(n)),
            (cx, box[3] - width * 0.24, w * 0.027),
        )
    # square: a 2x2 grid, the flash in a free corner (or the middle with four lenses)
    side = w * 0.5
    left, top = x0 + w * 0.07, y0 + w * 0.07
    near, far = side * 0.28, side * 0.72
    grid = [
        (left + near, top + near),
        (left + far, top + near),
        (left + near, top + far),
        (left + far, top + far),
    ]
    chosen = {4: (0, 1, 2, 3), 3: (0, 2, 3), 2: (0, 3)}[n]
    fx, fy = grid[1] if n < 4 else (left + side / 2, top + side / 2)
    return _Island(
        (left, top, left + side, top + side),
        w * 0.13,
        tuple((*grid[i], w * 0.095) for i in chosen),
        (fx, fy, w * (0.03 if n < 4 else 0.022)),
    )


def _draw_island(canvas: Image.Image, phone: _Phone) -> None:
    island = _island_layout(phone)
    w = phone.width
    c = phone.colour.rgb
    left, top, right, bottom = island.box
    shape = Image.new("L", (math.ceil(right - left) + 1, math.ceil(bottom - top) + 1), 0)
    ImageDraw.Draw(shape).rounded_rectangle(
        (0, 0, right - left, bottom - top), round(island.corner), fill=255
    )
    _shadow(canvas, shape, (round(left), round(top + w * 0.012)), blur=w * 0.05, opacity=0.45)

    draw = ImageDraw.Draw(canvas, "RGBA")
    edge = _mix(c, (215, 217, 222), 0.6)
    if phone.model.brand.island == "ring":  # dark glass in a polished ring
        fill = _mix(c, (18, 18, 22), 0.6)
        draw.ellipse(island.box, fill=fill, outline=edge, width=round(w * 0.03))
        inset = w * 0.03
        draw.ellipse(
            (left + inset, top + inset, right - inset, bottom - inset),
            outline=(0, 0, 0, 110),
            width=2 * _SS,
        )
    else:  # a raised plate a shade off the body, light catching its top edge
        fill = _shade(c, 0.08) if phone.dark else _shade(c, -0.07)
        corner = round(island.corner)
        draw.rounded_rectangle(island.box, corner, fill=fill, outline=edge, width=2 * _SS)
        inset = 2 * _SS
        draw.rounded_rectangle(
            (left + inset, top + inset, right - inset, bottom - inset),
            corner - inset,
            outline=_lift(c, 0.3),
            width=_SS,
        )
    if phone.model.brand.island == "bar":  # Lingyun's accent stripe, a gaming cue
        ax = right + w * 0.05
        draw.rounded_rectangle(
            (ax, top + w * 0.04, ax + w * 0.012, bottom - w * 0.04),
            round(w * 0.006),
            fill=phone.model.brand.accent,
        )
    for cx, cy, r in island.lenses:
        _lens(draw, cx, cy, r)
    _flash(draw, *island.flash)


def _disc(cx: float, cy: float, r: float) -> tuple[float, ...]:
    return (cx - r, cy - r, cx + r, cy + r)


def _lens(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    draw.ellipse(
        _disc(cx, cy, r),
        fill=(58, 60, 66),
        outline=(176, 178, 186),
        width=max(2, round(r * 0.07)),
    )
    draw.ellipse(_disc(cx, cy, r * 0.86), fill=(20, 20, 24))
    draw.ellipse(_disc(cx, cy, r * 0.74), fill=(9, 11, 17))
    draw.ellipse(_disc(cx, cy, r * 0.58), outline=(46, 56, 92), width=max(1, round(r * 0.05)))
    draw.ellipse(_disc(cx, cy, r * 0.42), fill=(16, 22, 46))
    draw.ellipse(_disc(cx, cy, r * 0.2), fill=(4, 4, 8))
    # Reflections: an arc of window light and two small glints.
    draw.arc(
        _disc(cx, cy, r * 0.66),
        200,
        255,
        fill=(255, 255, 255, 70),
        width=max(1, round(r * 0.06)),
    )
    draw.ellipse(_disc(cx - r * 0.3, cy - r * 0.32, r * 0.11), fill=(255, 255, 255, 170))
    draw.ellipse(_disc(cx + r * 0.26, cy + r * 0.28, r * 0.06), fill=(150, 185, 255, 110))


def _flash(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    draw.ellipse(
        _disc(cx, cy, r),
        fill=(236, 232, 214),
        outline=(140, 140, 146),
        width=max(1, round(r * 0.12)),
    )
    draw.ellipse(_disc(cx, cy, r * 0.55), fill=(252, 248, 232))


def _draw_front(canvas: Image.Image, phone: _Phone, rng: random.Random) -> None:
    s = _SS
    x0, y0, x1, y1 = phone.body
    w, h = phone.width, phone.height
    rim = phone.rim
    frame = _gradient(
        _small((w, h)), _shade(rim, 0.35), _shade(rim, 0.1), _shade(rim, -0.05), _shade(rim, -0.3)
    )
    canvas.paste(
        frame.resize((w, h), Image.Resampling.BILINEAR),
        (x0, y0),
        _rounded_mask((w, h), phone.radius),
    )
    draw = ImageDraw.Draw(canvas, "RGBA")
    glass = (x0 + 3 * s, y0 + 3 * s, x1 - 3 * s, y1 - 3 * s)
    draw.rounded_rectangle(glass, round(phone.radius - 3 * s), fill=(6, 6, 8))
    bezel = 7 * s
    screen = (glass[0] + bezel, glass[1] + bezel, glass[2] - bezel, glass[3] - bezel)
    size = (screen[2] - screen[0] + 1, screen[3] - screen[1] + 1)
    canvas.paste(
        _wallpaper(size, phone, rng),
        (screen[0], screen[1]),
        _rounded_mask(size, phone.radius - 3 * s - bezel),
    )
    _draw_lock_screen(draw, screen, phone.fonts)

    # Punch-hole camera, centred in the status bar.
    cx, cy, r = (screen[0] + screen[2]) / 2, screen[1] + size[1] * 0.032, size[0] * 0.03
    draw.ellipse(_disc(cx, cy, r), fill=(3, 3, 5))
    draw.ellipse(_disc(cx, cy, r * 0.55), outline=(34, 40, 66), width=s)
    draw.ellipse(_disc(cx - r * 0.3, cy - r * 0.3, r * 0.18), fill=(255, 255, 255, 90))


def _wallpaper(size: tuple[int, int], phone: _Phone, rng: random.Random) -> Image.Image:
    """Soft colour fields and a few light ribbons, in the hue of the phone."""
    hue, saturation, _ = colorsys.rgb_to_hsv(*(v / 255 for v in phone.colour.rgb))
    if saturation < 0.2:  # black, silver, white, titanium: take the brand's hue
        hue = colorsys.rgb_to_hsv(*(v / 255 for v in phone.model.brand.accent))[0]
    hue += rng.uniform(-0.03, 0.03)
    w, h = size
    # Neighbouring hues only: wide jumps (orange to green, say) turn muddy.
    small = _gradient(
        _small(size),
        _hsv(hue - 0.04, 0.75, 0.42),
        _hsv(hue + 0.05, 0.7, 0.64),
        _hsv(hue - 0.1, 0.55, 0.86),
        _hsv(hue + 0.03, 0.8, 0.7),
    )
    sw, sh = small.size
    draw = ImageDraw.Draw(small, "RGBA")
    for _ in range(4):
        bx, by, br = rng.uniform(0, sw), rng.uniform(0.25 * sh, sh), rng.uniform(0.25, 0.5) * sw
        blob = _hsv(hue + rng.uniform(-0.1, 0.06), rng.uniform(0.45, 0.7), 1.0)
        draw.ellipse((bx - br, by - br, bx + br, by + br), fill=_rgba(blob, 120))
    small = small.filter(ImageFilter.GaussianBlur(sw / 7))
    # The glass reflects a little light, most at the top left.
    small.paste((255, 255, 255), (0, 0), _gradient(small.size, *_GREYS_REFLECTION).getchannel(0))
    picture = small.resize(size, Image.Resampling.BICUBIC)

    # Crisp light ribbons over the soft field, drawn as a mask so crossings don't double up.
    ribbons = Image.new("L", size, 0)
    draw_ribbons = ImageDraw.Draw(ribbons)
    phase = rng.uniform(0, math.tau)
    for k in range(5):
        base, amplitude = h * (0.56 + 0.05 * k), h * (0.05 + 0.012 * k)
        points = [
            (x, base + amplitude * math.sin(phase + x / w * math.tau * 0.9 + k * 0.35))
            for x in range(-10, w + 11, 4)
        ]
        draw_ribbons.line(points, fill=40 + 16 * k, width=max(2, w // 260), joint="curve")
    picture.paste((255, 255, 255), (0, 0), ribbons)
    return picture


# Reflection strength at the corners (top left, top right, bottom left, bottom right).
_GREYS_REFLECTION: Final[tuple[RGB, RGB, RGB, RGB]] = ((34, 0, 0), (10, 0, 0), (8, 0, 0), (0, 0, 0))


def _draw_lock_screen(
    draw: ImageDraw.ImageDraw, screen: tuple[int, int, int, int], fonts: _Fonts
) -> None:
    x0, y0, x1, y1 = screen
    w, h = x1 - x0, y1 - y0
    white = (255, 255, 255, 235)
    line = max(1, round(w * 0.004))
    # Status bar, right: signal bars and a battery.
    sy = y0 + h * 0.032
    bar = w * 0.009
    for i in range(4):
        left = x1 - w * 0.2 + i * bar * 1.8
        draw.rectangle((left, sy + w * (0.004 - 0.006 * i), left + bar, sy + w * 0.016), white)
    battery = (x1 - w * 0.115, sy - w * 0.012, x1 - w * 0.06, sy + w * 0.016)
    draw.rounded_rectangle(battery, round(w * 0.007), outline=white, width=line)
    fill_right = battery[0] + (battery[2] - battery[0]) * 0.8
    draw.rounded_rectangle(
        (battery[0] + w * 0.006, battery[1] + w * 0.006, fill_right, battery[3] - w * 0.006),
        round(w * 0.003),
        fill=white,
    )
    # Large clock and the date.
    centre = (x0 + x1) / 2
    draw.text((centre, y0 + h * 0.17), "10:08", font=fonts.get(w * 0.24), fill=white, anchor="mm")
    date = "6月18日 星期三" if fonts.cjk else "Wed 18 June"
    draw.text((centre, y0 + h * 0.245), date, font=fonts.get(w * 0.05), fill=white, anchor="mm")
    # Torch and camera shortcuts in the bottom corners, and the gesture bar.
    cy, r = y1 - h * 0.085, w * 0.075
    for cx in (x0 + w * 0.17, x1 - w * 0.17):
        draw.ellipse(_disc(cx, cy, r), fill=(255, 255, 255, 46))
    torch, g = x0 + w * 0.17, r * 0.36
    draw.polygon(
        [
            (torch - g * 0.7, cy - g),
            (torch + g * 0.7, cy - g),
            (torch + g * 0.35, cy - g * 0.3),
            (torch - g * 0.35, cy - g * 0.3),
        ],
        outline=white,
        width=line,
    )
    draw.rectangle(
        (torch - g * 0.35, cy - g * 0.3, torch + g * 0.35, cy + g), outline=white, width=line
    )
    camera = x1 - w * 0.17
    draw.rounded_rectangle(
        (camera - g, cy - g * 0.7, camera + g, cy + g * 0.75),
        round(g * 0.25),
        outline=white,
        width=line,
    )
    draw.ellipse(_disc(camera, cy, g * 0.4), outline=white, width=line)
    draw.rounded_rectangle(
        (x0 + w * 0.33, y1 - h * 0.018, x1 - w * 0.33, y1 - h * 0.018 + w * 0.012),
        round(w * 0.006),
        fill=white,
    )


# --- Pictures ------------------------------------------------------------------------------


@cache
def _backdrop() -> Image.Image:
    """The light neutral studio backdrop of every product picture (copy before drawing)."""
    return _gradient(
        PICTURE_SIZE, (249, 249, 251), (246, 246, 248), (234, 235, 239), (229, 230, 234)
    )


def _product_picture(phone: Image.Image) -> Image.Image:
    """The phone on a light neutral backdrop with a soft shadow, PICTURE_SIZE."""
    w, h = PICTURE_SIZE
    picture = _backdrop().copy()
    x, y = (w - phone.width) // 2, (h - phone.height) // 2 - 4
    _shadow(picture, phone.getchannel("A"), (x, y + 18), blur=30, opacity=0.28, colour=(40, 42, 50))
    picture.paste(phone, (x, y), phone)
    return picture


def _attract_picture(
    model: _Model, front: Image.Image, back: Image.Image, fonts: _Fonts
) -> Image.Image:
    """A calm 1920x1080 poster: the model's name and slogan, its back and front."""
    w, h = ATTRACT_SIZE
    accent = model.brand.accent
    small = _gradient(
        _small((w, h)),
        _mix(accent, (255, 255, 255), 0.93),
        _mix(accent, (255, 255, 255), 0.8),
        _mix(accent, (255, 255, 255), 0.86),
        _mix(accent, (255, 255, 255), 0.7),
    )
    glow = Image.new("L", small.size, 0)
    ImageDraw.Draw(glow).ellipse((1000 / 8, 60 / 8, 1820 / 8, 880 / 8), fill=255)
    small.paste(
        (255, 255, 255),
        (0, 0),
        glow.filter(ImageFilter.GaussianBlur(18)).point(lambda v: round(v * 0.7)),
    )
    picture = small.resize((w, h), Image.Resampling.BICUBIC)

    tilted = back.rotate(7, resample=Image.Resampling.BICUBIC, expand=True)
    for phone, (x, y) in ((tilted, (1010, 95)), (front, (1370, 150))):
        _shadow(
            picture,
            phone.getchannel("A"),
            (x + 10, y + 26),
            blur=36,
            opacity=0.3,
            colour=(30, 32, 40),
        )
        picture.paste(phone, (x, y), phone)

    draw = ImageDraw.Draw(picture, "RGBA")
    ink, muted, label = (28, 30, 36), (88, 92, 104), _shade(accent, -0.35)
    left = 150
    price = f"{model.price:,}"
    _spaced_text(
        draw, (left, 300), model.brand.en.upper(), fonts.get(30, bold=True), label, tracking=8
    )
    if fonts.cjk:
        name = f"{model.brand.zh} {model.name_zh}"
        draw.text((left, 350), name, font=fonts.get(92, bold=True), fill=ink)
        draw.text((left, 490), model.slogan[0], font=fonts.get(54), fill=ink)
        draw.text((left, 572), model.slogan[1], font=fonts.get(36), fill=muted)
        draw.text((left, 690), f"¥{price} 起", font=fonts.get(46, bold=True), fill=label)
    else:
        name = f"{model.brand.en} {model.name_en}"
        draw.text((left, 350), name, font=fonts.get(88), fill=ink)
        draw.text((left, 490), model.slogan[1], font=fonts.get(50), fill=ink)
        draw.text((left, 690), f"From ¥{price}", font=fonts.get(46), fill=label)
    return picture


# --- Command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kiosk-sample-bundle",
        description="Write a complete sample content bundle of fictional phones.",
    )
    parser.add_argument("out", type=Path, help="directory to create (must be empty)")
    parser.add_argument("--products", type=int, default=16, help="number of products (16)")
    parser.add_argument("--release", help="release version (sample-<products>-<seed>)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    args = parser.parse_args(argv)
    try:
        _check_arguments(args.products, args.release)
    except ValueError as exc:
        parser.error(str(exc))
    started = time.perf_counter()
    try:
        manifest = write_sample_bundle(
            args.out, products=args.products, release=args.release, seed=args.seed
        )
    except FileExistsError as exc:
        parser.error(str(exc))
    took = time.perf_counter() - started
    size = sum(asset.size for asset in manifest.assets)
    print(
        f"Wrote sample bundle {manifest.release} to {args.out}: {args.products} products, "
        f"{len(manifest.assets)} files, {size / 1e6:.1f} MB in {took:.1f} s"
    )
    if not _Fonts.find().cjk:
        print(
            "Note: no Chinese font found, pictures carry English text only"
            " (install fonts-noto-cjk; ./run does).",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
