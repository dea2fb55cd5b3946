"""What the attendant's screens say (no Qt).

zh-CN first, English on request. The feed's and alerts' words live in kiosk/i18n.py
with the kiosk's; the app's own screens (sign-in, till, planogram, staff) in WORDS
here, read with `say`, which falls back to kiosk/i18n.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from backend_client.channel.commands import LabelKind, prize_label_id
from content.model import Language
from kiosk.attendant.model import Alert, AlertKind, FeedEntry, KioskHealth
from kiosk.i18n import STRINGS, tr

_ZH, _EN = Language.ZH_CN, Language.EN

WORDS: Final[dict[str, dict[Language, str]]] = {
    "app.name": {_ZH: "门店助手", _EN: "Store assistant"},
    "role.attendant": {_ZH: "店员", _EN: "Attendant"},
    "role.manager": {_ZH: "店长", _EN: "Store manager"},
    # -- sign-in
    "signin.choose": {
        _ZH: "请选择您的名字，然后输入个人密码",
        _EN: "Tap your name, then type your PIN",
    },
    "signin.enter_pin": {_ZH: "请输入密码", _EN: "Type your PIN"},
    "signin.pin_for": {_ZH: "{name}，请输入密码", _EN: "{name}, type your PIN"},
    "signin.enter": {_ZH: "登录", _EN: "Sign in"},
    "signin.choose_first": {_ZH: "请先选择您的名字", _EN: "Tap your name first"},
    "signin.wrong": {_ZH: "密码不正确，请重试", _EN: "Wrong PIN, try again"},
    "signin.locked": {
        _ZH: "密码错误次数过多，请 {seconds} 秒后再试",
        _EN: "Too many wrong PINs: try again in {seconds} s",
    },
    "signin.try_again": {_ZH: "现在可以再试一次", _EN: "You can try again now"},
    "signin.first_run": {
        _ZH: "首次使用：请设置店长的名字和个人密码（4 到 8 位数字）",
        _EN: "First use: set up the store manager's name and PIN (4 to 8 digits)",
    },
    "signin.manager_name": {_ZH: "店长姓名", _EN: "Store manager's name"},
    "signin.name_placeholder": {_ZH: "例如：李店长", _EN: "e.g. Li Wei"},
    "signin.new_pin": {_ZH: "设置密码", _EN: "Choose a PIN"},
    "signin.pin_again": {_ZH: "再次输入密码", _EN: "Type the PIN again"},
    "signin.set_up": {_ZH: "确定", _EN: "Continue"},
    "signin.need_name": {_ZH: "请先填写店长姓名", _EN: "Type the manager's name first"},
    "signin.pin_rule": {_ZH: "密码为 4 到 8 位数字", _EN: "A PIN is 4 to 8 digits"},
    "signin.pins_differ": {
        _ZH: "两次输入的密码不一致，请重新设置",
        _EN: "The two PINs differ: choose one again",
    },
    "signin.idle_locked": {
        _ZH: "两分钟无操作，已自动锁定",
        _EN: "Locked after two minutes without a touch",
    },
    # -- the feed
    "attendant.kind.planogram": {_ZH: "陈列调整", _EN: "Planogram changed"},
    "feed.on_slot": {_ZH: "{slot} 号位 {name}", _EN: "slot {slot}: {name}"},
    "kiosk.number": {_ZH: "{number} 号终端", _EN: "Kiosk {number}"},
    "feed.list": {_ZH: "、", _EN: ", "},
    "feed.versus": {_ZH: " 对比 ", _EN: " vs "},
    "feed.dwell": {_ZH: "看了 {seconds} 秒", _EN: "held {seconds} s"},
    "feed.score": {_ZH: "{score} 分", _EN: "score {score}"},
    "reason.CABLE": {_ZH: "防盗线被剪断", _EN: "security cable cut"},
    "reason.PUCK": {_ZH: "防盗底座被移开", _EN: "security puck removed"},
    "reason.OTHER": {_ZH: "其他原因", _EN: "other cause"},
    "reason.pickup": {_ZH: "取货板", _EN: "pickup board"},
    "reason.rfid": {_ZH: "读卡器", _EN: "reader"},
    "reason.ble": {_ZH: "蓝牙", _EN: "BLE"},
    "status.up": {_ZH: "正常", _EN: "up"},
    "status.down": {_ZH: "断开", _EN: "down"},
    "status.reconnecting": {_ZH: "重连中", _EN: "reconnecting"},
    # -- the bar and its pages
    "nav.feed": {_ZH: "实时动态", _EN: "Feed"},
    "nav.alerts": {_ZH: "提醒", _EN: "Alerts"},
    "nav.alerts_open": {_ZH: "提醒 {count}", _EN: "Alerts {count}"},
    "nav.health": {_ZH: "终端状态", _EN: "Health"},
    "nav.till": {_ZH: "核销", _EN: "Till"},
    "nav.planogram": {_ZH: "陈列", _EN: "Planogram"},
    "nav.staff": {_ZH: "员工", _EN: "Staff"},
    "nav.thresholds": {_ZH: "提醒设置", _EN: "Thresholds"},
    "bar.sign_out": {_ZH: "退出", _EN: "Sign out"},
    "bar.language": {_ZH: "EN", _EN: "中文"},
    "bar.store": {_ZH: "门店 {store}", _EN: "Store {store}"},
    "banner.open": {
        _ZH: "{count} 条提醒待处理：{first}",
        _EN: "{count} open alert(s): {first}",
    },
    "banner.show": {_ZH: "去处理", _EN: "Open"},
    "not_enrolled": {
        _ZH: "本设备尚未登记到总部，只能查看本地数据。请运行 kiosk-attendant enroll。",
        _EN: "This device is not enrolled with HQ: run kiosk-attendant enroll.",
    },
    # -- alerts page
    "alerts.open": {_ZH: "待处理", _EN: "Open"},
    "alerts.done": {_ZH: "已处理", _EN: "Acknowledged"},
    "alerts.none_done": {_ZH: "还没有已处理的提醒", _EN: "Nothing acknowledged yet"},
    "alerts.acked": {
        _ZH: "{who} 已确认，用时 {seconds} 秒",
        _EN: "acknowledged by {who} after {seconds} s",
    },
    "alerts.waiting": {_ZH: "已等待 {seconds} 秒", _EN: "waiting {seconds} s"},
    # -- health page
    "health.kiosk": {_ZH: "终端", _EN: "Kiosk"},
    "health.link": {_ZH: "连接", _EN: "Link"},
    "health.devices": {_ZH: "设备", _EN: "Devices"},
    "health.sync": {_ZH: "同步积压 / 失败", _EN: "Backlog / dead"},
    "health.release": {_ZH: "内容版本", _EN: "Content"},
    "health.contact": {_ZH: "最后联系", _EN: "Last contact"},
    "health.update": {_ZH: "内容更新", _EN: "Update"},
    "update.downloading": {_ZH: "下载版本 {number}：%p%", _EN: "Downloading {number}: %p%"},
    "update.ready": {_ZH: "版本 {number} 已就绪", _EN: "Release {number} ready"},
    "update.failed": {_ZH: "更新失败：{reason}", _EN: "Update failed: {reason}"},
    "health.none": {
        _ZH: "还没有发现本店的终端",
        _EN: "No kiosk of this store found yet",
    },
    "link.connecting": {_ZH: "连接中", _EN: "connecting"},
    "link.live": {_ZH: "在线", _EN: "live"},
    "link.down": {_ZH: "重连中", _EN: "reconnecting"},
    "link.refused": {_ZH: "密钥不符", _EN: "key refused"},
    "link.faulty": {_ZH: "数据异常", _EN: "faulty"},
    "device.pickup": {_ZH: "取货板", _EN: "pickup board"},
    "device.rfid": {_ZH: "读卡器", _EN: "reader"},
    "device.ble": {_ZH: "蓝牙", _EN: "BLE"},
    "device.printer": {_ZH: "打印机", _EN: "printer"},
    "device_detail": {_ZH: "：{detail}", _EN: ": {detail}"},
    # Why a device is down, as its driver says (devices/printer.py: the receipt printer).
    "device_detail.paper_out": {_ZH: "缺纸", _EN: "paper out"},
    "device_detail.cover_open": {_ZH: "纸仓盖未关", _EN: "cover open"},
    "device_detail.unplugged": {_ZH: "未连接", _EN: "unplugged"},
    "device_detail.not_answering": {_ZH: "无响应", _EN: "not answering"},
    "device_detail.offline": {_ZH: "脱机", _EN: "offline"},
    "seconds_ago": {_ZH: "{seconds} 秒前", _EN: "{seconds} s ago"},
    "minutes_ago": {_ZH: "{minutes} 分钟前", _EN: "{minutes} min ago"},
    # -- till
    "till.title": {_ZH: "优惠券核销", _EN: "Coupon redemption"},
    "till.hint": {
        _ZH: "用扫码枪扫描顾客的二维码，或输入券码后按回车",
        _EN: "Scan the shopper's QR code, or type the code and press Enter",
    },
    "till.placeholder": {
        _ZH: "XXXX-XXXX-XXXX-XXXX-XXXX-XXXX",
        _EN: "XXXX-XXXX-XXXX-XXXX-XXXX-XXXX",
    },
    "till.redeem": {_ZH: "核销", _EN: "Redeem"},
    "till.idle": {_ZH: "等待扫码", _EN: "Waiting for a code"},
    "till.idle_body": {
        _ZH: "扫码后结果会显示在这里",
        _EN: "The result shows here after a scan",
    },
    "till.checking": {_ZH: "正在核验…", _EN: "Checking…"},
    "till.redeemed": {_ZH: "核销成功", _EN: "Redeemed"},
    "till.redeemed_body": {
        _ZH: "券码 {code}，活动 {campaign}，有效期至 {expires}",
        _EN: "Code {code}, campaign {campaign}, valid until {expires}",
    },
    "till.offline": {
        _ZH: "未连上本店终端：已在本机核销，联网后同步",
        _EN: "No kiosk reachable: redeemed on this device, synced later",
    },
    "till.offline_short": {_ZH: "未连终端", _EN: "no kiosk reachable"},
    "till.already": {_ZH: "此券已使用", _EN: "Already used"},
    "till.already_body": {
        _ZH: "{when} 由 {by} 在 {where} 核销",
        _EN: "redeemed {when} by {by} at {where}",
    },
    "till.here": {_ZH: "本机", _EN: "this device"},
    "till.forged": {_ZH: "无效券码", _EN: "Not a valid code"},
    "till.forged_body": {
        _ZH: "券码有误或非本店发放，请核对后重新输入",
        _EN: "Mistyped or not issued by us: check it and type it again",
    },
    "till.expired": {_ZH: "已过期", _EN: "Expired"},
    "till.expired_body": {_ZH: "此券已于 {date} 到期", _EN: "This coupon expired on {date}"},
    "till.malformed": {_ZH: "不是券码", _EN: "Not a coupon code"},
    "till.malformed_body": {
        _ZH: "券码为 24 位字母和数字，请完整输入",
        _EN: "A code has 24 letters and digits: type it in full",
    },
    "till.unknown_kiosk": {_ZH: "无法核验", _EN: "Cannot be checked"},
    "till.unknown_kiosk_body": {
        _ZH: "此券不是本店终端发放的，请联系总部",
        _EN: "Not issued by a kiosk of this store: ask head office",
    },
    "till.no_key": {_ZH: "无法核验", _EN: "Cannot check"},
    "till.no_key_body": {
        _ZH: "本设备没有本店的优惠券密钥，请重新登记",
        _EN: "This device has no coupon key for the store: enrol it again",
    },
    "till.recent": {_ZH: "本班核销记录", _EN: "Redeemed this shift"},
    # -- planogram
    "planogram.title": {_ZH: "陈列管理", _EN: "Planogram"},
    "planogram.hint": {
        _ZH: "点选展位，再选择要摆放的机型；顾客拿起后即显示新机型",
        _EN: "Tap a slot, then the phone that now sits there; a lift shows it at once",
    },
    "planogram.slot": {_ZH: "{slot} 号位", _EN: "Slot {slot}"},
    "planogram.empty": {_ZH: "（空）", _EN: "(empty)"},
    "planogram.edited": {_ZH: "{who} · {when} 修改", _EN: "changed by {who} · {when}"},
    "planogram.bundle": {_ZH: "按内容包陈列", _EN: "as in the bundle"},
    "planogram.choose": {_ZH: "{slot} 号位改放", _EN: "Put on slot {slot}"},
    "planogram.apply": {_ZH: "确认更换", _EN: "Change"},
    "planogram.loading": {_ZH: "正在读取终端的商品目录…", _EN: "Reading the kiosk's catalog…"},
    "planogram.unreachable": {
        _ZH: "连不上该终端，请稍后再试",
        _EN: "The kiosk cannot be reached: try again later",
    },
    "planogram.no_content": {
        _ZH: "该终端还没有内容包",
        _EN: "The kiosk has no content yet",
    },
    "planogram.done": {_ZH: "{slot} 号位已改为 {name}", _EN: "Slot {slot} now holds {name}"},
    "planogram.refused": {_ZH: "终端拒绝了修改：{reason}", _EN: "The kiosk refused: {reason}"},
    "planogram.no_kiosk": {_ZH: "没有在线的终端", _EN: "No kiosk online"},
    "planogram.release": {_ZH: "内容版本 {release}", _EN: "Content {release}"},
    # -- staff
    "staff.title": {_ZH: "员工与密码", _EN: "Staff and PINs"},
    "staff.add": {_ZH: "添加员工", _EN: "Add a member of staff"},
    "staff.name": {_ZH: "姓名", _EN: "Name"},
    "staff.pin": {_ZH: "个人密码（4-8 位数字）", _EN: "PIN (4-8 digits)"},
    "staff.pin_again": {_ZH: "再次输入密码", _EN: "PIN again"},
    "staff.save": {_ZH: "添加", _EN: "Add"},
    "staff.remove": {_ZH: "移除", _EN: "Remove"},
    "staff.added": {_ZH: "已添加 {name}", _EN: "{name} added"},
    "staff.removed": {_ZH: "已移除 {name}", _EN: "{name} removed"},
    "staff.name_taken": {_ZH: "已有同名员工", _EN: "Someone has that name already"},
    "staff.last_manager": {
        _ZH: "不能移除最后一位店长",
        _EN: "The last store manager cannot be removed",
    },
    "staff.unknown": {_ZH: "找不到该员工", _EN: "No such member of staff"},
    "staff.pins_differ": {_ZH: "两次密码不一致", _EN: "The PINs differ"},
    "staff.need_name": {_ZH: "请填写姓名", _EN: "Type a name"},
    "staff.local": {_ZH: "本机添加", _EN: "added here"},
    "staff.log": {_ZH: "操作记录", _EN: "Action log"},
    # -- the action log's words
    "action.sign_in": {_ZH: "登录", _EN: "signed in"},
    "action.sign_out": {_ZH: "退出", _EN: "signed out"},
    "action.view_feed": {_ZH: "查看动态", _EN: "viewed the feed"},
    "action.acknowledge": {_ZH: "确认提醒", _EN: "acknowledged"},
    "action.redeem": {_ZH: "核销优惠券", _EN: "redeemed"},
    "action.edit_planogram": {_ZH: "修改陈列", _EN: "changed the planogram"},
    "action.manage_staff": {_ZH: "管理员工", _EN: "changed staff"},
    "action.set_thresholds": {_ZH: "修改提醒设置", _EN: "set thresholds"},
    # -- thresholds
    "thresholds.title": {_ZH: "提醒设置", _EN: "Alert thresholds"},
    "thresholds.low_score": {
        _ZH: "评分不高于此分即提醒（1-5 分）",
        _EN: "Alert on a survey score at or below (1-5)",
    },
    "thresholds.silence": {
        _ZH: "终端无响应超过（秒）即提醒",
        _EN: "Alert when a kiosk is silent for more than (s)",
    },
    "thresholds.device": {
        _ZH: "设备断开超过（秒）即提醒",
        _EN: "Alert when a device is down for more than (s)",
    },
    "thresholds.save": {_ZH: "保存", _EN: "Save"},
    "thresholds.saved": {_ZH: "已保存", _EN: "Saved"},
}


def say(language: Language, key: str, **values: object) -> str:
    """The app's words, then the kiosk's (kiosk/i18n.py)."""
    entry = WORDS.get(key) or STRINGS[key]
    text = entry[language]
    return text.format(**values) if values else text


ProductName = Callable[[str, str], str | None]  # kiosk, sku -> the product's name, if known
StaffName = Callable[[str], str]  # staff id -> their name, or the id
LabelName = Callable[[str, LabelKind, str], str | None]  # kiosk, kind, id -> its name, if known


def no_product(_kiosk: str, _sku: str) -> str | None:
    return None


def no_label(_kiosk: str, _kind: LabelKind, _id: str) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Names:
    """How the screens name things kiosks send as ids: products, staff, kiosks, and
    surveys, campaigns, draws and prizes (commands.CatalogLabel)."""

    product: ProductName = no_product
    staff: StaffName = str
    kiosk: Callable[[str], str] = str
    label: LabelName = no_label


PLAIN: Final = Names()


def kiosk_label(kiosk: str, store: str, language: Language) -> str:
    """ "sh-nanjing-road-k3" in store "sh-nanjing-road" is 3 号终端; other ids as they are."""
    short = kiosk.removeprefix(f"{store}-") if store else kiosk
    number = short.removeprefix("k")
    if short.startswith("k") and number.isdigit():
        return say(language, "kiosk.number", number=int(number))
    return short


def feed_line(entry: FeedEntry, language: Language, names: Names = PLAIN) -> str:
    """One line of the feed: local time, kiosk, what happened, its details, with product,
    survey, campaign, draw and prize names instead of ids where the kiosk's catalog is
    known."""
    product, staff = names.product, names.staff
    parts = [entry.at.astimezone().strftime("%H:%M:%S"), names.kiosk(entry.kiosk)]

    def name(sku: str) -> str:
        return product(entry.kiosk, sku) or sku

    if entry.kind == "member_arrived":
        who = entry.greeting or say(language, "attendant.member")
        parts.append(say(language, "attendant.kind.member_arrived", who=who))
        if entry.last_viewed:
            viewed = say(language, "feed.list").join(name(sku) for sku in entry.last_viewed)
            parts.append(say(language, "attendant.last_viewed", skus=viewed))
        return " · ".join(parts)
    parts.append(say(language, f"attendant.kind.{entry.kind}"))
    details = dict(entry.details)
    if entry.kind == "planogram":
        parts.append(say(language, "planogram.slot", slot=details.get("slot", "?")))
        parts.append(f"{name(details.get('before', ''))} → {name(details.get('after', ''))}")
        parts.append(staff(details.get("by", "")))
        return " · ".join(parts)

    def labelled(kind: LabelKind, id_: str) -> str | None:
        return names.label(entry.kiosk, kind, id_)

    context = _Context(details, language, name, staff, labelled)
    for key, value in entry.details:
        if not value or (key == "slot" and "sku" in details):
            continue
        shown = _detail(key, value, context)
        if shown:
            parts.append(shown)
    return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class _Context:
    details: dict[str, str]
    language: Language
    name: Callable[[str], str]
    staff: StaffName
    label: Callable[[LabelKind, str], str | None]


def _on_slot(sku: str, c: _Context) -> str:
    slot = c.details.get("slot")
    return say(c.language, "feed.on_slot", slot=slot, name=c.name(sku)) if slot else c.name(sku)


def _device(device: str, c: _Context) -> str:
    key = f"device.{device}"
    return say(c.language, key) if key in WORDS else device


def _prize(prize: str, c: _Context) -> str:
    return c.label("prize", prize_label_id(c.details.get("draw", ""), prize)) or prize


def _dwell(ms: str, c: _Context) -> str:
    return say(c.language, "feed.dwell", seconds=round(int(ms) / 1000)) if ms.isdigit() else ms


_DETAILS: Final[dict[str, Callable[[str, _Context], str]]] = {
    "sku": _on_slot,
    "skus": lambda v, c: say(c.language, "feed.versus").join(c.name(s) for s in v.split(" / ")),
    "by": lambda v, c: c.staff(v),
    "question": lambda _v, _c: "",  # the survey and its score say enough on a feed line
    "slot": lambda v, c: say(c.language, "planogram.slot", slot=v),
    "dwell_ms": _dwell,
    "score": lambda v, c: say(c.language, "feed.score", score=v),
    "survey": lambda v, c: c.label("survey", v) or v,
    "campaign": lambda v, c: c.label("campaign", v) or v,
    "draw": lambda v, c: c.label("draw", v) or v,
    "prize": _prize,
    "device": _device,
    "status": lambda v, c: _known(f"status.{v}", v, c.language),
    "reason": lambda v, c: _known(f"reason.{v}", v, c.language),
}


def _detail(key: str, value: str, context: _Context) -> str:
    shown = _DETAILS.get(key)
    return value if shown is None else shown(value, context)


def alert_line(alert: Alert, language: Language, names: Names = PLAIN) -> str:
    """Where and what: a low score names its survey once the kiosk's catalog is known."""
    parts = [names.kiosk(alert.kiosk), tr(language, f"attendant.alert.{alert.kind}")]
    if alert.kind == AlertKind.LOW_SCORE and alert.detail:
        parts.append(names.label(alert.kiosk, "survey", alert.detail) or alert.detail)
    elif alert.detail:
        parts.append(_known(f"reason.{alert.detail}", alert.detail, language))
    return " · ".join(parts)


