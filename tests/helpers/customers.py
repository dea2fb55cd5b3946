"""Demo customer records for the console's customer pages (tests and screenshots).

Made-up Chinese names, example.cn addresses and numbers in valid mobile ranges:
nobody real. Rows are written as an import from an older CRM would leave them
(some numbers in national or 00 form), with a sign-up, consents, lifts and fobs.

    ids = add_demo_customers(database, now)   # name -> customer id
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import insert

from hq.crm.dedupe import address_key
from hq.db import Database, consents, customers, interactions, member_ids, tag_bindings


@dataclass(frozen=True)
class Demo:
    key: str
    name: str
    phone: str
    email: str | None = None
    address: str | None = None
    store: str = "sh-xujiahui"
    days_ago: int = 30
    recognition: tuple[bool, ...] = (True,)  # decisions, oldest first
    skus: tuple[str, ...] = ("XH-X60-256-PU",)
    fobs: int = 1
    extra: dict[str, str] = field(default_factory=dict)


DEMO: Final = (
    Demo(
        "wang",
        "王芳",
        "+8613812345678",
        "wang.fang@example.cn",
        "上海市徐汇区漕溪北路 88 号 1201 室",
        skus=("XH-X60-256-PU", "XH-S12-256-MT", "XH-A5-128-BL"),
    ),
    Demo(
        "wang-old",
        "王芳",
        "008613812345678",
        None,
        None,
        store="sh-nanjing-road",
        days_ago=400,
        recognition=(True, False),
        fobs=0,
    ),
    Demo("li", "李娜", "+8613900001111", "li.na@example.cn", store="bj-sanlitun", days_ago=90),
    Demo(
        "li-new",
        "李娜",
        "+8613900002222",
        " Li.Na@Example.cn",
        store="bj-sanlitun",
        days_ago=5,
        skus=("XH-S12-256-MT",),
    ),
    Demo(
        "chen",
        "陈静",
        "+8613700003333",
        None,
        "北京市朝阳区三里屯路 19 号院 3 号楼 502",
        store="bj-sanlitun",
        days_ago=60,
    ),
    Demo(
        "chen-2",
        "陈 静",
        "+8613700004444",
        None,
        "北京市朝阳区三里屯路19号院3號樓502",
        store="bj-sanlitun",
        days_ago=20,
        fobs=0,
    ),
    Demo(
        "liu",
        "刘洋",
        "+8613600005555",
        None,
        "北京市朝阳区三里屯路 19 号院 3 号楼 502",
        store="bj-sanlitun",
        days_ago=50,
    ),
    Demo("zhao", "赵磊", "+8615800006666", "zhao.lei@example.cn", days_ago=12),
    Demo("sun", "孙丽", "+8618600007777", None, store="sh-nanjing-road", days_ago=3, fobs=0),
)


def add_demo_customers(database: Database, now: datetime) -> dict[str, str]:
    """Write the DEMO records; each demo key -> its customer id."""
    ids: dict[str, str] = {}
    with database.write() as connection:
        for n, demo in enumerate(DEMO):
            customer = str(uuid.uuid4())
            member = str(uuid.uuid4())
            ids[demo.key] = customer
            signed_up = now - timedelta(days=demo.days_ago, hours=n)
            kiosk = f"{demo.store}-k1"
            connection.execute(
                insert(customers).values(
                    customer_id=customer,
                    phone_e164=demo.phone,
                    email=demo.email,
                    name=demo.name,
                    language="zh-CN",
                    created_at=signed_up,
                    first_store_id=demo.store,
                    address=demo.address,
                    address_key=address_key(demo.address),
                )
            )
            connection.execute(
                insert(member_ids).values(
                    member_id=member,
                    customer_id=customer,
                    store_id=demo.store,
                    kiosk_id=kiosk,
                    signed_up_at=signed_up,
                    greet_by_name=True,
                )
            )
            decisions = [
                ("marketing", "sms", True),
                *(("recognition", None, g) for g in demo.recognition),
            ]
            for step, (purpose, channel, given) in enumerate(decisions):
                connection.execute(
                    insert(consents).values(
                        event_id=str(uuid.uuid4()),
                        member_id=member,
                        purpose=purpose,
                        channel=channel,
                        notice_version="2026-11",
                        notice_sha256="5e" * 32,
                        given=given,
                        store_id=demo.store,
                        kiosk_id=kiosk,
                        occurred_at=signed_up + timedelta(minutes=step, days=step // 2),
                    )
                )
            for step, sku in enumerate(demo.skus):
                for kind in ("lift", "drop"):
                    connection.execute(
                        insert(interactions).values(
                            event_id=str(uuid.uuid4()),
                            member_id=member,
                            kind=kind,
                            store_id=demo.store,
                            kiosk_id=kiosk,
                            occurred_at=signed_up
                            + timedelta(days=step, minutes=5 + (kind == "drop")),
                            session=f"s{n}-{step}",
                            sku=sku,
                            slot=step + 1,
                            details={"dwell_ms": 14_000} if kind == "drop" else {},
                        )
                    )
            for fob in range(demo.fobs):
                connection.execute(
                    insert(tag_bindings).values(
                        tag_hash=uuid.uuid4().hex * 2,
                        member_id=member,
                        kind="rfid",
                        bound_at=signed_up + timedelta(minutes=3 + fob),
                        source="kiosk",
                        store_id=demo.store,
                        kiosk_id=kiosk,
                    )
                )
    return ids
