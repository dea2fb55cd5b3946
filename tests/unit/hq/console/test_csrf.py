"""Every form post and POST to the console needs the CSRF token (asgi-csrf): else 403."""

from __future__ import annotations

from helpers.console import PASSWORD, ConsoleChain, sign_in

from hq.console.staff import Role
from hq.content.releases import get_release, list_releases


def test_a_form_post_without_the_token_is_refused_and_changes_nothing(
    chain: ConsoleChain,
) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    release = chain.publish().release.release_id
    client = chain.client()
    sign_in(client, "ana@hq.example")
    forged = client.post(f"/console/releases/{release}/revoke", data={"confirm": str(release)})
    assert forged.status_code == 403
    assert "did not come from the console" in forged.text
    wrong = client.post(
        f"/console/releases/{release}/revoke",
        data={"csrftoken": "not-the-token", "confirm": str(release)},
    )
    assert wrong.status_code == 403
    assert get_release(chain.database, release).revoked_at is None


def test_a_json_post_needs_the_token_in_its_header(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    release = chain.publish().release.release_id
    client = chain.client()
    sign_in(client, "ana@hq.example")
    refused = client.post(f"/console/releases/{release}/revoke.json", json={"confirm": release})
    assert refused.status_code == 403
    assert "x-csrftoken" in refused.json()["detail"]
    done = client.post_json(f"/console/releases/{release}/revoke.json", {"confirm": release})
    assert done.status_code == 200
    assert done.json()["revoked"]["release"] == release


def test_a_forged_sign_in_without_cookies_is_refused_too(chain: ConsoleChain) -> None:
    """Login CSRF: a page elsewhere signing the browser in as the attacker."""
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    answer = client.post("/console/sign-in", data={"email": "ana@hq.example", "password": PASSWORD})
    assert answer.status_code == 403


def test_an_upload_whose_token_comes_after_the_file_is_refused(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    client = chain.client()
    sign_in(client, "ana@hq.example")
    token = client.csrf_token()
    answer = client.post(
        "/console/publish",
        files=[("bundle", ("b.tgz", b"not really", "application/gzip"))],
        data={"target_kind": "all", "csrftoken": token},
    )
    # httpx puts form fields before files; the token is first, so this reaches the view.
    assert answer.status_code == 422
    raw = (
        '--b\r\nContent-Disposition: form-data; name="bundle"; filename="b.tgz"\r\n'
        "Content-Type: application/gzip\r\n\r\nxx\r\n"
        f'--b\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\n{token}\r\n--b--\r\n'
    )
    late = client.post(
        "/console/publish",
        content=raw.encode(),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert late.status_code == 403


def test_an_upload_by_nobody_signed_in_is_refused_before_it_is_read(chain: ConsoleChain) -> None:
    client = chain.client()
    for path, status in (("/console/publish.json", 401), ("/console/sign-in.json", 422)):
        answer = client.post(
            path,
            data={"csrftoken": client.csrf_token(), "target_kind": "all"},
            files=[("bundle", ("b.tgz", b"x" * 4096, "application/gzip"))],
        )
        assert answer.status_code == status, path
    assert list_releases(chain.database) == []