def device_detail(status: str, detail: str, language: Language) -> str:
    """Why a device is not up, in our words (": paper out"), where the driver says a
    reason we know; "" when it is up or the reason is not ours to word."""
    key = f"device_detail.{detail}"
    if status == "up" or key not in WORDS:
        return ""
    return say(language, "device_detail", detail=say(language, key))


def _known(key: str, fallback: str, language: Language) -> str:
    """Our word for a kiosk's token (an alarm reason, a device), or the token itself."""
    return say(language, key) if key in WORDS else fallback


def health_line(kiosk: str, health: KioskHealth, now: float, language: Language) -> str:
    """A kiosk's health at a glance: faulty first, since that is what staff act on."""
    parts = [kiosk]
    if health.faulty(now):
        parts.append(tr(language, "attendant.health.faulty", reason=health.fault_reason))
    if health.last_contact is None:
        parts.append(tr(language, "attendant.health.never"))
    else:
        seconds = max(0, round(now - health.last_contact))
        parts.append(tr(language, "attendant.health.last_contact", seconds=seconds))
    parts.extend(
        tr(
            language,
            f"attendant.device.{device.status}",
            device=_known(f"device.{name}", name, language),
        )
        + device_detail(device.status, device.detail, language)
        for name, device in sorted(health.devices.items())
    )
    if health.backlog is not None:
        parts.append(
            tr(
                language,
                "attendant.health.backlog",
                backlog=health.backlog,
                dead_letters=health.dead_letters,
            )
        )
    if health.release is not None:
        parts.append(tr(language, "attendant.health.release", release=health.release))
    return " · ".join(parts)
