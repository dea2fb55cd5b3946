"""Publishing: a bundle uploaded as tar or zip, or an edit of a release's prices and stock.

    GET  /console/publish[.json]           the upload form (targets the actor may use)
    POST /console/publish[.json]           multipart: csrftoken FIRST, bundle, name,
                                           target_kind + region|tag|store, not_before, expires
    GET  /console/publish/edit[.json]?base=N   the products of release N, prices and stock
    POST /console/publish/edit[.json]      base, price-<sku>, stock-<sku> (present = in
                                           stock), target, schedule: a new release

A store manager publishes only to one of their own stores (the form offers no
other target; a forged one is a 403). The bundle is checked by HQ's content
service as every kiosk checks it; a refused bundle comes back with every
problem named and nothing published.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from starlette.routing import BaseRoute

from hq.console.permissions import Action, Reach, permission_allowed
from hq.console.reach import Fleet, read_fleet
from hq.console.release_docs import catalog_rows
from hq.console.staff import Role, Staff
from hq.console.views.base import Ask, BadRequest, Console, Forbidden, Page, Redirect, routes
from hq.console.views.shared import (
    default_target_kind,
    find_release,
    flash,
    target_from_form,
    time_from_form,
)
from hq.content import upload
from hq.content.releases import (
    ProductEdit,
    Published,
    PublishRefused,
    list_releases,
    publish_edit,
)
from hq.content.selection import release_heads
from hq.content.targeting import ReleaseHead, served
from hq.errors import HqError

NAME_MAX: Final = 200
COPY_CHUNK: Final = 1 << 20


# ---------------------------------------------------------------- upload


def publish_page(console: Console, ask: Ask) -> Page | Redirect:
    actor = ask.signed_in()
    with console.database.read() as connection:
        fleet = read_fleet(connection)
    if ask.request.method == "GET":
        _may_publish_somewhere(actor)
        return _upload_form(actor, fleet)
    target = target_from_form(ask)
    ask.require(Action.PUBLISH, fleet.reach(target))
    not_before = time_from_form(ask, "not_before", console.zone)
    expires = time_from_form(ask, "expires", console.zone)
    name = ask.field("name").strip()[:NAME_MAX] or None
    bundle = ask.file("bundle")
    if bundle is None or not bundle.filename:
        raise BadRequest("Choose the bundle to upload: a .tar.gz or .zip of a bundle folder.")
    scratch = Path(tempfile.mkdtemp(prefix="hq-console-upload-", dir=console.upload_dir))
    try:
        archive = scratch / "upload"
        # The staff member's bundle, as uploaded: HQ's eyes only, like the data directory.
        with os.fdopen(os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as copy:
            shutil.copyfileobj(bundle.file, copy, COPY_CHUNK)
        published = upload.publish_archive(
            console.database,
            console.content.assets,
            console.content.keys,
            archive,
            scratch=scratch,
            target=target,
            not_before=not_before,
            expires=expires,
            name=name,
            by=actor.actor,
            now=ask.now,
        )
    except PublishRefused as refused:
        raise BadRequest(str(refused), problems=refused.problems) from None
    except HqError as error:  # an archive HQ does not unpack (UploadRefused), a bad target
        raise BadRequest(str(error)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _published(ask, published)


def _upload_form(actor: Staff, fleet: Fleet) -> Page:
    return Page(
        "publish.html",
        {"targets": _targets(actor, fleet), "default_kind": default_target_kind(actor)},
        title="Publish a release",
        section="publish",
    )


def _published(ask: Ask, published: Published) -> Redirect:
    info = published.release
    flash(
        ask,
        "warn" if published.warnings else "good",
        f"Release {info.release_id} published to {info.target}.",
        published.warnings,
    )
    return Redirect(f"{ask.base}/releases/{info.release_id}/rollout", published.as_json(), 201)


def _targets(actor: Staff, fleet: Fleet) -> dict[str, Any]:
    """What the target picker offers: every kind for editors, own stores for managers."""
    mine = sorted(fleet.for_actor(actor).labels)
    if actor.role == Role.STORE_MANAGER:
        return {"kinds": ["store"], "regions": [], "tags": [], "stores": _named(fleet, mine)}
    return {
        "kinds": ["all", "region", "tag", "store"],
        "regions": fleet.regions,
        "tags": fleet.tags,
        "stores": _named(fleet, sorted(fleet.labels)),
    }


def _named(fleet: Fleet, store_ids: list[str]) -> list[dict[str, str]]:
    return [{"id": store, "name": fleet.store_names.get(store) or store} for store in store_ids]


def _may_publish_somewhere(actor: Staff) -> None:
    """Forbidden unless some target is theirs: a store manager's own store, or any."""
    somewhere = (
        Reach.store(min(actor.stores))
        if actor.role == Role.STORE_MANAGER and actor.stores
        else Reach.of((), open_ended=True)
    )
    if not permission_allowed(actor, Action.PUBLISH, somewhere):
        raise Forbidden()


