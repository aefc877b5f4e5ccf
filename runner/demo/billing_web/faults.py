"""Faults BILLSYS injects on request, as real legacy screens misbehave, each one logged in its `faults` table.

- drop_keys: a share of fast bursts of typing loses a character (an input-mask script that cannot keep
  up); characters typed one at a time are kept.
- autocomplete: the customer code shows a suggestion list under it while it is typed; the list covers
  the fields below for a moment and a click on it picks a customer.
- shuffle_lists: a search matches on the first 8 characters of the reference, as fixed-width legacy keys
  do, and lists its rows in no fixed order, so the newest row is not where the last one was.
- repeat_ids: after a share of saves the number shown does not move on: it is the one shown after the
  save before (a stale id column).

A bot is right when, with every fault on, BILLSYS holds exactly what the input says and every fault
was corrected or sent to a person.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass


@dataclass
class BillingFaults:
    drop_keys: float = 0.0      # share of multi-character inputs that lose one character
    autocomplete: bool = False  # suggestion list under the customer code
    repeat_ids: float = 0.0     # share of saves that show the number shown last, not the record's own
    autocomplete_ms: int = 700  # how long the suggestion list stays after the last keystroke
    shuffle_lists: bool = False # searches match the first 8 characters and list rows in no fixed order
    drop_fields: tuple[str, ...] = ()  # only these fields lose characters (default: every text field)

    @property
    def any(self) -> bool:
        return bool(self.drop_keys or self.autocomplete or self.repeat_ids or self.shuffle_lists)


FAULTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,          -- drop_keys, autocomplete, repeat_ids
    screen TEXT NOT NULL,
    field TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
"""


class RepeatedNumbers:
    """The number shown after a save: now and then the one shown before it."""

    def __init__(self, rate: float, seed: int | None):
        self.rate = rate
        self.chance = random.Random(seed)
        self.last: dict[str, str] = {}
        self.lock = threading.Lock()

    def shown(self, kind: str, number: str) -> tuple[str, bool]:
        """A stale display: the number does not move on from the one shown last."""
        with self.lock:
            previous = self.last.get(kind)
            if previous and self.rate and self.chance.random() < self.rate:
                return previous, True
            self.last[kind] = number
            return number, False


# The page script: what the faults do in the browser. Events go to /faults so the database knows them.
FAULT_SCRIPT = """
(() => {
  const cfg = %(config)s;
  const fieldOf = el => cfg.names[el.name] || el.name || '';
  const report = (kind, field, detail) => {
    fetch('/faults', {method: 'POST', keepalive: true, headers: {'Content-Type': 'application/json'},
                      body: JSON.stringify({kind, screen: cfg.screen, field, detail})});
  };
  if (cfg.drop_keys > 0) {
    document.addEventListener('input', e => {
      const el = e.target;
      if (!el || !['INPUT', 'TEXTAREA'].includes(el.tagName) || el.type === 'password') return;
      if (cfg.drop_fields.length && !cfg.drop_fields.includes(fieldOf(el))) return;
      if (!e.data || e.data.length < 2 || Math.random() >= cfg.drop_keys) return;
      const at = 1 + Math.floor(Math.random() * (el.value.length - 1));
      const lost = el.value[at];
      el.value = el.value.slice(0, at) + el.value.slice(at + 1);
      report('drop_keys', fieldOf(el), 'lost ' + JSON.stringify(lost) + ' at ' + at);
    }, true);
  }
  if (cfg.autocomplete) {
    const field = document.querySelector('input[name="' + cfg.customer_field + '"]');
    if (!field) return;
    const list = document.createElement('div');
    list.id = 'suggestions';
    list.style.cssText = 'position:absolute;display:none;background:#ffffe1;border:1px solid #000;' +
                         'font:12px monospace;z-index:10;width:260px;max-height:150px;overflow:hidden';
    document.body.appendChild(list);
    let timer = null;
    const hide = () => { list.style.display = 'none'; };
    field.addEventListener('input', () => {
      const typed = field.value.toUpperCase();
      const matches = cfg.customers.filter(c => c[0].startsWith(typed.slice(0, 2)));
      list.innerHTML = '';
      matches.slice(0, 8).forEach(c => {
        const row = document.createElement('div');
        row.textContent = c[0] + '  ' + c[1];
        row.style.padding = '2px';
        row.addEventListener('mousedown', ev => {
          ev.preventDefault();
          report('autocomplete', 'customer_code', 'picked ' + c[0] + ' from the list over ' + field.value);
          field.value = c[0];
          hide();
        });
        list.appendChild(row);
      });
      const box = field.getBoundingClientRect();
      list.style.left = (box.left + window.scrollX) + 'px';
      list.style.top = (box.bottom + window.scrollY) + 'px';
      if (matches.length && list.style.display === 'none') {
        report('autocomplete', 'customer_code', 'list shown over the fields below');
      }
      list.style.display = matches.length ? 'block' : 'none';
      clearTimeout(timer);
      timer = setTimeout(hide, cfg.autocomplete_ms);
    });
  }
})();
"""


def fault_script(faults: BillingFaults, screen: str, names: dict[str, str], customers: list[tuple[str, str]]) -> str:
    """The script that makes an entry screen misbehave as configured ('' when no fault applies)."""
    if not (faults.drop_keys or faults.autocomplete):
        return ""
    config = {"screen": screen, "drop_keys": faults.drop_keys, "autocomplete": faults.autocomplete,
              "autocomplete_ms": faults.autocomplete_ms, "names": {v: k for k, v in names.items()},
              "drop_fields": list(faults.drop_fields),
              "customer_field": names.get("customer_code", ""), "customers": customers}
    return FAULT_SCRIPT % {"config": json.dumps(config)}
