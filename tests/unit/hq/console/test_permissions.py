"""Who may do what in the console: permission_allowed, the one question (pure)."""

from __future__ import annotations

import pytest

from hq.console.permissions import Action, Reach, permission_allowed, visible_stores
from hq.console.staff import Role, Staff

ADMIN = Staff(1, "a@hq.example", "A", Role.CHAIN_ADMIN)
EDITOR = Staff(2, "e@hq.example", "E", Role.CONTENT_EDITOR)
MANAGER = Staff(3, "m@hq.example", "M", Role.STORE_MANAGER, frozenset({"sh-xujiahui"}))
OWN = Reach.store("sh-xujiahui")
OTHER = Reach.store("bj-sanlitun")
EAST = Reach.of({"sh-xujiahui", "sh-nanjing-road"}, open_ended=True)
ONLY_MINE_BUT_A_REGION = Reach.of({"sh-xujiahui"}, open_ended=True)


@pytest.mark.parametrize("action", list(Action))
def test_a_chain_admin_may_do_everything(action: Action) -> None:
    assert permission_allowed(ADMIN, action, OTHER)


def test_a_content_editor_publishes_and_rolls_back_anywhere_but_sees_no_audit_or_staff() -> None:
    for action in (Action.VIEW, Action.PUBLISH, Action.REVOKE):
        assert permission_allowed(EDITOR, action, EAST)
    assert not permission_allowed(EDITOR, Action.VIEW_AUDIT)
    assert not permission_allowed(EDITOR, Action.MANAGE_STAFF)


def test_a_store_manager_sees_what_reaches_their_store_and_nothing_else() -> None:
    assert permission_allowed(MANAGER, Action.VIEW, OWN)
    assert permission_allowed(MANAGER, Action.VIEW, EAST)  # a region release runs on their kiosks
    assert not permission_allowed(MANAGER, Action.VIEW, OTHER)


def test_a_store_manager_publishes_and_rolls_back_only_to_their_own_store_by_name() -> None:
    for action in (Action.PUBLISH, Action.REVOKE):
        assert permission_allowed(MANAGER, action, OWN)
        assert not permission_allowed(MANAGER, action, OTHER)
        assert not permission_allowed(MANAGER, action, EAST)
        # A region holding only their store today may hold others tomorrow.
        assert not permission_allowed(MANAGER, action, ONLY_MINE_BUT_A_REGION)
        assert not permission_allowed(MANAGER, action, None)
    assert not permission_allowed(MANAGER, Action.VIEW_AUDIT)


def test_nobody_signed_in_and_a_disabled_account_may_do_nothing() -> None:
    disabled = Staff(4, "d@hq.example", "D", Role.CHAIN_ADMIN, disabled=True)
    for actor in (None, disabled):
        assert not permission_allowed(actor, Action.VIEW, OWN)


def test_visible_stores_keeps_a_store_managers_own() -> None:
    assert visible_stores(MANAGER, ["bj-sanlitun", "sh-xujiahui"]) == ["sh-xujiahui"]
    assert visible_stores(EDITOR, ["bj-sanlitun", "sh-xujiahui"]) == ["bj-sanlitun", "sh-xujiahui"]
