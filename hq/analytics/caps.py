"""Prize draws' daily caps, for the "wins against caps" chart: from the content HQ published.

Kiosks report each draw and its prize, not the caps they drew under; the caps are
in the content bundle's prizes.json (content.model.Prize.daily_cap: wins per
kiosk and local day). HQ holds every release's files, so the chart takes the caps
of the newest release that has prize draws and is not revoked. A store still on
an older release may draw under other caps: the chart says which release it used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import Connection, select

from content.bundle import PRIZES
from content.model import PrizeDraws
from hq.content.assets import AssetStore
from hq.db import content_release_files, content_releases

_log = logging.getLogger("hq.analytics")


@dataclass(frozen=True, slots=True)
class DrawCaps:
    release_id: int | None = None  # None: no release has prize draws
    caps: dict[tuple[str, str], int] = field(default_factory=dict)  # (draw, prize): daily cap


def draw_caps(connection: Connection, assets: AssetStore) -> DrawCaps:
    found = connection.execute(
        select(content_release_files.c.release_id, content_release_files.c.sha256)
        .join(content_releases, content_releases.c.release_id == content_release_files.c.release_id)
        .where(content_release_files.c.path == PRIZES, content_releases.c.revoked_at.is_(None))
        .order_by(content_release_files.c.release_id.desc())
        .limit(1)
    ).first()
    if found is None:
        return DrawCaps()
    release_id, sha256 = found
    try:
        with assets.open(sha256) as stream:
            draws = PrizeDraws.model_validate_json(stream.read())
    except (OSError, ValidationError) as error:  # a release's own check passed: say so, go on
        _log.warning("release %d's prizes.json unreadable: %s", release_id, type(error).__name__)
        return DrawCaps(release_id)
    return DrawCaps(
        int(release_id),
        {(draw.id, prize.id): prize.daily_cap for draw in draws.draws for prize in draw.prizes},
    )