# ---------------------------------------------------------------- edit


def edit_page(console: Console, ask: Ask) -> Page | Redirect:
    actor = ask.signed_in()
    _may_publish_somewhere(actor)
    with console.database.read() as connection:
        fleet = read_fleet(connection)
        heads = release_heads(connection)
    base_text = ask.field("base")
    if base_text:
        try:
            base_number = int(base_text)
        except ValueError:
            raise BadRequest("base: a release number") from None
    else:
        base_number = _current_for(actor, fleet, heads)
    base = find_release(console.database, base_number)
    # To edit a release one must be able to see it; what the edit reaches is asked below.
    ask.require(Action.VIEW, fleet.reach(base.target))
    if base.reverts is not None:
        raise BadRequest(
            f"Release {base.release_id} is a rollback: edit the release its kiosks went back to."
        )
    products = catalog_rows(console.database, console.content.assets, base.release_id)
    if ask.request.method == "GET":
        return Page(
            "edit.html",
            {
                "edited": base.as_json(),
                "products": products,
                "targets": _targets(actor, fleet),
                "default_kind": base.target.kind if actor.role != Role.STORE_MANAGER else "store",
                "default_value": base.target.value or "",
                "bases": [
                    {"release": info.release_id, "name": info.name, "target": str(info.target)}
                    for info in list_releases(console.database, limit=50)
                    if info.reverts is None
                    and info.revoked_at is None
                    and permission_allowed(actor, Action.VIEW, fleet.reach(info.target))
                ],
            },
            title="Edit prices and stock",
            section="publish",
        )
    target = target_from_form(ask)
    ask.require(Action.PUBLISH, fleet.reach(target))
    edits = _edits(ask, products)
    if not edits:
        raise BadRequest("Nothing was changed: change a price or a stock mark first.")
    try:
        published = publish_edit(
            console.database,
            console.content.assets,
            console.content.keys,
            base.release_id,
            edits,
            target=target,
            not_before=time_from_form(ask, "not_before", console.zone),
            expires=time_from_form(ask, "expires", console.zone),
            name=ask.field("name").strip()[:NAME_MAX] or None,
            by=actor.actor,
            now=ask.now,
        )
    except PublishRefused as refused:
        raise BadRequest(str(refused), problems=refused.problems) from None
    except HqError as error:
        raise BadRequest(str(error)) from None
    return _published(ask, published)


def _current_for(actor: Staff, fleet: Fleet, heads: list[ReleaseHead]) -> int:
    """The release to edit when none is named: what the actor's first store gets now
    (a store manager), or the newest release that is not a rollback (everyone else)."""
    if actor.role == Role.STORE_MANAGER:
        for store in sorted(fleet.for_actor(actor).labels):
            chosen = served(heads, fleet.labels[store])
            if chosen is not None and chosen.reverts is None:
                return chosen.release_id
    else:
        for head in heads:  # newest first
            if not head.revoked and head.reverts is None:
                return head.release_id
    raise BadRequest("There is no release to edit yet: publish a bundle first.")


def _edits(ask: Ask, products: list[dict[str, Any]]) -> list[ProductEdit]:
    """One ProductEdit per product whose price or stock the form changed."""
    edits = []
    as_json = ask.json_body is not None
    for product in products:
        sku = product["sku"]
        price_text = ask.field(f"price-{sku}").strip()
        price: Decimal | None = None
        if price_text:
            try:
                price = Decimal(price_text.replace(",", ""))
            except InvalidOperation:
                raise BadRequest(f"{sku}: the price {price_text!r} is not a number") from None
            if price < 0 or price.as_tuple().exponent < -2:  # type: ignore[operator]
                raise BadRequest(f"{sku}: a price is 0 or more, with at most 2 decimals")
            if price == Decimal(product["price"]):
                price = None
        if as_json:
            stock_text = ask.field(f"stock-{sku}")
            in_stock = (
                None if stock_text == "" and f"stock-{sku}" not in ask.names() else bool(stock_text)
            )
        else:
            in_stock = f"stock-{sku}" in ask.names()
        if in_stock == product["in_stock"]:
            in_stock = None
        if price is not None or in_stock is not None:
            edits.append(
                ProductEdit(sku, price=None if price is None else f"{price:.2f}", in_stock=in_stock)
            )
    return edits


def publish_routes(console: Console) -> list[BaseRoute]:
    return [
        *routes(console, "/publish", publish_page, methods=("GET", "POST")),
        *routes(console, "/publish/edit", edit_page, methods=("GET", "POST")),
    ]
