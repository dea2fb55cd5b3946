"""Qt tests free their widgets on the GUI thread (see helpers.gui_thread)."""

from helpers.gui_thread import collect_on_the_gui_thread

__all__ = ["collect_on_the_gui_thread"]
