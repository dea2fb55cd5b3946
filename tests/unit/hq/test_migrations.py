"""The migrations build exactly the schema `hq.db` describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text

from hq.crm import erasure
from hq.db import Database, consents, customers, erased_members, kiosks, member_ids, metadata
from hq.migrations import HEAD_REVISION, SCRIPT_LOCATION, alembic_config, current_revision, migrate


def test_migrating_a_fresh_database_creates_every_table_at_the_newest_revision(
    database_url: str,
) -> None:
    migrate(database_url)
    database = Database(database_url)
    try:
        tables = set(inspect(database.engine).get_table_names())
        with database.read() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        assert current_revision(database.engine) == current
    finally:
        database.dispose()
    assert tables == set(metadata.tables) | {"alembic_version"}
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert current == head == HEAD_REVISION == "0021_member_offers_feed"


def test_the_migrated_schema_matches_the_tables_hq_uses(database_url: str) -> None:
    migrate(database_url)
    database = Database(database_url)
    try:
        with database.read() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            drift = compare_metadata(context, metadata)
    finally:
        database.dispose()
    assert drift == []


def test_the_comparison_would_notice_a_table_the_migrations_lack(database_url: str) -> None:
    migrate(database_url)
    changed = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(changed)
    Table("wishlists", changed, Column("id", Integer, primary_key=True))
    database = Database(database_url)
    try:
        with database.read() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), changed)
    finally:
        database.dispose()
    assert [change[0] for change in drift] == ["add_table"]


def test_migrating_again_changes_nothing(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)
    database = Database(database_url)
    try:
        migrate(database)
        migrate(database.engine)
        assert set(inspect(database.engine).get_table_names()) == set(metadata.tables) | {
            "alembic_version"
        }
    finally:
        database.dispose()


def test_head_revision_names_the_newest_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hq.sqlite3'}"
    assert ScriptDirectory.from_config(alembic_config(url)).get_current_head() == HEAD_REVISION


def test_migrations_ship_inside_the_package() -> None:
    assert (SCRIPT_LOCATION / "env.py").is_file()
    assert (SCRIPT_LOCATION / "versions" / "0001_initial.py").is_file()
    assert (SCRIPT_LOCATION / "versions" / "0002_recognition.py").is_file()
    assert (SCRIPT_LOCATION / "versions" / "0003_coupons.py").is_file()


def test_upgrading_from_the_first_schema_keeps_members_and_greets_none_by_name(
    database_url: str,
) -> None:
    from alembic import command  # noqa: PLC0415 (as hq.migrations does)

    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO customers (customer_id, phone_e164, created_at, first_store_id)"
                    " VALUES ('c1', '+8613912345678', '2026-11-23 09:00:00', 's')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO member_ids (member_id, customer_id, store_id, kiosk_id,"
                    " signed_up_at) VALUES ('m1', 'c1', 's', 'k', '2026-11-23 09:00:00')"
                )
            )
        migrate(database)
        assert current_revision(database.engine) == HEAD_REVISION
        with database.read() as connection:
            rows = connection.execute(
                select(member_ids.c.member_id, member_ids.c.greet_by_name)
            ).all()
            tier = connection.execute(select(customers.c.tier)).scalar_one()
    finally:
        database.dispose()
    assert [tuple(row) for row in rows] == [("m1", False)]
    assert tier is None


def _upgrade_to(database: Database, url: str, revision: str) -> None:
    from alembic import command  # noqa: PLC0415 (as hq.migrations does)

    with database.engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_upgrading_numbers_the_kiosks_enrolled_before_in_order_of_enrolment(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        _upgrade_to(database, database_url, "0002")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO stores (store_id, created_at, kiosks_enrolled)"
                    " VALUES ('s', '2026-11-23 09:00:00', 2)"
                )
            )
            for kiosk_id, enrolled_at in (("s-k2", "10:00"), ("s-k1", "09:00")):
                connection.execute(
                    text(
                        "INSERT INTO kiosks (kiosk_id, store_id, token_sha256, enrolled_at,"
                        " contiguous_seq, highest_seq) VALUES (:kiosk, 's', :kiosk, :at, 0, 0)"
                    ),
                    {"kiosk": kiosk_id, "at": f"2026-11-23 {enrolled_at}:00"},
                )
            # A rejection points at a kiosk: the upgrade must not rebuild `kiosks`.
            connection.execute(
                text(
                    "INSERT INTO rejections (kiosk_id, store_id, event_id, seq, kind,"
                    " schema_version, reason, rejected_at) VALUES"
                    " ('s-k1', 's', 'e', 1, 'lift', 1, 'r', '2026-11-23 09:00:00')"
                )
            )
        migrate(database)
        with database.read() as connection:
            numbers = dict(connection.execute(select(kiosks.c.kiosk_id, kiosks.c.kiosk_no)).all())
    finally:
        database.dispose()
    assert numbers == {"s-k1": 1, "s-k2": 2}


def test_downgrading_from_the_coupons_revision_leaves_the_recognition_schema(
    database_url: str,
) -> None:
    from alembic import command  # noqa: PLC0415 (as hq.migrations does)

    migrate(database_url)
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
        inspector = inspect(database.engine)
        tables = set(inspector.get_table_names())
        kiosk_columns = {column["name"] for column in inspector.get_columns("kiosks")}
        migrate(database)
        assert current_revision(database.engine) == HEAD_REVISION
    finally:
        database.dispose()
    assert "coupons_issued" not in tables
    assert "tag_bindings" in tables
    assert "kiosk_no" not in kiosk_columns


def test_upgrading_keeps_erasures_by_hash_only_and_marks_earlier_consents_as_kiosks(
    database_url: str,
) -> None:
    erased = "0b7e6c1a-3f8e-4d2a-9c1b-7a5e2f4d8c90"
    database = Database(database_url)
    try:
        _upgrade_to(database, database_url, "0004")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO erased_members (member_id, erased_at)"
                    " VALUES (:member, '2026-11-23 09:00:00')"
                ),
                {"member": erased},
            )
            connection.execute(
                text(
                    "INSERT INTO consents (event_id, member_id, purpose, notice_version,"
                    " notice_sha256, given, store_id, kiosk_id, occurred_at) VALUES"
                    " ('e1', 'm1', 'marketing', 'v1', :sha, true, 's', 'k',"
                    " '2026-11-23 09:00:00')"
                ),
                {"sha": "5e" * 32},
            )
        migrate(database)
        with database.read() as connection:
            kept = connection.execute(select(erased_members.c.member_sha256)).scalars().all()
            sources = connection.execute(select(consents.c.source)).scalars().all()
            assert erasure.erased_among(connection, {erased, "another"}) == {erased}
    finally:
        database.dispose()
    assert kept == [erasure.member_hash(erased)]
    assert erased not in kept
    assert sources == ["kiosk"]


def test_upgrading_to_attendants_keeps_every_enrolled_device_and_code_a_kiosks(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        _upgrade_to(database, database_url, "0006")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO stores (store_id, created_at, kiosks_enrolled)"
                    " VALUES ('s', '2026-11-23 09:00:00', 1)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO kiosks (kiosk_id, store_id, token_sha256, enrolled_at,"
                    " contiguous_seq, highest_seq, kiosk_no)"
                    " VALUES ('s-k1', 's', 't', '2026-11-23 09:00:00', 0, 0, 1)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO enrolment_codes (code_sha256, store_id, issued_at, expires_at)"
                    " VALUES ('c', 's', '2026-11-23 09:00:00', '2026-11-24 09:00:00')"
                )
            )
        migrate(database)
        with database.read() as connection:
            roles = connection.execute(select(kiosks.c.kiosk_id, kiosks.c.role)).all()
            code_role = connection.execute(text("SELECT role FROM enrolment_codes")).scalar()
            attendants = connection.execute(text("SELECT attendants_enrolled FROM stores")).scalar()
    finally:
        database.dispose()
    assert [tuple(row) for row in roles] == [("s-k1", "kiosk")]
    assert (code_role, attendants) == ("kiosk", 0)


def test_upgrading_to_content_keeps_stores_in_no_region_and_downgrading_drops_content(
    database_url: str,
) -> None:
    from alembic import command  # noqa: PLC0415 (as hq.migrations does)

    database = Database(database_url)
    try:
        _upgrade_to(database, database_url, "0007")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO stores (store_id, created_at, kiosks_enrolled)"
                    " VALUES ('s', '2026-11-23 09:00:00', 0)"
                )
            )
        migrate(database)
        with database.read() as connection:
            region = connection.execute(text("SELECT region FROM stores")).scalar_one()
        with database.engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0007")
        inspector = inspect(database.engine)
        tables = set(inspector.get_table_names())
        store_columns = {column["name"] for column in inspector.get_columns("stores")}
        stores_left = inspector.get_table_names()
    finally:
        database.dispose()
    assert region is None
    assert not tables & {"content_releases", "audit_log", "store_tags", "content_failures"}
    assert "region" not in store_columns
    assert "stores" in stores_left
