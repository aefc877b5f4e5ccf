"""Which window is where on an X display, and which one has the keyboard.

The desktop driver asks before it types (is the window in front the one this screen shows in?)
and before it clicks (is the spot covered by another window, a pop-up list say?). X lists the
root window's children bottom to top; under a window manager a frame holds the titled window.
"""

from __future__ import annotations

from dataclasses import dataclass

from .screen_match import Box


@dataclass(frozen=True)
class ShownWindow:
    title: str          # '' for an untitled window
    box: Box
    popup: bool         # override-redirect: a menu, a pop-up list, a tooltip, never a screen of its own
    id: int = 0         # the X window's id: the same window keeps it when its title changes


def _title(window) -> str | None:
    name = window.get_wm_name()
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return name or None


def _titled(window) -> str | None:
    """A top-level window's title: its own, or (under a window manager) its frame's child's."""
    found = _titled_window(window)
    return found[0] if found else None


def _titled_window(window) -> tuple[str, int] | None:
    """A top-level window's title and the id of the window that carries it (under a window manager,
    the program's window inside the frame): the id that stays when the title changes."""
    name = _title(window)
    if name is not None:
        return name, window.id
    return next(((n, c.id) for c in window.query_tree().children if (n := _title(c))), None)


def windows_on_screen(x, titled_only: bool = False) -> list[ShownWindow]:
    """Shown top-level windows, bottom to top."""
    from Xlib import X, error as xerror

    found = []
    for child in x.screen().root.query_tree().children:
        try:
            attributes = child.get_attributes()
            if attributes.map_state != X.IsViewable:
                continue
            name, own = _titled_window(child) or ("", child.id)
            if titled_only and not name:
                continue
            g = child.get_geometry()
            found.append(ShownWindow(name, Box(g.x, g.y, g.width, g.height), bool(attributes.override_redirect), own))
        except xerror.XError:  # a window closing while we look
            continue
    return found


def window_at(windows: list[ShownWindow], point: tuple[int, int]) -> ShownWindow | None:
    """The topmost window containing the point, None over the bare screen."""
    for window in reversed(windows):
        box = window.box
        if box.x <= point[0] < box.x + box.width and box.y <= point[1] < box.y + box.height:
            return window
    return None


def focused_window(x) -> tuple[str, int] | None:
    """The title ('' for none) and id of the top-level window that has the keyboard, or None when no
    window does."""
    from Xlib import X, error as xerror

    root = x.screen().root
    try:
        window = x.get_input_focus().focus
        if isinstance(window, int) or window in (X.NONE, X.PointerRoot) or window == root:
            return None
        while True:
            name = _title(window)
            if name:
                return name, window.id
            parent = window.query_tree().parent
            if parent is None or parent == root or parent == X.NONE:
                return _titled_window(window) or ("", window.id)   # an untitled window (a toolkit's helper)
            window = parent
    except xerror.XError:  # the focused window went away while we looked
        return None


def shown_by_id(x, ids: set[int]) -> list:
    """Those of the windows with these ids that are still shown."""
    from Xlib import X, error as xerror

    shown = []
    for window_id in ids:
        window = x.create_resource_object("window", window_id)
        try:
            if window.get_attributes().map_state == X.IsViewable:
                shown.append(window)
        except xerror.XError:   # gone
            continue
    return shown


def title_matches(title: str | None, wanted: tuple[str, ...]) -> bool:
    return title is not None and any(title.startswith(w) for w in wanted)


def titled_windows(x, title: str) -> list:
    """The shown client windows whose title starts with `title` (under a window manager, the titled
    window inside each frame): what a person would close."""
    from Xlib import X, error as xerror

    found = []

    def visit(window, depth: int) -> None:
        try:
            name = _title(window)
            if name and name.startswith(title) and window.get_attributes().map_state == X.IsViewable:
                found.append(window)
                return
            if depth < 2:   # under a window manager the app's window is a grandchild of the root
                for child in window.query_tree().children:
                    visit(child, depth + 1)
        except xerror.XError:   # a window closing while we look
            return

    visit(x.screen().root, 0)
    return found


def window_pid(x, window) -> int | None:
    """The process that owns a window, as it says itself (_NET_WM_PID); None when it does not say."""
    from Xlib import X, error as xerror

    try:
        value = window.get_full_property(x.intern_atom("_NET_WM_PID"), X.AnyPropertyType)
    except xerror.XError:
        return None
    return int(value.value[0]) if value is not None and len(value.value) else None


def ask_to_close(x, window) -> bool:
    """What the window's close button does (ICCCM WM_DELETE_WINDOW): the program quits its own way,
    saving and removing its lock files, or asks first. False when the window does not take the request."""
    from Xlib import X, error as xerror
    from Xlib.protocol import event

    try:
        protocols = x.intern_atom("WM_PROTOCOLS")
        delete = x.intern_atom("WM_DELETE_WINDOW")
        if delete not in (window.get_wm_protocols() or []):
            return False
        window.send_event(event.ClientMessage(window=window, client_type=protocols,
                                              data=(32, [delete, X.CurrentTime, 0, 0, 0])))
        x.flush()
        return True
    except xerror.XError:
        return False


def pointer_held(x) -> bool:
    """Whether a program holds the mouse (an open pop-up list or menu grabs it): the next click then goes
    to that program to close its pop-up, wherever it lands. Found by asking for the mouse ourselves."""
    from Xlib import X

    status = x.screen().root.grab_pointer(False, X.ButtonPressMask, X.GrabModeAsync, X.GrabModeAsync,
                                          X.NONE, X.NONE, X.CurrentTime)
    if status == X.GrabSuccess:
        x.ungrab_pointer(X.CurrentTime)
        x.sync()
        return False
    return status == X.AlreadyGrabbed
