"""Words on the shopper's screens, in Simplified Chinese first and English.

Product names and captions come from the content bundle in both languages;
this table holds only the screens' own words. A missing key is a bug caught by
the tests (every key has both languages), never a blank on screen.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from content.model import Language, Money

_ZH, _EN = Language.ZH_CN, Language.EN

STRINGS: Final[dict[str, dict[Language, str]]] = {
    "attract.invite": {_ZH: "拿起任意一部手机，了解详情", _EN: "Pick up any phone to explore it"},
    "attract.invite_other": {
        _ZH: "Pick up any phone to explore it",
        _EN: "拿起任意一部手机，了解详情",
    },
    "language.switch": {_ZH: "English", _EN: "中文"},
    "product.related": {_ZH: "相关机型", _EN: "Related models"},
    "product.best_sellers": {_ZH: "本店热销", _EN: "Best sellers"},
    "product.in_stock": {_ZH: "有现货", _EN: "In stock"},
    "product.out_of_stock": {_ZH: "暂时缺货，可预订", _EN: "Out of stock, ask to order"},
    "product.compare_hint": {
        _ZH: "再拿起一部，即可对比",
        _EN: "Pick up a second phone to compare",
    },
    "locate.on_slot": {
        _ZH: "这款手机在展柜 {slot} 号位，指示灯已为您亮起",
        _EN: "You will find it on slot {slot} of this cabinet: its light is on",
    },
    "locate.ask_staff": {
        _ZH: "这款手机不在本展柜，店员可以为您取来体验",
        _EN: "This phone is not in this cabinet: a member of staff can bring it",
    },
    "locate.in_hand": {_ZH: "您手中拿着的就是这款", _EN: "It is the phone in your hand"},
    "welcome": {_ZH: "欢迎回来", _EN: "Welcome back"},
    "welcome.named": {_ZH: "欢迎回来，{name}", _EN: "Welcome back, {name}"},
    "welcome.subtitle": {
        _ZH: "您上次看过的机型都在这里，轻点任意一款了解详情",
        _EN: "Here is what you looked at last time: tap any phone to see it again",
    },
    "welcome.subtitle_new": {
        _ZH: "拿起任意一部手机，或轻点下方机型了解详情",
        _EN: "Pick up any phone, or tap one below to explore it",
    },
    "welcome.member": {_ZH: "会员", _EN: "Member"},
    "welcome.last_viewed": {_ZH: "您上次看过", _EN: "You looked at"},
    "welcome.picks": {_ZH: "为您推荐", _EN: "Picked for you"},
    "compare.title": {_ZH: "对比", _EN: "Compare"},
    "compare.differs": {_ZH: "不同之处已高亮", _EN: "Differences are highlighted"},
    "compare.price": {_ZH: "价格", _EN: "Price"},
    "unavailable.title": {_ZH: "欢迎光临", _EN: "Welcome"},
    "unavailable.body": {
        _ZH: "展示内容正在更新，请稍候或咨询店员",
        _EN: "Our displays are being updated: please ask a member of staff",
    },
    "spec.display": {_ZH: "屏幕", _EN: "Display"},
    "spec.refresh": {_ZH: "刷新率", _EN: "Refresh rate"},
    "spec.chipset": {_ZH: "处理器", _EN: "Chipset"},
    "spec.memory": {_ZH: "运行内存", _EN: "Memory"},
    "spec.storage": {_ZH: "存储容量", _EN: "Storage"},
    "spec.camera": {_ZH: "主摄像头", _EN: "Main camera"},
    "spec.battery": {_ZH: "电池", _EN: "Battery"},
    "spec.charging": {_ZH: "快充", _EN: "Charging"},
    "spec.weight": {_ZH: "重量", _EN: "Weight"},
    "spec.network": {_ZH: "网络", _EN: "Network"},
    "spec.os": {_ZH: "系统", _EN: "OS"},
}


def tr(language: Language, key: str, **values: object) -> str:
    text = STRINGS[key][language]
    return text.format(**values) if values else text


_CURRENCY_SIGNS: Final = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}


def format_price(price: Money) -> str:
    """¥5,999 for whole amounts, ¥5,999.50 otherwise; unknown currencies by code."""
    sign = _CURRENCY_SIGNS.get(price.currency, price.currency + " ")
    amount = price.amount
    if amount == amount.to_integral_value():
        return f"{sign}{int(amount):,}"
    return f"{sign}{amount.quantize(Decimal('0.01')):,}"
