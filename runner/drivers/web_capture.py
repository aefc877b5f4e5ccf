"""Evidence from a web page: secret fields painted over by CSS in every frame, text holding a secret painted
over for one picture, and the picture taken by the browser while the engine goes on (`send_later`)."""

from __future__ import annotations

from typing import Any, Callable

SECRET_MARK = "data-backroom-secret"
# Injected into every frame of every page: password fields and the fields a recipe marked
# secret are painted over, so no screenshot can show what was typed into them. Doing it
# in CSS costs nothing per screenshot (Playwright's own mask option resolves every mask
# locator on every shot).
MASK_SCRIPT = """
(() => {
  const css = 'input[type=password], [%s] { color: transparent !important; background: #ff00ff !important;'
    + ' text-shadow: none !important; caret-color: transparent !important; -webkit-text-fill-color: transparent !important; }';
  const add = () => {
    const style = document.createElement('style');
    style.textContent = css;
    (document.head || document.documentElement).appendChild(style);
  };
  if (document.documentElement) add(); else document.addEventListener('DOMContentLoaded', add);
})();
""" % SECRET_MARK
# Text on a page that holds a secret (an error message repeating what was typed, a field not marked
# secret): painted over for one picture with boxes laid over the page, taken away after the capture.
PAINT_SECRET_TEXT = """
source => {
  const body = document.body;
  if (!body) return 0;
  const re = new RegExp(source, 'gu');
  let painted = 0;
  const paint = r => {
    if (r.width <= 0 || r.height <= 0) return;
    const box = document.createElement('div');
    box.setAttribute('data-backroom-paint', '');
    box.style.cssText = `position:fixed;left:${r.left - 2}px;top:${r.top - 2}px;width:${r.width + 4}px;`
      + `height:${r.height + 4}px;background:#ff00ff;z-index:2147483647;pointer-events:none`;
    document.documentElement.appendChild(box);
    painted += 1;
  };
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue;
    if (!text || !text.trim()) continue;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m[0].length === 0) { re.lastIndex += 1; continue; }
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      for (const r of range.getClientRects()) paint(r);
    }
  }
  for (const field of document.querySelectorAll('input, textarea')) {
    if (field.type === 'password' || field.hasAttribute('%s')) continue;
    re.lastIndex = 0;
    if (field.value && re.test(field.value)) paint(field.getBoundingClientRect());
  }
  return painted;
}
""" % SECRET_MARK
UNPAINT = "() => document.querySelectorAll('[data-backroom-paint]').forEach(e => e.remove())"


def send_later(session: Any, method: str, params: dict) -> Callable[[], dict]:
    """Send a DevTools command now and return a function that waits for its answer.

    Playwright's sync API waits for every call; a screenshot, though, need not hold up the steps after it
    that only look at the page. The command is started on Playwright's own event loop, as its sync wrapper
    does for every call, and the loop is given one turn so the command is on its way before this returns.
    Without those internals (another Playwright), the command is sent and waited for at once."""
    impl, loop, wait = (getattr(session, name, None) for name in ("_impl_obj", "_loop", "_sync"))
    if impl is None or loop is None or wait is None:
        answer = session.send(method, params)
        return lambda: answer
    task = loop.create_task(impl.send(method=method, params=params, timeout=None))
    wait(_one_turn())
    return lambda: wait(task)


async def _one_turn() -> None:
    return None
