"""Words on the shopper's screens, in Simplified Chinese first and English.

Product names and captions come from the content bundle in both languages;
this table holds only the screens' own words. A missing key is a bug caught by
the tests (every key has both languages), never a blank on screen.
"""

from __future__ import annotations

import re
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
    "welcome.joined": {_ZH: "欢迎您", _EN: "Welcome"},
    "welcome.joined.named": {_ZH: "欢迎您，{name}", _EN: "Welcome, {name}"},
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
    "welcome.last_viewed_when": {_ZH: "您上次看过 · {when}", _EN: "You looked at · {when}"},
    "welcome.picks": {_ZH: "为您推荐", _EN: "Picked for you"},
    "welcome.picks_new": {_ZH: "本店热销", _EN: "Best sellers here"},
    "welcome.leaving": {
        _ZH: "{seconds} 秒后返回首页，轻点屏幕即可继续浏览",
        _EN: "Back to the start in {seconds} s: tap anywhere to stay",
    },
    "ago.today": {_ZH: "今天早些时候", _EN: "earlier today"},
    "ago.yesterday": {_ZH: "昨天", _EN: "yesterday"},
    "ago.days": {_ZH: "{days} 天前", _EN: "{days} days ago"},
    "offer.draw.body": {
        _ZH: "今天就来试试手气，最高可得{prize}",
        _EN: "Try your luck today: up to {prize}",
    },
    "offer.draw.button": {_ZH: "去抽奖", _EN: "Draw now"},
    "offer.feedback.title": {_ZH: "评价有礼", _EN: "A gift for your opinion"},
    "offer.feedback.body": {
        _ZH: "回答一分钟问卷，即可领取{reward}",
        _EN: "Answer a one-minute survey for {reward}",
    },
    "offer.feedback.button": {_ZH: "去评价", _EN: "Give feedback"},
    "fob.title": {_ZH: "未能识别此钥匙扣", _EN: "This fob is not recognised"},
    "fob.body": {
        _ZH: "请联系店员为您绑定钥匙扣，或现在注册会员。",
        _EN: "Ask a member of staff to link your fob, or sign up now.",
    },
    "fob.body_staff": {
        _ZH: "请联系店员为您绑定钥匙扣。",
        _EN: "Ask a member of staff to link your fob.",
    },
    "compare.title": {_ZH: "对比", _EN: "Compare"},
    "compare.differs": {_ZH: "不同之处已高亮", _EN: "Differences are highlighted"},
    "compare.price": {_ZH: "价格", _EN: "Price"},
    "unavailable.title": {_ZH: "欢迎光临", _EN: "Welcome"},
    "unavailable.body": {
        _ZH: "展示内容正在更新，请稍候或咨询店员",
        _EN: "Our displays are being updated: please ask a member of staff",
    },
    "unavailable.downloading": {
        _ZH: "新的展示内容正在下载 {percent}%",
        _EN: "New displays on their way: {percent}%",
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
    # -- actions offered on every browsing screen
    "action.join": {_ZH: "注册会员", _EN: "Join"},
    "action.feedback": {_ZH: "评价有礼", _EN: "Feedback"},
    "action.draw": {_ZH: "会员抽奖", _EN: "Prize draw"},
    "action.done": {_ZH: "完成", _EN: "Done"},
    "action.cancel": {_ZH: "取消", _EN: "Cancel"},
    "action.close": {_ZH: "关闭", _EN: "Close"},
    "action.next": {_ZH: "下一题", _EN: "Next"},
    "action.skip": {_ZH: "跳过", _EN: "Skip"},
    "action.submit": {_ZH: "提交", _EN: "Submit"},
    # -- sign-up
    "signup.title": {_ZH: "注册会员", _EN: "Become a member"},
    "signup.age.question": {
        _ZH: "开始之前：您是否已年满 14 周岁？",
        _EN: "Before we start: are you 14 or older?",
    },
    "signup.age.yes": {_ZH: "已满 14 周岁", _EN: "I am 14 or older"},
    "signup.age.no": {_ZH: "未满 14 周岁", _EN: "I am under 14"},
    "signup.under_age.title": {_ZH: "请联系店员", _EN: "Please ask a member of staff"},
    "signup.under_age.body": {
        _ZH: "未满 14 周岁注册会员需要父母或监护人同意，店员可以协助您办理。",
        _EN: "Under 14, a parent or guardian has to agree to your membership."
        " Our staff will gladly help you sign up together.",
    },
    "signup.phone": {_ZH: "手机号码", _EN: "Mobile number"},
    "signup.phone_hint": {_ZH: "11 位手机号码", _EN: "11-digit mobile number"},
    "signup.name": {_ZH: "怎么称呼您", _EN: "What shall we call you"},
    "signup.name_hint": {_ZH: "例如：王女士", _EN: "e.g. Ms Wang"},
    "signup.email": {_ZH: "电子邮箱（选填）", _EN: "Email (optional)"},
    "signup.greet": {
        _ZH: "认出我时，在屏幕上用这个称呼问候我",
        _EN: "Greet me by this name when a screen recognises me",
    },
    "signup.consents": {
        _ZH: "请逐项选择（仅“成为会员”为必选）",
        _EN: "Choose each one (only membership is required)",
    },
    "signup.notice_version": {_ZH: "告知书版本 {version}", _EN: "Notice version {version}"},
    "signup.phone_continue": {_ZH: "用手机继续", _EN: "Continue on your phone"},
    "signup.phone_continue_hint": {
        _ZH: "用手机扫码，在自己的手机上填写（10 分钟内有效，仅限一次）",
        _EN: "Scan to fill it in on your own phone (valid 10 minutes, once)",
    },
    "signup.error.phone_missing": {_ZH: "请输入手机号码", _EN: "Please enter your mobile number"},
    "signup.error.phone_invalid": {
        _ZH: "这不是有效的手机号码，请检查位数",
        _EN: "This is not a valid mobile number: please check the digits",
    },
    "signup.error.phone_not_mobile": {
        _ZH: "请填写手机号码（不支持固定电话）",
        _EN: "Please give a mobile number, not a landline",
    },
    "signup.error.name_missing": {_ZH: "请告诉我们怎么称呼您", _EN: "Please tell us your name"},
    "signup.error.name_too_long": {_ZH: "称呼最多 40 个字", _EN: "At most 40 characters, please"},
    "signup.error.email_invalid": {
        _ZH: "邮箱格式不正确，可以留空",
        _EN: "This email address looks wrong (you may leave it empty)",
    },
    "signup.error.membership_required": {
        _ZH: "注册需要勾选“成为会员”",
        _EN: "To sign up, tick membership",
    },
    "signup.done.title": {_ZH: "欢迎成为会员！", _EN: "Welcome, you are a member!"},
    "signup.done.title_named": {
        _ZH: "{name}，欢迎成为会员！",
        _EN: "Welcome, {name}: you are a member!",
    },
    "signup.done.benefits": {_ZH: "会员可享", _EN: "As a member you get"},
    "signup.coupon": {_ZH: "送您一张入会礼券", _EN: "A welcome coupon for you"},
    "signup.benefit.draw": {
        _ZH: "会员抽奖：{title}，每天都可以参加",
        _EN: "The member draw, every day: {title}",
    },
    "signup.benefit.coupons": {
        _ZH: "会员优惠券，凭手机号码在门店使用",
        _EN: "Member coupons, used in store with your mobile number",
    },
    "signup.benefit.recognition": {
        _ZH: "下次来店轻触钥匙扣，即可看到上次看过的手机和为您挑选的推荐",
        _EN: "Next visit, tap your fob to see the phones you looked at and picks for you",
    },
    "signup.benefit.picks": {
        _ZH: "在任何一台展示机前，都能看到为您挑选的推荐",
        _EN: "Picks chosen for you beside every phone on display",
    },
    "signup.next.draw": {
        _ZH: "下一步：现在就参加今天的会员抽奖",
        _EN: "Next: try today's member draw now",
    },
    "signup.next.browse": {
        _ZH: "下一步：拿起任意一台手机，看看为您挑选的推荐",
        _EN: "Next: pick up any phone to see what we picked for you",
    },
    "signup.bind.waiting": {
        _ZH: "如有会员钥匙扣，现在将它贴近感应区，即可绑定（可跳过）",
        _EN: "Have a member key fob? Hold it to the reader now to link it (optional)",
    },
    "signup.bind.bound": {_ZH: "钥匙扣已绑定", _EN: "Your key fob is linked"},
    "signup.bind.taken": {
        _ZH: "这个钥匙扣已属于其他会员，请联系店员",
        _EN: "That fob belongs to another member: please ask staff",
    },
    # -- surveys
    "survey.title": {_ZH: "您的意见", _EN: "Your opinion"},
    "survey.progress": {_ZH: "{n}/{total}", _EN: "{n}/{total}"},
    "survey.nps.low": {_ZH: "完全不可能", _EN: "Not at all likely"},
    "survey.nps.high": {_ZH: "非常可能", _EN: "Extremely likely"},
    "survey.smiley.1": {_ZH: "非常不满意", _EN: "Very unhappy"},
    "survey.smiley.2": {_ZH: "不满意", _EN: "Unhappy"},
    "survey.smiley.3": {_ZH: "满意", _EN: "Happy"},
    "survey.smiley.4": {_ZH: "非常满意", _EN: "Very happy"},
    "survey.thanks": {_ZH: "感谢您的反馈！", _EN: "Thank you for your feedback!"},
    "survey.thanks.pending": {_ZH: "正在为您领取优惠券…", _EN: "Getting your coupon…"},
    "survey.thanks.none": {_ZH: "我们会认真阅读每一条意见。", _EN: "We read every answer."},
    "survey.thanks.refused": {
        _ZH: "今天的优惠券已发完，感谢您的参与。",
        _EN: "Today's coupons are all given out: thank you for taking part.",
    },
    "smiley.thanks": {_ZH: "谢谢！", _EN: "Thank you!"},
    "smiley.thanks_feedback": {_ZH: "谢谢您的反馈！", _EN: "Thank you for your feedback!"},
    # -- prize draw
    "draw.title": {_ZH: "会员抽奖", _EN: "Members' prize draw"},
    "draw.button": {_ZH: "点击抽奖", _EN: "Tap to draw"},
    "draw.drawing": {_ZH: "抽奖中…", _EN: "Drawing…"},
    "draw.skip": {_ZH: "轻点屏幕跳过", _EN: "Tap to skip"},
    "draw.prizes": {_ZH: "奖品", _EN: "Prizes"},
    "draw.rules": {_ZH: "活动规则", _EN: "Rules"},
    "draw.odds": {_ZH: "中奖概率 {percent}%", _EN: "{percent}% chance"},
    "draw.rule.per_day": {
        _ZH: "每位会员每天可抽 {n} 次",
        _EN: "Draws per member per day: {n}",
    },
    "draw.rule.coupons": {
        _ZH: "奖品为优惠券，中奖后扫码保存，结账时出示",
        _EN: "Prizes are coupons: scan yours and show it at the till",
    },
    "draw.rule.until": {_ZH: "活动截止 {date}", _EN: "Open until {date}"},
    "draw.next.tomorrow": {_ZH: "明天还可以再来抽一次", _EN: "Come back tomorrow for another go"},
    "draw.next.feedback": {
        _ZH: "明天再来抽一次；现在回答一分钟问卷，还能领一张优惠券",
        _EN: "Come back tomorrow for another go, or answer a one-minute survey for a coupon",
    },
    "draw.no_win": {_ZH: "很遗憾，这次没有中奖", _EN: "Not this time, sorry"},
    "draw.already_drawn": {
        _ZH: "您今天已经抽过奖了，明天再来吧",
        _EN: "You have had today's draw: come back tomorrow",
    },
    "draw.closed": {_ZH: "抽奖活动暂未开放", _EN: "The draw is not open right now"},
    "draw.unavailable": {
        _ZH: "抽奖暂时无法进行，请联系店员",
        _EN: "The draw is not available right now: please ask staff",
    },
    # -- coupons
    "coupon.won": {_ZH: "恭喜中奖！", _EN: "You won!"},
    "member_offer.badge": {_ZH: "会员专享", _EN: "Members only"},
    "member_offer.take": {_ZH: "领取", _EN: "Take it"},
    "member_offer.taking": {_ZH: "正在为您领取…", _EN: "Getting your coupon…"},
    "member_offer.show": {_ZH: "查看我的优惠券", _EN: "Show my coupon"},
    "member_offer.refused.member_limit": {
        _ZH: "您已领取过这份优惠，下次再来看看新的惊喜",
        _EN: "You have taken this offer already: look out for the next one",
    },
    "member_offer.refused.budget_spent": {
        _ZH: "今天的名额已经领完了，明天再来试试",
        _EN: "Today's offers are all taken: try again tomorrow",
    },
    "member_offer.refused.ended": {
        _ZH: "这份优惠已经结束，感谢您的关注",
        _EN: "This offer has ended: thank you for your interest",
    },
    "member_offer.refused.unavailable": {
        _ZH: "暂时无法领取，请稍后再试或咨询店员",
        _EN: "It cannot be taken just now: try again shortly or ask a member of staff",
    },
    "member_offer.coupon": {_ZH: "您的会员专享券", _EN: "Your member offer"},
    "member_offer.ticket_heading": {_ZH: "会员专享优惠券", _EN: "Member offer coupon"},
    "member_offer.send": {_ZH: "发送到我的手机", _EN: "Send to my phone"},
    "member_offer.send_done": {_ZH: "✓ 已发送到手机", _EN: "✓ Sent to your phone"},
    "member_offer.sent": {
        _ZH: "短信将在几分钟内送达",
        _EN: "The text will arrive in a few minutes",
    },
    "member_offer.queued": {
        _ZH: "门店网络恢复后，短信将发送到您的手机",
        _EN: "The text will arrive when the store is back online",
    },
    "member_offer.print": {_ZH: "打印", _EN: "Print"},
    "member_offer.print_busy": {_ZH: "打印中…", _EN: "Printing…"},
    "member_offer.print_done": {_ZH: "✓ 已打印", _EN: "✓ Printed"},
    "member_offer.printing": {_ZH: "正在打印…", _EN: "Printing…"},
    "member_offer.printed": {_ZH: "请在下方取券", _EN: "Take your coupon below"},
    "member_offer.print_failed": {
        _ZH: "打印机暂时不可用，请发送到手机或拍下二维码",
        _EN: "The printer is unavailable: send it to your phone or photograph the QR",
    },
    "coupon.free": {_ZH: "免费", _EN: "Free"},
    "coupon.earned": {_ZH: "您的优惠券", _EN: "Your coupon"},
    "coupon.how": {
        _ZH: "拍下或扫描此码，结账时出示给店员",
        _EN: "Photograph or scan this code and show it at the till",
    },
    "coupon.expires": {_ZH: "有效期至 {date}", _EN: "Valid until {date}"},
    # -- walk-away countdown
    "countdown.title": {_ZH: "还在吗？", _EN: "Still there?"},
    "countdown.body": {
        _ZH: "为保护您的信息，{seconds} 秒后将清除本页内容",
        _EN: "To protect your details, this page clears in {seconds} s",
    },
    "countdown.stay": {_ZH: "继续", _EN: "I'm still here"},
    # -- attendant app (store staff)
    "attendant.feed": {_ZH: "实时动态", _EN: "Live feed"},
    "attendant.alerts": {_ZH: "待处理提醒", _EN: "Alerts"},
    "attendant.no_alerts": {_ZH: "暂无提醒", _EN: "No alerts"},
    "attendant.all_kiosks": {_ZH: "全部终端", _EN: "All kiosks"},
    "attendant.all_kinds": {_ZH: "全部类型", _EN: "All events"},
    "attendant.health": {_ZH: "终端状态", _EN: "Kiosk health"},
    "attendant.health.last_contact": {_ZH: "{seconds} 秒前联系", _EN: "heard {seconds} s ago"},
    "attendant.health.never": {_ZH: "尚未联系", _EN: "not heard yet"},
    "attendant.health.faulty": {_ZH: "异常：{reason}", _EN: "faulty: {reason}"},
    "attendant.health.backlog": {
        _ZH: "待同步 {backlog}，失败 {dead_letters}",
        _EN: "backlog {backlog}, dead letters {dead_letters}",
    },
    "attendant.health.release": {_ZH: "内容 {release}", _EN: "content {release}"},
    "attendant.device.up": {_ZH: "{device} 正常", _EN: "{device} up"},
    "attendant.device.down": {_ZH: "{device} 断开", _EN: "{device} down"},
    "attendant.device.reconnecting": {_ZH: "{device} 重连中", _EN: "{device} reconnecting"},
    "attendant.acknowledge": {_ZH: "确认", _EN: "Acknowledge"},
    "attendant.member": {_ZH: "会员", _EN: "member"},
    "attendant.last_viewed": {_ZH: "上次看过 {skus}", _EN: "looked at {skus} last time"},
    "attendant.kind.member_arrived": {_ZH: "{who} 到店", _EN: "{who} arrived"},
    "attendant.kind.member_left": {_ZH: "会员离开", _EN: "Member left"},
    "attendant.kind.lift": {_ZH: "拿起手机", _EN: "Phone lifted"},
    "attendant.kind.drop": {_ZH: "放回手机", _EN: "Phone put back"},
    "attendant.kind.comparison": {_ZH: "对比机型", _EN: "Phones compared"},
    "attendant.kind.signup": {_ZH: "新会员注册", _EN: "New member signed up"},
    "attendant.kind.survey_answer": {_ZH: "问卷回答", _EN: "Survey answer"},
    "attendant.kind.prize_won": {_ZH: "抽奖中奖", _EN: "Prize won"},
    "attendant.kind.coupon_issued": {_ZH: "发放优惠券", _EN: "Coupon issued"},
    "attendant.kind.coupon_redeemed": {_ZH: "核销优惠券", _EN: "Coupon redeemed"},
    "attendant.kind.alarm": {_ZH: "防盗报警", _EN: "Security alarm"},
    "attendant.kind.device": {_ZH: "设备状态", _EN: "Device status"},
    "attendant.kind.ack": {_ZH: "提醒已确认", _EN: "Alert acknowledged"},
    "attendant.alert.low_score": {_ZH: "低分评价", _EN: "Low survey score"},
    "attendant.alert.alarm": {_ZH: "防盗报警", _EN: "Security alarm"},
    "attendant.alert.kiosk_silent": {_ZH: "终端超过一分钟无响应", _EN: "Kiosk silent"},
    "attendant.alert.device_down": {_ZH: "设备断开超过一分钟", _EN: "Device down"},
    # The staff-only maintenance screen (kiosk/screens/maintenance.py).
    "maint.title": {_ZH: "终端维护", _EN: "Kiosk maintenance"},
    "maint.pin.prompt": {_ZH: "请输入维护密码", _EN: "Enter the maintenance PIN"},
    "maint.pin.wrong": {_ZH: "密码错误", _EN: "Wrong PIN"},
    "maint.pin.locked": {
        _ZH: "错误次数过多，请 {seconds} 秒后再试",
        _EN: "Too many wrong PINs: try again in {seconds} s",
    },
    "maint.pin.enter": {_ZH: "确定", _EN: "Enter"},
    "maint.close": {_ZH: "关闭", _EN: "Close"},
    "maint.devices": {_ZH: "设备测试", _EN: "Device test"},
    "maint.leds": {_ZH: "逐个点亮展位灯", _EN: "Light each slot in turn"},
    "maint.leds.lit": {_ZH: "{slot} 号位已点亮", _EN: "Slot {slot} lit"},
    "maint.leds.done": {_ZH: "已测试 {count} 个展位", _EN: "{count} slots tested"},
    "maint.leds.none": {_ZH: "没有连接展柜", _EN: "No cabinet connected"},
    "maint.fob.wait": {_ZH: "请将钥匙扣靠近读卡器", _EN: "Hold a fob to the reader"},
    "maint.fob.read": {_ZH: "已读到钥匙扣 · {short}", _EN: "Fob read · {short}"},
    "maint.ble": {_ZH: "蓝牙标签：{count} 个", _EN: "BLE tags heard: {count}"},
    "maint.ble.tag": {_ZH: "{short} · {rssi} dBm", _EN: "{short} · {rssi} dBm"},
    "maint.network": {_ZH: "网络与总部", _EN: "Network and HQ"},
    "maint.net.no_report": {_ZH: "同步进程尚未报告", _EN: "No report from the sync process yet"},
    "maint.net.idle": {_ZH: "总部可达，无待同步记录", _EN: "HQ reachable, nothing to send"},
    "maint.net.syncing": {_ZH: "总部可达，正在同步", _EN: "HQ reachable, sending"},
    "maint.net.backing_off": {
        _ZH: "无法连接总部，稍后重试",
        _EN: "HQ unreachable or busy: retrying",
    },
    "maint.net.unauthorised": {
        _ZH: "总部不接受本终端，请重新注册",
        _EN: "HQ refuses this kiosk: enrol it again",
    },
    "maint.net.last_success": {_ZH: "上次成功：{when}", _EN: "Last success: {when}"},
    "maint.net.pending": {
        _ZH: "待同步 {pending} 条，失败 {dead} 条",
        _EN: "{pending} waiting, {dead} given up",
    },
    "maint.net.retry": {_ZH: "{seconds} 秒后重试", _EN: "Retry in {seconds} s"},
    "maint.never": {_ZH: "从未", _EN: "never"},
    "maint.ago": {_ZH: "{seconds} 秒前", _EN: "{seconds} s ago"},
    "maint.ago.minutes": {_ZH: "{minutes} 分钟前", _EN: "{minutes} min ago"},
    "maint.ago.hours": {_ZH: "{hours} 小时前", _EN: "{hours} h ago"},
    "maint.enrolment": {_ZH: "注册状态", _EN: "Enrolment"},
    "maint.enrol.none": {
        _ZH: "未注册：记录保存在本机（kiosk enroll）",
        _EN: "Not enrolled: records wait here (kiosk enroll)",
    },
    "maint.enrol.yes": {_ZH: "已注册", _EN: "Enrolled"},
    "maint.enrol.ids": {_ZH: "门店 {store} · 终端 {kiosk}", _EN: "Store {store} · kiosk {kiosk}"},
    "maint.content": {_ZH: "内容版本", _EN: "Content release"},
    "maint.content.active": {_ZH: "当前版本：{release}", _EN: "Showing: {release}"},
    "maint.content.staged": {_ZH: "待切换：{releases}", _EN: "Staged: {releases}"},
    "maint.content.downloading": {
        _ZH: "正在下载 {release}：{percent}%",
        _EN: "Downloading {release}: {percent}%",
    },
    "maint.content.failure": {
        _ZH: "上次失败（{release}）：{reason}",
        _EN: "Last failure ({release}): {reason}",
    },
    "maint.content.no_report": {_ZH: "尚无下载报告", _EN: "No update report yet"},
    "maint.restart": {_ZH: "重启程序", _EN: "Restart the kiosk"},
    "maint.restart.explain": {
        _ZH: "程序将关闭，并由系统在几秒内自动重新启动，回到首页。",
        _EN: "The kiosk app closes and the system starts it again within seconds, "
        "back on the attract loop.",
    },
    "maint.restart.confirm": {_ZH: "确认重启", _EN: "Restart now"},
    "maint.calibrate": {_ZH: "屏幕校准", _EN: "Screen calibration"},
    "maint.calibrate.explain": {
        _ZH: "依次点击出现的十字中心。",
        _EN: "Tap the centre of each cross as it appears.",
    },
    "maint.calibrate.start": {_ZH: "开始校准", _EN: "Calibrate"},
    "maint.calibrate.saved": {
        _ZH: "已保存校准（最大偏差 {error} 像素），重新开机后生效。",
        _EN: "Calibration saved (worst {error} px off): it applies after the next power-on.",
    },
    "maint.calibrate.failed": {_ZH: "校准未保存，请重新点击每个十字", _EN: "Not saved: {reason}"},
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


# Half-width marks that Chinese text writes full-width (，。？！：；（）). A comma or
# colon between two digits belongs to a number or a time (¥5,999, 10:30), and
# placeholders ({seconds}) are not text.
_HALF_WIDTH: Final = re.compile(r"(?<!\d)[,:]|[,:](?!\d)|[?!;()]")
_PLACEHOLDER: Final = re.compile(r"\{[^{}]*\}")


def half_width_punctuation(text: str) -> list[str]:
    """The half-width punctuation marks in a Chinese `text`, in order (none: [])."""
    return _HALF_WIDTH.findall(_PLACEHOLDER.sub("", text))
