"""The content API over real HTTP on loopback, on SQLite and PostgreSQL: manifests with
ETag and 304, assets with Range, status reports, the staff's release API."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.bundles import edit_json, read_json, sample_bundle
from helpers.content_hq import Publisher, manifest_payload, tar_gz
from helpers.hq import ADMIN_TOKEN, Hq, KioskClient, enrol, issue_code, new_store_id

from hq.content.signing import ContentKeys
from hq.db import content_failures, kiosk_content_status


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_bundle(tmp_path_factory.mktemp("content") / "bundle", products=4)


@pytest.fixture
def publisher(hq: Hq) -> Publisher:
    return Publisher(hq.settings)


def manifest(kiosk: KioskClient, **headers: str) -> requests.Response:
    return kiosk.session.get(f"{kiosk.base_url}/v1/content/manifest", headers=headers, timeout=30)


def asset(kiosk: KioskClient, sha256: str, **headers: str) -> requests.Response:
    return kiosk.session.get(
        f"{kiosk.base_url}/v1/content/assets/{sha256}", headers=headers, timeout=30
    )


def status(kiosk: KioskClient, body: Any) -> requests.Response:
    return kiosk.session.post(f"{kiosk.base_url}/v1/content/status", json=body, timeout=30)


def admin(hq: Hq, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method,
        f"{hq.base_url}/v1/admin/content{path}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", **kwargs.pop("headers", {})},
        timeout=60,
        **kwargs,
    )


def test_a_kiosk_pins_hqs_content_key_at_enrolment_and_verifies_its_manifest(
    hq: Hq, publisher: Publisher, bundle: Path
) -> None:
    kiosk = hq.kiosk()
    release = publisher.publish(bundle, f"store:{kiosk.store_id}")

    answer = manifest(kiosk)

    assert kiosk.content_key == ContentKeys(hq.settings.content_key_dir).current().key
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert answer.headers["ETag"] == f'"{hashlib.sha256(answer.content).hexdigest()}"'
    payload = manifest_payload(answer.json(), kiosk.content_key)
    assert (payload["release"], payload["store"], payload["kiosk"]) == (
        release.release_id,
        kiosk.store_id,
        kiosk.kiosk_id,
    )


def test_polling_with_the_etag_gets_304_until_a_new_release(
    hq: Hq, publisher: Publisher, bundle: Path
) -> None:
    kiosk = hq.kiosk()
    publisher.publish(bundle, f"store:{kiosk.store_id}")
    first = manifest(kiosk)
    etag = first.headers["ETag"]

    again = manifest(kiosk, **{"If-None-Match": etag})
    listed = manifest(kiosk, **{"If-None-Match": f'"0000", W/{etag}'})
    newer = publisher.publish(bundle, f"store:{kiosk.store_id}", name="newer")
    changed = manifest(kiosk, **{"If-None-Match": etag})

    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", etag)
    assert listed.status_code == 304
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert manifest_payload(changed.json(), kiosk.content_key)["release"] == newer.release_id


def test_a_kiosk_with_no_release_for_it_gets_404(hq: Hq) -> None:
    answer = manifest(hq.kiosk())

    assert answer.status_code == 404
    assert answer.json() == {"detail": "no release for this kiosk"}


def test_another_stores_kiosk_gets_only_its_own_stores_manifest(
    hq: Hq, publisher: Publisher, bundle: Path, tmp_path: Path
) -> None:
    ours, theirs = hq.kiosk(), hq.kiosk()
    other = sample_bundle(tmp_path / "other", products=4, release="theirs-1")
    edit_json(other, "playlist.json", lambda doc: doc["items"][0].update(seconds=42))
    mine = publisher.publish(bundle, f"store:{ours.store_id}")
    their_release = publisher.publish(other, f"store:{theirs.store_id}")

    ours_payload = manifest_payload(manifest(ours).json(), ours.content_key)
    theirs_payload = manifest_payload(manifest(theirs).json(), theirs.content_key)

    assert (ours_payload["release"], ours_payload["store"]) == (mine.release_id, ours.store_id)
    assert (theirs_payload["release"], theirs_payload["store"]) == (
        their_release.release_id,
        theirs.store_id,
    )
    assert ours_payload["files"] != theirs_payload["files"]


def test_content_is_for_kiosks_with_a_valid_token(hq: Hq) -> None:
    attendant_code = issue_code(hq.database_url, new_store_id(), role="attendant")
    attendant = enrol(hq.base_url, attendant_code).json()

    nobody = requests.get(f"{hq.base_url}/v1/content/manifest", timeout=30)
    staff = requests.get(
        f"{hq.base_url}/v1/content/manifest",
        headers={"Authorization": f"Bearer {attendant['token']}"},
        timeout=30,
    )

    assert nobody.status_code == 401
    assert staff.status_code == 403
    assert "content_key" not in attendant


def test_an_asset_comes_whole_or_in_the_range_asked_for(
    hq: Hq, publisher: Publisher, bundle: Path
) -> None:
    kiosk = hq.kiosk()
    publisher.publish(bundle, f"store:{kiosk.store_id}")
    payload = manifest_payload(manifest(kiosk).json(), kiosk.content_key)
    entry = max(payload["files"], key=lambda file: file["size"])
    data = (bundle / entry["path"]).read_bytes()
    sha = entry["sha256"]

    whole = asset(kiosk, sha)
    rest = asset(kiosk, sha, Range="bytes=1000-", **{"If-Range": f'"{sha}"'})
    changed = asset(kiosk, sha, Range="bytes=1000-", **{"If-Range": '"another"'})
    past_end = asset(kiosk, sha, Range=f"bytes={len(data)}-")

    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["ETag"] == f'"{sha}"'
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert rest.status_code == 206
    assert rest.content == data[1000:]
    assert rest.headers["Content-Range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    assert changed.status_code == 200
    assert changed.content == data
    assert past_end.status_code == 416
    assert past_end.headers["Content-Range"] == f"bytes */{len(data)}"


def test_an_unknown_or_malformed_asset_hash_is_404(hq: Hq) -> None:
    kiosk = hq.kiosk()

    assert asset(kiosk, "ab" * 32).status_code == 404
    assert asset(kiosk, "not-a-hash").status_code == 404
    assert asset(kiosk, "AB" * 32).status_code == 404


def failure(release: int | None, reason: str = "signature", **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "release": release,
        "reason": reason,
        "detail": "manifest signed by an unknown key",
        "at": datetime.now(UTC).isoformat(),
        **extra,
    }


def test_status_reports_are_kept_latest_and_failures_once(
    hq: Hq, publisher: Publisher, bundle: Path
) -> None:
    kiosk = hq.kiosk()
    release = publisher.publish(bundle, f"store:{kiosk.store_id}").release_id
    signature = failure(release)
    body = {
        "active": None,
        "ready": [],
        "downloading": {"release": release, "bytes_done": 5000, "bytes_total": 900000},
        "failures": [signature],
    }

    first = status(kiosk, body)
    again = status(kiosk, body)
    done = status(kiosk, {"active": release, "ready": [], "downloading": None, "failures": []})

    assert first.status_code == 200
    assert first.json() == again.json() == {"accepted": [signature["id"]]}
    assert done.json() == {"accepted": []}
    assert hq.count(content_failures, kiosk_id=kiosk.kiosk_id) == 1
    assert hq.count(kiosk_content_status, kiosk_id=kiosk.kiosk_id) == 1
    rollout = admin(hq, "GET", f"/releases/{release}/rollout").json()
    (mine,) = [entry for entry in rollout["kiosks"] if entry["kiosk_id"] == kiosk.kiosk_id]
    assert mine["state"] == "running"
    assert [item["reason"] for item in mine["failures"]] == ["signature"]


@pytest.mark.parametrize(
    "body",
    [
        {"failures": [failure(1, reason="gremlins")]},
        {"failures": [failure(1, detail="x" * 301)]},
        {"failures": [failure(1, id="not-a-uuid")]},
        {"active": 0},
        {"ready": [1] * 21},
        {"downloading": {"release": 1, "bytes_done": -1, "bytes_total": 10}},
        {"surprise": True},
        [],
    ],
)
def test_a_malformed_status_report_is_422_and_stores_nothing(hq: Hq, body: Any) -> None:
    kiosk = hq.kiosk()

    answer = status(kiosk, body)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][0] == "body"
    assert hq.count(content_failures, kiosk_id=kiosk.kiosk_id) == 0
    assert hq.count(kiosk_content_status, kiosk_id=kiosk.kiosk_id) == 0


def test_staff_publish_an_uploaded_archive_and_list_it(hq: Hq, bundle: Path) -> None:
    kiosk = hq.kiosk()

    published = admin(
        hq,
        "POST",
        "/releases",
        params={"to": f"store:{kiosk.store_id}", "name": "Uploaded", "by": "ana"},
        data=tar_gz(bundle),
        headers={"Content-Type": "application/gzip"},
    )
    listed = admin(hq, "GET", "/releases")

    assert published.status_code == 201, published.text
    release = published.json()["release"]
    assert (release["name"], release["target"], release["created_by"]) == (
        "Uploaded",
        f"store:{kiosk.store_id}",
        "ana",
    )
    assert release["release"] in [entry["release"] for entry in listed.json()["releases"]]
    payload = manifest_payload(manifest(kiosk).json(), kiosk.content_key)
    assert payload["release"] == release["release"]
    audit = admin(hq, "GET", "/audit").json()["entries"]
    assert {"actor": "ana", "action": "content.publish"}.items() <= audit[0].items()


def zip_with(entries: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = 0o120777 << 16  # a symbolic link
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def tar_with_link() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("bundle/catalog.json")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        archive.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("archive", "words"),
    [
        (zip_with({"../escape.json": b"{}"}), "a path outside the bundle"),
        (zip_with({"/etc/cron.d/x": b"{}"}), "a path outside the bundle"),
        (zip_with({"manifest.json": b"{}"}, link="catalog.json"), "is a link or a special file"),
        (tar_with_link(), "is a link or a special file"),
        (b"this is not an archive", "not a tar or zip archive"),
        (b"", "the request body is empty"),
    ],
)
def test_an_unsafe_or_broken_upload_is_refused_and_publishes_nothing(
    hq: Hq, archive: bytes, words: str
) -> None:
    before = admin(hq, "GET", "/releases").json()["releases"]

    answer = admin(hq, "POST", "/releases", params={"to": "all"}, data=archive)

    assert answer.status_code == 422
    assert words in answer.json()["detail"]["message"]
    assert admin(hq, "GET", "/releases").json()["releases"] == before


def test_an_uploaded_bad_bundle_is_refused_with_every_problem(
    hq: Hq, bundle: Path, tmp_path: Path
) -> None:
    broken = sample_bundle(tmp_path / "broken", products=4)
    edit_json(broken, "catalog.json", lambda doc: doc["products"][0]["price"].update(amount="1"))

    answer = admin(hq, "POST", "/releases", params={"to": "all"}, data=tar_gz(broken, top=None))

    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail["message"] == "1 problem(s) in content bundle:"
    assert len(detail["problems"]) == 1
    assert detail["problems"][0].startswith("catalog.json: products[0].price.amount: ")


def test_staff_revoke_and_the_kiosk_moves_forward_to_the_previous_content(
    hq: Hq, publisher: Publisher, bundle: Path, tmp_path: Path
) -> None:
    kiosk = hq.kiosk()
    good = publisher.publish(bundle, f"store:{kiosk.store_id}")
    bad_bundle = sample_bundle(tmp_path / "bad", products=4, release="bad-1")
    edit_json(bad_bundle, "playlist.json", lambda doc: doc["items"][0].update(seconds=99))
    bad = publisher.publish(bad_bundle, f"store:{kiosk.store_id}")

    revoked = admin(hq, "POST", f"/releases/{bad.release_id}/revoke", json={"by": "ana"})
    twice = admin(hq, "POST", f"/releases/{bad.release_id}/revoke")
    unknown = admin(hq, "POST", "/releases/999999/revoke")

    assert revoked.status_code == 200
    replacement = revoked.json()["replacement"]
    assert replacement["reverts"] == bad.release_id
    payload = manifest_payload(manifest(kiosk).json(), kiosk.content_key)
    assert payload["release"] == replacement["release"] > bad.release_id > good.release_id
    good_files = {e["path"]: e["sha256"] for e in read_json(bundle, "manifest.json")["assets"]}
    assert {e["path"]: e["sha256"] for e in payload["files"]} == good_files
    assert twice.status_code == 409
    assert unknown.status_code == 404


def test_staff_edit_prices_through_the_api(hq: Hq, publisher: Publisher, bundle: Path) -> None:
    kiosk = hq.kiosk()
    base = publisher.publish(bundle, f"store:{kiosk.store_id}")
    sku = read_json(bundle, "catalog.json")["products"][0]["sku"]

    edited = admin(
        hq,
        "POST",
        f"/releases/{base.release_id}/edit",
        json={"edits": [{"sku": sku, "price": "1999.00", "in_stock": False}], "by": "ana"},
    )
    unknown = admin(
        hq, "POST", f"/releases/{base.release_id}/edit", json={"edits": [{"sku": "NOPE"}]}
    )

    assert edited.status_code == 201, edited.text
    payload = manifest_payload(manifest(kiosk).json(), kiosk.content_key)
    assert payload["release"] == edited.json()["release"]["release"]
    catalog_sha = {e["path"]: e["sha256"] for e in payload["files"]}["catalog.json"]
    catalog = json.loads(asset(kiosk, catalog_sha).content)
    assert (catalog["products"][0]["price"]["amount"], catalog["products"][0]["in_stock"]) == (
        "1999.00",
        False,
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"]["problems"] == ["catalog.json: no product with SKU 'NOPE'"]


def test_the_admin_content_api_needs_the_admin_token(hq: Hq) -> None:
    answer = requests.get(f"{hq.base_url}/v1/admin/content/releases", timeout=30)
    kiosk = hq.kiosk()
    as_kiosk = kiosk.session.get(f"{hq.base_url}/v1/admin/content/releases", timeout=30)

    assert answer.status_code == 401
    assert as_kiosk.status_code == 401
