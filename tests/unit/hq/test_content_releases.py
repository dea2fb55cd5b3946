"""Publishing, editing, revoking and rendering releases, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import (
    edit_json,
    flip_byte,
    product_picture,
    read_json,
    sample_bundle,
    write_file,
)

from hq import audit, fleet
from hq.content import releases
from hq.content.assets import DirectoryAssetStore
from hq.content.manifest import ManifestService, default_expires
from hq.content.reports import store_status
from hq.content.signing import ContentKeys, verify_envelope
from hq.content.wire import ContentStatus
from hq.db import Database
from hq.enrollment import KioskIdentity, issue_code, redeem_code
from hq.errors import UnknownStore

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@dataclass
class Content:
    database: Database
    assets: DirectoryAssetStore
    keys: ContentKeys
    tmp: Path

    def publish(self, folder: Path, target: str = "all", **kwargs: Any) -> releases.ReleaseInfo:
        kwargs.setdefault("now", NOW)
        kwargs.setdefault("by", "test")
        return releases.publish_folder(
            self.database, self.assets, self.keys, folder, target=target, **kwargs
        ).release

    def store(self, store_id: str, region: str | None = None, *tags: str) -> None:
        fleet.add_store(self.database, store_id, None, now=NOW, region=region, tags=tags)

    def kiosk(self, store_id: str) -> KioskIdentity:
        code = issue_code(self.database, store_id, now=NOW)
        enrolment = redeem_code(self.database, code, None, now=NOW)
        return KioskIdentity(enrolment.kiosk_id, store_id)

    def manifest(self, kiosk: KioskIdentity, now: datetime = NOW) -> dict[str, Any] | None:
        rendered = ManifestService(self.database, self.keys).for_kiosk(kiosk, now=now)
        if rendered is None:
            return None
        document = json.loads(rendered.body)
        payload = verify_envelope(document, self.keys.chain()[0].key)
        found: dict[str, Any] = json.loads(payload)
        return found

    def bytes_of(self, sha256: str) -> bytes:
        with self.assets.open(sha256) as file:
            return file.read()


@pytest.fixture
def content(database: Database, tmp_path: Path) -> Content:
    return Content(
        database, DirectoryAssetStore(tmp_path / "assets"), ContentKeys(tmp_path / "keys"), tmp_path
    )


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return sample_bundle(tmp_path / "bundle", products=4)


def files(manifest: dict[str, Any]) -> dict[str, str]:
    return {entry["path"]: entry["sha256"] for entry in manifest["files"]}


def test_a_published_bundle_is_what_the_kiosks_manifest_lists(
    content: Content, bundle: Path
) -> None:
    content.store("s001", "east", "flagship")
    kiosk = content.kiosk("s001")

    release = content.publish(bundle, "region:east", name="Spring launch")
    manifest = content.manifest(kiosk)

    assert manifest is not None
    listed = {entry["path"]: entry for entry in read_json(bundle, "manifest.json")["assets"]}
    assert manifest["files"] == sorted(listed.values(), key=lambda entry: entry["path"])
    assert (manifest["release"], manifest["name"], manifest["store"], manifest["kiosk"]) == (
        release.release_id,
        "Spring launch",
        "s001",
        kiosk.kiosk_id,
    )
    assert manifest["format"] == 1
    assert manifest["not_before"] is None
    assert manifest["bundle_release"] == read_json(bundle, "manifest.json")["release"]
    catalog = (bundle / "catalog.json").read_bytes()
    assert content.bytes_of(files(manifest)["catalog.json"]) == catalog


def test_a_bad_bundle_is_refused_with_the_loaders_words_and_nothing_is_stored(
    content: Content, bundle: Path
) -> None:
    edit_json(bundle, "catalog.json", lambda doc: doc["products"][1]["price"].update(amount="-1"))

    with pytest.raises(releases.PublishRefused) as refused:
        content.publish(bundle)

    assert "catalog.json: products[1].price.amount: Input should be greater than or equal to 0" in (
        refused.value.problems
    )
    assert "1 problem(s) in content bundle" in str(refused.value)
    assert releases.list_releases(content.database) == []
    assert not (content.tmp / "assets").exists() or not any(
        path.is_file() for path in (content.tmp / "assets").rglob("*")
    )


def test_member_offers_publish_with_the_bundle_and_are_checked_as_the_kiosk_checks_them(
    content: Content, bundle: Path
) -> None:
    content.store("s001")
    kiosk = content.kiosk("s001")

    content.publish(bundle)
    manifest = content.manifest(kiosk)

    assert manifest is not None
    offers = (bundle / "offers.json").read_bytes()
    assert content.bytes_of(files(manifest)["offers.json"]) == offers
    edit_json(bundle, "offers.json", lambda doc: doc["offers"][0].update(campaign="gone-1"))
    with pytest.raises(releases.PublishRefused) as refused:
        content.publish(bundle)
    assert refused.value.problems == (
        "offers.json: offers[0].campaign: coupon campaign 'gone-1' is not in coupons.json",
    )


def test_a_picture_the_kiosk_could_not_show_is_refused_at_publish(
    content: Content, bundle: Path
) -> None:
    picture = product_picture(bundle)
    write_file(bundle, picture, b"not a picture at all")  # the manifest kept in step

    with pytest.raises(releases.PublishRefused) as refused:
        content.publish(bundle)

    assert any(problem.startswith(f"{picture}: picture") for problem in refused.value.problems)


def test_a_tampered_file_is_refused_like_the_kiosk_refuses_it(
    content: Content, bundle: Path
) -> None:
    flip_byte(bundle, "playlist.json", 5)

    with pytest.raises(releases.PublishRefused, match=r"playlist\.json"):
        content.publish(bundle)


def test_each_asset_is_stored_once_however_many_releases_hold_it(
    content: Content, bundle: Path
) -> None:
    first = content.publish(bundle)
    second = content.publish(bundle, name="again")

    stored = [path for path in (content.tmp / "assets").rglob("*") if path.is_file()]
    stored = [path for path in stored if ".incoming" not in path.parts]
    assert second.release_id > first.release_id
    assert len(stored) == first.files == second.files
    for path in stored:
        assert path.name[:2] == path.parent.name


def test_a_kiosk_of_another_store_gets_only_its_own_stores_release(
    content: Content, bundle: Path, tmp_path: Path
) -> None:
    content.store("s001", "east")
    content.store("s002", "west")
    east, west = content.kiosk("s001"), content.kiosk("s002")
    other = sample_bundle(tmp_path / "other", products=4, release="west-1")

    east_release = content.publish(bundle, "store:s001")
    west_release = content.publish(other, "region:west")

    east_manifest, west_manifest = content.manifest(east), content.manifest(west)
    assert east_manifest is not None
    assert west_manifest is not None
    assert (east_manifest["release"], east_manifest["store"]) == (east_release.release_id, "s001")
    assert (west_manifest["release"], west_manifest["store"]) == (west_release.release_id, "s002")
    assert content.manifest(KioskIdentity("s003-k1", "s003")) is None


def test_a_release_to_an_unknown_store_is_refused(content: Content, bundle: Path) -> None:
    with pytest.raises(UnknownStore):
        content.publish(bundle, "store:nowhere")


def test_a_kiosk_with_its_own_planogram_gets_it_as_planogram_json(
    content: Content, bundle: Path
) -> None:
    content.store("s001")
    mine, other = content.kiosk("s001"), content.kiosk("s001")
    skus = [product["sku"] for product in read_json(bundle, "catalog.json")["products"]]
    own = {"cabinet": "Window", "slots": [{"slot": 1, "sku": skus[-1]}], "store_edits": "replace"}
    (bundle / "planograms").mkdir()
    (bundle / "planograms" / f"{mine.kiosk_id}.json").write_text(json.dumps(own))

    release = content.publish(bundle, "store:s001")
    manifest, default = content.manifest(mine), content.manifest(other)

    assert release.planogram_kiosks == (mine.kiosk_id,)
    assert manifest is not None
    assert default is not None
    assert json.loads(content.bytes_of(files(manifest)["planogram.json"])) == own
    assert files(default)["planogram.json"] != files(manifest)["planogram.json"]
    assert not any(path.startswith("planograms/") for path in files(manifest))


def test_a_per_kiosk_planogram_naming_an_unknown_sku_is_refused(
    content: Content, bundle: Path
) -> None:
    (bundle / "planograms").mkdir()
    (bundle / "planograms" / "s001-k1.json").write_text(
        json.dumps({"cabinet": "Window", "slots": [{"slot": 1, "sku": "NOPE-1"}]})
    )
    (bundle / "planograms" / "notes.txt").write_text("hello")

    with pytest.raises(releases.PublishRefused) as refused:
        content.publish(bundle)

    assert refused.value.problems == (
        "planograms/notes.txt: must be named <kiosk id>.json (like s001-k1.json)",
        "planograms/s001-k1.json: slots[0].sku: SKU 'NOPE-1' is not in catalog.json",
    )


def test_revoking_publishes_a_newer_release_with_the_previous_content(
    content: Content, bundle: Path, tmp_path: Path
) -> None:
    content.store("s001")
    kiosk = content.kiosk("s001")
    good = content.publish(bundle)
    bad_bundle = sample_bundle(tmp_path / "bad", products=4, release="bad-1")
    edit_json(bad_bundle, "playlist.json", lambda doc: doc["items"][0].update(seconds=99))
    bad = content.publish(bad_bundle)
    before = content.manifest(kiosk)

    revocation = releases.revoke(content.database, bad.release_id, by="ana", now=NOW)
    after = content.manifest(kiosk)

    assert before is not None
    assert after is not None
    assert before["release"] == bad.release_id
    assert revocation.replacement.release_id > bad.release_id > good.release_id
    assert revocation.replacement.reverts == bad.release_id
    assert revocation.revoked.revoked_by == "ana"
    assert after["release"] == revocation.replacement.release_id
    good_manifest = {
        entry["path"]: entry["sha256"] for entry in read_json(bundle, "manifest.json")["assets"]
    }
    assert files(after) == good_manifest
    with pytest.raises(releases.PublishRefused, match="revoked already"):
        releases.revoke(content.database, bad.release_id, by="ana", now=NOW)
    with pytest.raises(releases.PublishRefused, match="itself the revocation"):
        releases.revoke(content.database, revocation.replacement.release_id, by="ana", now=NOW)


def test_revoking_the_only_release_counts_the_kiosks_left_without_one(
    content: Content, bundle: Path
) -> None:
    content.store("s001")
    kiosk = content.kiosk("s001")
    only = content.publish(bundle, "store:s001")

    revocation = releases.revoke(content.database, only.release_id, by="ana", now=NOW)

    assert revocation.kiosks_without_earlier == 1
    assert content.manifest(kiosk) is None


def test_an_edit_is_a_new_release_with_the_changed_products(content: Content, bundle: Path) -> None:
    content.store("s001")
    kiosk = content.kiosk("s001")
    base = content.publish(bundle, "store:s001")
    sku = read_json(bundle, "catalog.json")["products"][2]["sku"]

    published = releases.publish_edit(
        content.database,
        content.assets,
        content.keys,
        base.release_id,
        [releases.ProductEdit(sku, price="3999", in_stock=False, name_en="Renamed")],
        by="ana",
        now=NOW,
    )
    manifest = content.manifest(kiosk)

    assert published.release.release_id > base.release_id
    assert published.release.base_release == base.release_id
    assert published.release.target == base.target
    assert manifest is not None
    assert manifest["release"] == published.release.release_id
    catalog = json.loads(content.bytes_of(files(manifest)["catalog.json"]))
    product = catalog["products"][2]
    assert (product["price"]["amount"], product["in_stock"], product["name"]["en"]) == (
        "3999.00",
        False,
        "Renamed",
    )
    unchanged = {path: sha for path, sha in files(manifest).items() if path != "catalog.json"}
    base_files = {e["path"]: e["sha256"] for e in read_json(bundle, "manifest.json")["assets"]}
    assert unchanged == {path: sha for path, sha in base_files.items() if path != "catalog.json"}


def test_an_edit_naming_an_unknown_product_or_a_bad_price_is_refused(
    content: Content, bundle: Path
) -> None:
    base = content.publish(bundle)

    with pytest.raises(releases.PublishRefused) as refused:
        releases.publish_edit(
            content.database,
            content.assets,
            content.keys,
            base.release_id,
            [
                releases.ProductEdit("NOPE", price="1"),
                releases.ProductEdit(
                    read_json(bundle, "catalog.json")["products"][0]["sku"], price="cheap"
                ),
            ],
            by="ana",
            now=NOW,
        )

    assert refused.value.problems[0] == "catalog.json: no product with SKU 'NOPE'"
    assert "is not an amount" in refused.value.problems[1]
    assert len(releases.list_releases(content.database)) == 1


def test_the_same_kiosk_gets_the_same_bytes_from_any_hq_process(
    content: Content, bundle: Path
) -> None:
    content.store("s001")
    kiosk = content.kiosk("s001")
    content.publish(bundle)

    one = ManifestService(content.database, content.keys).for_kiosk(kiosk, now=NOW)
    two = ManifestService(content.database, ContentKeys(content.tmp / "keys")).for_kiosk(
        kiosk, now=NOW + timedelta(days=3)
    )

    assert one is not None
    assert two is not None
    assert one.body == two.body
    assert one.etag == two.etag


def test_a_rotated_key_signs_the_next_manifest_and_changes_its_etag(
    content: Content, bundle: Path
) -> None:
    content.store("s001")
    kiosk = content.kiosk("s001")
    content.publish(bundle)
    service = ManifestService(content.database, content.keys)
    before = service.for_kiosk(kiosk, now=NOW)

    content.keys.rotate()
    after = service.for_kiosk(kiosk, now=NOW)

    assert before is not None
    assert after is not None
    assert before.etag != after.etag
    assert verify_envelope(json.loads(after.body), content.keys.chain()[0].key)


def test_without_an_expiry_a_manifest_expires_30_days_on_renewed_in_15_day_steps() -> None:
    made = datetime(2026, 1, 1, tzinfo=UTC)
    assert default_expires(made, made) == made + timedelta(days=30)
    assert default_expires(made, made + timedelta(days=15)) == made + timedelta(days=30)
    assert default_expires(made, made + timedelta(days=15, seconds=1)) == made + timedelta(days=45)
    later = made + timedelta(days=400)
    expires = default_expires(made, later)
    assert timedelta(days=15) <= expires - later <= timedelta(days=30)


def test_a_scheduled_release_is_served_ahead_with_its_time_and_a_newer_one_warns(
    content: Content, bundle: Path
) -> None:
    content.store("s001")
    kiosk = content.kiosk("s001")
    at = NOW + timedelta(days=1)
    expires = NOW + timedelta(days=10)

    scheduled = content.publish(bundle, not_before=at, expires=expires)
    manifest = content.manifest(kiosk)
    newer = releases.publish_folder(
        content.database, content.assets, content.keys, bundle, target="all", by="t", now=NOW
    )

    assert manifest is not None
    assert (manifest["release"], manifest["not_before"], manifest["expires"]) == (
        scheduled.release_id,
        "2026-12-07T10:00:00Z",
        "2026-12-16T10:00:00Z",
    )
    assert any(f"release {scheduled.release_id} is scheduled" in w for w in newer.warnings)


def test_publish_refuses_an_expiry_in_the_past_or_before_its_start(
    content: Content, bundle: Path
) -> None:
    with pytest.raises(releases.PublishRefused, match="not in the future"):
        content.publish(bundle, expires=NOW - timedelta(minutes=1))
    with pytest.raises(releases.PublishRefused, match="after not_before"):
        content.publish(bundle, not_before=NOW + timedelta(days=2), expires=NOW + timedelta(days=1))


def report(**fields: Any) -> ContentStatus:
    return ContentStatus.model_validate(fields)


def failure(release: int | None, reason: str, at: datetime = NOW, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "release": release,
        "reason": reason,
        "detail": "x",
        "at": at.isoformat(),
        **extra,
    }


def test_the_rollout_counts_kiosks_by_state_with_progress_and_failures(
    content: Content, bundle: Path
) -> None:
    content.store("s001", "east")
    content.store("s002", "west")
    running, fetching, failing, silent = (content.kiosk("s001") for _ in range(4))
    elsewhere = content.kiosk("s002")
    release = content.publish(bundle, "region:east").release_id
    signature = failure(release, "signature")

    store_status(content.database, running, report(active=release), now=NOW)
    store_status(
        content.database,
        fetching,
        report(
            active=None, downloading={"release": release, "bytes_done": 250, "bytes_total": 1000}
        ),
        now=NOW,
    )
    accepted = store_status(content.database, failing, report(failures=[signature]), now=NOW)
    again = store_status(content.database, failing, report(failures=[signature]), now=NOW)
    rollout = releases.rollout(content.database, release, now=NOW)

    assert accepted == again == [signature["id"]]
    states = {kiosk.kiosk_id: kiosk.state for kiosk in rollout.kiosks}
    assert states == {
        running.kiosk_id: "running",
        fetching.kiosk_id: "downloading",
        failing.kiosk_id: "failed",
        silent.kiosk_id: "waiting",
    }
    assert elsewhere.kiosk_id not in states
    assert rollout.states["running"] == 1
    assert rollout.states["failed"] == 1
    assert rollout.failure_reasons == {"signature": 1}
    assert rollout.active_releases == {str(release): 1, "none": 3}
    (progress,) = [
        kiosk.progress for kiosk in rollout.kiosks if kiosk.kiosk_id == fetching.kiosk_id
    ]
    assert progress == 0.25
    as_json = rollout.as_json()
    assert as_json["kiosks_total"] == 4
    assert as_json["states"]["downloading"] == 1


def test_only_each_kiosks_latest_download_failure_is_kept(content: Content, bundle: Path) -> None:
    content.store("s001")
    kiosk = content.kiosk("s001")
    release = content.publish(bundle).release_id
    older = failure(release, "download", NOW)
    newer = failure(release, "download", NOW + timedelta(minutes=1))
    crashed = failure(release, "crashed")

    store_status(content.database, kiosk, report(failures=[newer, crashed]), now=NOW)
    store_status(content.database, kiosk, report(failures=[older]), now=NOW)
    rollout = releases.rollout(content.database, release, now=NOW)

    (mine,) = rollout.kiosks
    assert sorted((f.reason, f.failure_id) for f in mine.failures) == sorted(
        [("crashed", crashed["id"]), ("download", newer["id"])]
    )


def test_every_content_change_is_in_the_audit_log(content: Content, bundle: Path) -> None:
    content.store("s001", "east", "mall")
    release = content.publish(bundle, by="cli:ana")
    releases.revoke(content.database, release.release_id, by="console:bo", now=NOW)
    fleet.set_store_labels(content.database, "s001", add_tags=["flagship"], by="cli:ana", now=NOW)

    entries = [(e.actor, e.action, e.target) for e in audit.recent(content.database)]

    assert entries == [
        ("cli:ana", "store.labels", "s001"),
        ("console:bo", "content.revoke", f"release {release.release_id}"),
        ("cli:ana", "content.publish", f"release {release.release_id}"),
        ("kiosk-hq", "store.labels", "s001"),
    ]


def test_release_numbers_are_one_chain_wide_sequence(content: Content, bundle: Path) -> None:
    content.store("s001")
    content.store("s002")
    numbers = [content.publish(bundle, f"store:s00{n % 2 + 1}").release_id for n in range(4)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 4


def test_the_release_list_says_what_each_holds(content: Content, bundle: Path) -> None:
    first = content.publish(bundle, name="One")
    listed = releases.list_releases(content.database)

    assert [release.release_id for release in listed] == [first.release_id]
    as_json = listed[0].as_json()
    assert as_json["name"] == "One"
    assert as_json["target"] == "all"
    assert as_json["files"] == len(read_json(bundle, "manifest.json")["assets"])
    assert as_json["size"] == sum(e["size"] for e in read_json(bundle, "manifest.json")["assets"])
