// Backroom's web recorder, injected into every frame of every page of the recording browser.
// It reports what the builder does (clicks, typing, choices, keys, uploads, dialogs) as marked console
// messages, with candidate locators for each element already tested for
// uniqueness here, in the live document, before a click can navigate it away.
// window.__backroomKnown (set before this script) lists the selector map's elements so that an
// element already in the map is recognised whatever locator found it.
(() => {
  // Marked on the document, not the window: a pop-up's first document (about:blank) hands its window
  // over to the page it then loads, and that page needs its own listeners.
  if (document.__backroomRecorder) return;
  document.__backroomRecorder = true;
  const TOOLBAR = '__backroom_toolbar';
  // Events reach the recorder as console messages with a mark: unlike a page binding, a console
  // message also comes from the first page a pop-up loads into the window it opened with.
  const MARK = '__backroom_record__';
  const debug = console.debug.bind(console);
  function frameChain() {  // the frames from the tab down to this document, by name
    const chain = [];
    let w = window;
    try {
      while (w !== w.top) {
        const el = w.frameElement;
        chain.unshift(w.name || (el && el.id ? '#' + el.id
          : el && el.getAttribute('src') ? el.tagName.toLowerCase() + '[src="' + el.getAttribute('src') + '"]' : 'iframe'));
        w = w.parent;
      }
    } catch (e) { chain.unshift(w.name || 'iframe'); }
    return chain;
  }
  const send = event => debug(MARK + JSON.stringify(Object.assign({frames: frameChain()}, event)));
  const clean = s => (s || '').replace(/\s+/g, ' ').trim();
  // Names and ids that a server generates per session or per build change between runs.
  const unstable = v => !v || /[0-9a-f]{8,}/i.test(v) || /\d{5,}/.test(v) || /^(ext-|ember|react|ng-|mui-|:r|ui-id-\d)/.test(v)
    || /[_-]\d+$/.test(v) && /\d{3,}/.test(v);
  const inToolbar = el => !!(el && el.closest && el.closest('#' + TOOLBAR));
  const TEXT_TYPES = ['text', 'password', 'email', 'number', 'tel', 'url', 'search', 'date', 'time', 'datetime-local', 'month', 'week', ''];
  // by the type the browser gives the input: a type it does not know (type="input", as Tryton writes) is a text box
  const isTextField = el => el && ((el.tagName === 'INPUT' && TEXT_TYPES.includes((el.type || '').toLowerCase()))
    || el.tagName === 'TEXTAREA');
  // roles of things a person clicks; a click inside a region (navigation, a dialog, a tree) is on what was clicked
  const CLICKABLE = 'a[href], button, input, select, textarea, option, label, [onclick], ' + ['button', 'link',
    'menuitem', 'menuitemcheckbox', 'menuitemradio', 'tab', 'option', 'treeitem', 'row', 'gridcell', 'cell',
    'checkbox', 'radio', 'switch', 'combobox'].map(r => '[role=' + r + ']').join(', ');
  const quote = s => s.includes("'") ? (s.includes('"') ? 'concat(\'' + s.split("'").join("', \"'\", '") + '\')' : '"' + s + '"') : "'" + s + "'";
  const cssString = s => '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';

  // -- what a person would call the element ------------------------------------------------
  function ownText(el) {
    const copy = el.cloneNode(true);
    copy.querySelectorAll('input, select, textarea, script, style').forEach(c => c.remove());
    return clean(copy.textContent);
  }
  // A label's words without the marks around them: 'Name *', '* Required:' -> 'Name', 'Required'. A mark
  // alone ('*', a required-field sign) names nothing.
  const words = s => clean((s || '').replace(/[*\u2020\u2021]+|\((required|optional)\)|:\s*$/gi, ' '));
  const named = s => /[A-Za-z\u00C0-\u024F\u0400-\u04FF]/.test(words(s));
  // A cell that holds only links or buttons ('delete', 'edit'): an action beside the value, never its label.
  const actionsOnly = cell => {
    const copy = cell.cloneNode(true);
    copy.querySelectorAll('a, button, input, select, textarea').forEach(c => c.remove());
    return !clean(copy.textContent) && !!cell.querySelector('a, button, input, select, textarea');
  };
  function labelFor(el) {
    const aria = el.getAttribute && el.getAttribute('aria-label');
    if (aria && named(aria)) return {text: words(aria), raw: clean(aria), how: 'label'};
    const by = el.getAttribute && el.getAttribute('aria-labelledby');
    if (by) {
      const text = clean(by.split(/\s+/).map(id => (document.getElementById(id) || {}).textContent || '').join(' '));
      if (named(text)) return {text: words(text), raw: text, how: 'label'};
    }
    for (const label of Array.from(el.labels || [])) {
      const text = ownText(label);
      if (named(text)) return {text: words(text), raw: text, how: 'label'};
    }
    const cell = el.closest && el.closest('td, th');
    if (cell) {  // the legacy layout: the label in the cell before the field's cell
      let before = cell.previousElementSibling;
      while (before && (!named(ownText(before)) || actionsOnly(before))) before = before.previousElementSibling;
      const header = columnHeader(cell);
      // in a list under column headers, the cell to the left is another record's value, not a label
      const labelLike = before && (before.tagName === 'TH' || /:\s*$/.test(ownText(before)));
      if (before && ownText(before) && (labelLike || !header))
        return {text: words(ownText(before)), how: 'cell', cell: clean(before.textContent), cellTag: before.tagName.toLowerCase()};
      if (header) return {text: header, how: 'column'};
    }
    if (el.getAttribute && named(el.getAttribute('title'))) return {text: words(el.getAttribute('title')), how: 'title'};
    if (el.getAttribute && named(el.getAttribute('placeholder'))) return {text: words(el.getAttribute('placeholder')), how: 'placeholder'};
    return null;
  }
  function columnHeader(cell) {
    const row = cell.parentElement, table = cell.closest('table');
    if (!row || !table) return null;
    const headerRow = (table.tHead && table.tHead.rows[0])
      || Array.from(table.rows).find(r => r.cells.length && Array.from(r.cells).every(c => c.tagName === 'TH'));
    if (!headerRow || headerRow === row) return null;
    const head = headerRow.cells[cell.cellIndex];
    return head && head !== cell ? ownText(head) || null : null;
  }
  function rowOf(el) {  // the row a value stands in, for the recorder to find it by the item it shows
    const cell = el.closest && el.closest('td');
    if (!cell || !cell.parentElement) return null;
    return {cells: Array.from(cell.parentElement.cells).map(c => c.tagName === 'TD' ? clean(c.textContent) : null),
            index: cell.cellIndex};
  }
  function roleOf(el) {
    const explicit = el.getAttribute('role');
    if (explicit) return explicit;
    const tag = el.tagName, type = (el.getAttribute('type') || '').toLowerCase();
    if (tag === 'BUTTON' || (tag === 'INPUT' && ['submit', 'button', 'reset', 'image'].includes(type))) return 'button';
    if (tag === 'A' && el.hasAttribute('href')) return 'link';
    if (tag === 'SELECT') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
    if (tag === 'INPUT' && type === 'checkbox') return 'checkbox';
    if (tag === 'INPUT' && type === 'radio') return 'radio';
    if (isTextField(el) && type !== 'password') return 'textbox';
    return null;
  }
  // The accessible name in the simple cases where browsers and Playwright agree on it.
  function accessibleName(el) {
    const role = roleOf(el);
    if (role === 'button' || role === 'link') {
      const aria = el.getAttribute('aria-label');
      if (aria) return clean(aria);
      if (el.tagName === 'INPUT') return clean(el.value || (el.getAttribute('type') === 'submit' ? 'Submit' : ''));
      return clean(el.textContent) || clean(el.getAttribute('title'));
    }
    const label = labelFor(el);
    return label && label.how === 'label' ? label.raw : null;
  }
  // Class names people chose (ok-message, error, total): not layout utilities, not generated ones.
  const LAYOUT = /^(col|row|span|pull|push|offset|float|clear|text|bg|btn|m[trblxy]?|p[trblxy]?|w|h|d|flex|grid)(-|$)/;
  const semanticClasses = el => Array.from(el.classList || []).filter(c => /^[a-z][a-z-_]{2,}$/i.test(c)
    && !unstable(c) && !LAYOUT.test(c));
  function readableName(el) {
    const role = roleOf(el);
    if ((role === 'button' || role === 'link') && accessibleName(el)) return accessibleName(el);
    const label = labelFor(el);
    if (label) return label.text;
    const name = el.getAttribute('name');
    if (name && !unstable(name)) return name;
    const text = ownText(el);
    if (text && text.length <= 30 && !/\d/.test(text)) return text;
    return semanticClasses(el)[0] || el.tagName.toLowerCase();   // never a record's own text or number
  }

  // -- finding elements the way the runner will ---------------------------------------------
  const CONTROLS = 'input, select, textarea, button, a[href], [role], [aria-label], [title], td, th, span, div, b, label, font, p, li';
  function resolve(c) {
    try {
      if (c.css !== undefined) return Array.from(document.querySelectorAll(c.css));
      if (c.xpath !== undefined) {
        const r = document.evaluate(c.xpath, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
        const out = [];
        for (let i = 0; i < r.snapshotLength; i++) out.push(r.snapshotItem(i));
        return out;
      }
      if (c.title !== undefined) return Array.from(document.querySelectorAll('[title=' + cssString(c.title) + ']'));
      if (c.placeholder !== undefined) return Array.from(document.querySelectorAll('[placeholder=' + cssString(c.placeholder) + ']'));
      if (c.label !== undefined) return Array.from(document.querySelectorAll('input, select, textarea, button'))
        .filter(e => { const l = labelFor(e); return l && l.how === 'label' && l.raw === c.label; });
      if (c.role !== undefined) return Array.from(document.querySelectorAll(CONTROLS))
        .filter(e => roleOf(e) === c.role && (c.name === undefined || c.name === null || accessibleName(e) === c.name));
      if (c.text !== undefined) return Array.from(document.querySelectorAll(CONTROLS))
        .filter(e => ownText(e) === c.text && !Array.from(e.children).some(k => ownText(k) === c.text));
    } catch (e) { return []; }
    return [];
  }
  // as Playwright sees it: a box on the page and not visibility:hidden
  const shown = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  // the candidate finds the element alone, or alone among what is shown (the run takes the one shown of hidden
  // copies, as drivers/web_locators.py the_one does)
  const uniqueFor = (el, c) => {
    const found = resolve(c);
    if (found.length === 1) return found[0] === el;
    const visible = found.filter(shown);
    return visible.length === 1 && visible[0] === el;
  };

  function structuralCss(el) {
    const parts = [];
    let node = el;
    while (node && node.nodeType === 1 && node !== document.documentElement) {
      if (node.id && !unstable(node.id)) { parts.unshift('#' + CSS.escape(node.id)); break; }
      let part = node.tagName.toLowerCase();
      const parent = node.parentElement;
      if (parent) {
        const same = Array.from(parent.children).filter(k => k.tagName === node.tagName);
        if (same.length > 1) part += ':nth-of-type(' + (same.indexOf(node) + 1) + ')';
      }
      parts.unshift(part);
      node = parent;
    }
    return parts.join(' > ');
  }
  function typePredicate(el) {
    const type = el.getAttribute('type');
    return el.tagName === 'INPUT' && type && type !== 'text' ? "[@type='" + type + "']" : '';
  }
  function candidatesFor(el) {
    const out = [];
    const add = c => { if (uniqueFor(el, c) && !out.some(o => JSON.stringify(o) === JSON.stringify(c))) out.push(c); };
    const tag = el.tagName.toLowerCase();
    for (const attr of ['data-testid', 'data-test', 'data-qa', 'data-automation-id']) {
      const v = el.getAttribute(attr);
      if (v && !unstable(v)) add({css: '[' + attr + '=' + cssString(v) + ']'});
    }
    if (el.id && !unstable(el.id)) add({css: '#' + CSS.escape(el.id)});
    const name = el.getAttribute('name');
    if (name && !unstable(name)) add({css: tag + '[name=' + cssString(name) + ']'});
    const role = roleOf(el), accName = role ? accessibleName(el) : null;
    if (role && accName) add({role, name: accName});
    const label = labelFor(el);
    if (label && label.how === 'label') add({label: label.raw});
    if (el.getAttribute('title')) add({title: el.getAttribute('title')});
    if (el.getAttribute('placeholder')) add({placeholder: el.getAttribute('placeholder')});
    if (label && label.how === 'cell' && role !== 'button' && role !== 'link') {
      const cell = el.closest('td, th');
      const head = "//" + label.cellTag + "[normalize-space()=" + quote(label.cell) + "]/following-sibling::"
        + cell.tagName.toLowerCase() + "[1]";
      const near = el === cell ? head : head + '//' + tag + typePredicate(el);
      if (uniqueFor(el, {xpath: near})) add({xpath: near});
      else if (el !== cell) add({xpath: '(' + near + ')[1]'});
    }
    const href = el.tagName === 'A' && el.getAttribute('href');
    if (href && !/\d/.test(href) && !/^(#|javascript:)/i.test(href)) add({css: 'a[href=' + cssString(href) + ']'});
    for (const cls of semanticClasses(el)) add({css: tag + '.' + CSS.escape(cls)});
    if (!(el.id && !unstable(el.id)) && !semanticClasses(el).length) {
      // a plain element inside one someone named (the message shown after saving: p.ok-message span)
      for (let up = el.parentElement, depth = 0; up && up !== document.body && depth < 3; up = up.parentElement, depth++) {
        const cls = semanticClasses(up)[0];
        const anchor = up.id && !unstable(up.id) ? '#' + CSS.escape(up.id) : cls ? up.tagName.toLowerCase() + '.' + CSS.escape(cls) : null;
        if (anchor) { add({css: anchor + ' ' + tag}); break; }
      }
    }
    if ((role === 'button' || role === 'link') && el.tagName === 'INPUT' && el.value) {
      add({css: 'input[type=' + cssString(el.getAttribute('type') || 'submit') + '][value=' + cssString(el.value) + ']'});
    }
    if (!role && !isTextField(el)) {
      const text = ownText(el);
      if (text && text.length <= 40 && !/\d{3,}/.test(text)) add({text});
    }
    add({css: structuralCss(el)});
    return out;
  }
  function knownNames(el) {
    // An element is the map's when the map's first locator finds it (a fallback finding it is only a
    // heal). Two screens of a map can share a locator ("Order reference:" on entry and on search): the
    // screen with more of its elements on this page comes first.
    const known = window.__backroomKnown || [];
    const present = screen => known.filter(k => k.name.split('.')[0] === screen && k.candidates.length
      && resolve(k.candidates[0]).length === 1).length;
    return known.filter(k => k.candidates.length && uniqueFor(el, k.candidates[0]))
      .map(k => [present(k.name.split('.')[0]), k.name]).sort((a, b) => b[0] - a[0]).map(pair => pair[1]);
  }
  // The dialog an element is in (a <dialog>, an ARIA dialog, a Bootstrap or jQuery UI modal): its title names the
  // screen, as a page's heading does; a dialog that asks for a password is a sign-on
  function dialogOf(el) {
    const box = el.closest && el.closest('dialog, [role=dialog], [role=alertdialog], .modal, .ui-dialog');
    if (!box) return null;
    const by = box.getAttribute('aria-labelledby');
    const title = (by && document.getElementById(by))
      || box.querySelector('.modal-title, .ui-dialog-title, [role=heading], h1, h2, h3, h4');
    return {title: clean(title ? title.textContent : box.getAttribute('aria-label') || ''),
            password: !!box.querySelector('input[type=password]')};
  }
  function describe(el) {
    const label = labelFor(el);
    const dialog = dialogOf(el);
    return {
      tag: el.tagName.toLowerCase(), type: (el.getAttribute('type') || '').toLowerCase(),
      name: readableName(el), label: label ? label.text : null, role: roleOf(el),
      candidates: candidatesFor(el), known: knownNames(el),
      password: el.tagName === 'INPUT' && (el.getAttribute('type') || '').toLowerCase() === 'password',
      form: el.form ? Array.from(document.forms).indexOf(el.form) : -1,
      // a form with a password field signs on: its elements are the login screen, whatever the page is called
      signOn: !!((el.form || (el.closest && el.closest('form'))) || {querySelector: () => null})
        .querySelector('input[type=password]') || !!(dialog && dialog.password),
      dialog: dialog ? dialog.title : null,
      docTitle: document.title, path: location.pathname, address: location.href,
      text: clean(el.textContent).slice(0, 200), classes: semanticClasses(el),
      heading: clean((document.querySelector('h1') || document.querySelector('h2') || {}).textContent),
      row: rowOf(el),
    };
  }

  // -- what the builder does -------------------------------------------------------------------
  const sent = new WeakMap();  // field -> the value last reported, so a value is keyed once
  // field -> what the person last typed into it: a page that changes the field itself afterwards (a look-up that
  // empties it while its search dialog is open) does not change what the recipe types
  const typed = new WeakMap();
  document.addEventListener('input', e => {
    if (e.isTrusted && isTextField(e.target)) typed.set(e.target, e.target.value);
  }, true);
  function reportField(el) {
    if (!isTextField(el) || inToolbar(el)) return false;
    const value = typed.has(el) ? typed.get(el) : el.value;
    if (sent.has(el) ? sent.get(el) === value : value === el.defaultValue) return false;
    sent.set(el, value);
    const info = describe(el);
    // a password goes apart, only to be compared with the builder's secrets (it becomes one by name)
    send({kind: 'fill', element: info, value: info.password ? null : value, secret: info.password ? value : undefined,
          length: value.length});
    return true;
  }
  const active = () => { let a = document.activeElement; while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement; return a; };
  // Every same-origin frame of this tab takes the toolbar's mode. A read request has an id: once a
  // click has made the read, that id is done, and the recorder's late copy of the request (for frames
  // of other origins) cannot put a frame back in read mode.
  function setMode(mode, id) {
    const set = w => {
      if (mode === 'read') { w.__backroomMode = 'read'; w.__backroomReadId = id; }
      else { w.__backroomMode = null; w.__backroomReadDone = w.__backroomReadId; }
    };
    const visit = w => {
      try { set(w); } catch (e) { return; }
      for (let i = 0; i < w.frames.length; i++) visit(w.frames[i]);
    };
    try { visit(window.top); } catch (e) { set(window); }
  }

  document.addEventListener('change', e => {
    const el = e.target;
    if (inToolbar(el)) return;
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (el.tagName === 'SELECT') {
      const option = el.options[el.selectedIndex];
      send({kind: 'select', element: describe(el), value: option ? option.value : '', label: option ? clean(option.text) : ''});
    } else if (el.tagName === 'INPUT' && (type === 'checkbox' || type === 'radio')) {
      send({kind: 'check', element: describe(el), checked: el.checked});
    } else if (el.tagName === 'INPUT' && type === 'file') {
      send({kind: 'upload', element: describe(el), files: Array.from(el.files).map(f => f.name)});
    } else {
      reportField(el);
    }
  }, true);

  let lastKeyAt = 0;
  document.addEventListener('click', e => {
    // A page's own script clicking, or the click a key makes (Enter submitting a form, Space on a
    // button), is not the builder's action: the key was recorded already.
    if (!e.isTrusted || (e.detail === 0 && Date.now() - lastKeyAt < 1000)) return;
    const el = e.target.closest ? (e.target.closest(CLICKABLE) || e.target) : e.target;
    if (inToolbar(e.target) || !el || el.nodeType !== 1) return;
    const mode = window.__backroomMode;
    if (mode === 'read') {  // the toolbar's "Read a value": this click picks the element to read
      e.preventDefault(); e.stopImmediatePropagation();
      setMode(null);
      send({kind: 'read', element: describe(e.target), readId: window.__backroomReadId,
            value: typeof e.target.value === 'string' ? e.target.value : null});
      return;
    }
    const focused = active();
    if (focused && focused !== el) reportField(focused);
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (el.tagName === 'SELECT' || el.tagName === 'OPTION' || isTextField(el)
        || (el.tagName === 'INPUT' && ['checkbox', 'radio', 'file'].includes(type))) return;  // their change says it
    if (el.tagName === 'LABEL' && el.control) return;  // the control's own change records it
    // the second click of a double-click (a menu entry or a list row that opens on it): the recorder makes the
    // two one double-click
    send({kind: 'click', element: describe(el), double: e.detail === 2});
  }, true);

  const EDITING = ['a', 'c', 'v', 'x', 'z', 'y'];
  document.addEventListener('keydown', e => {
    if (inToolbar(e.target)) return;
    const named = ['Enter', 'Escape', 'PageUp', 'PageDown'].includes(e.key) || /^F\d{1,2}$/.test(e.key);
    const combo = (e.ctrlKey || e.altKey || e.metaKey) && e.key.length === 1 && !(e.ctrlKey && EDITING.includes(e.key.toLowerCase()));
    lastKeyAt = Date.now();
    const el = e.target && e.target.nodeType === 1 && e.target !== document.body ? e.target : null;
    // Tab out of a field just typed in: what the page does as the field is left (a look-up of what was typed, a
    // search dialog, a reformatted date) belongs to the recipe; Tab between untouched fields is only moving
    if (e.key === 'Tab' && !e.ctrlKey && !e.altKey && !e.metaKey) {
      if (el && reportField(el)) send({kind: 'press', key: e.shiftKey ? 'Shift+Tab' : 'Tab', element: describe(el)});
      return;
    }
    if (!named && !combo) return;
    if (e.key === 'Enter' && e.target.tagName === 'TEXTAREA') return;
    if (el) reportField(el);
    const mods = [e.ctrlKey && 'Control', e.altKey && 'Alt', e.shiftKey && e.key.length > 1 && 'Shift', e.metaKey && 'Meta'].filter(Boolean);
    const key = mods.concat([e.key.length === 1 ? e.key.toUpperCase() : e.key]).join('+');
    send({kind: 'press', key, element: el && el !== document.documentElement ? describe(el) : null});
  }, true);

  // Dialogs: whoever answers them (the builder, or a test's browser client), the answer is what the
  // page's own call returns.
  for (const type of ['alert', 'confirm', 'prompt']) {
    const original = window[type];
    if (typeof original !== 'function') continue;
    window[type] = function (message) {
      const focused = active();
      if (focused) reportField(focused);
      const answer = original.apply(window, arguments);
      send({kind: 'dialog', type, message: clean(String(message === undefined ? '' : message)),
            accepted: type === 'alert' ? true : type === 'confirm' ? !!answer : answer !== null,
            answer: type === 'prompt' ? answer : null});
      return answer;
    };
  }

  // -- the toolbar -----------------------------------------------------------------------------
  function wantsToolbar() {
    if (window.top === window) return !!document.body && document.body.tagName !== 'FRAMESET';
    try {  // a frameset page cannot show it: its largest frame does
      if (window.parent !== window.top || window.top.document.body.tagName !== 'FRAMESET') return false;
      let biggest = null, area = -1;
      for (let i = 0; i < window.top.frames.length; i++) {
        const f = window.top.frames[i];
        const a = f.innerWidth * f.innerHeight;
        if (a > area) { area = a; biggest = f; }
      }
      return biggest === window;
    } catch (e) { return window.parent === window.top; }
  }
  function showToolbar() {
    if (!document.body || document.getElementById(TOOLBAR) || !wantsToolbar()) return;
    const host = document.createElement('div');
    host.id = TOOLBAR;
    host.style.cssText = 'position:fixed;right:8px;bottom:8px;z-index:2147483647;';
    const root = host.attachShadow({mode: 'open'});
    root.innerHTML = '<style>div{font:12px sans-serif;background:#1f2933;color:#fff;padding:6px 8px;border-radius:6px;'
      + 'box-shadow:0 2px 8px #0006;display:flex;gap:6px;align-items:center}button{font:12px sans-serif;cursor:pointer}'
      + 'b{color:#ff5c5c}</style><div><b>&#9679;</b><span id="status">Recording</span>'
      + '<button id="checkpoint" title="Add a checkpoint screenshot step">Checkpoint</button>'
      + '<button id="read" title="Then click the value to read into a variable">Read a value</button>'
      + '<button id="undo" title="Take back the last step">Undo</button>'
      + '<button id="stop" title="Stop recording and write the recipe">Stop</button></div>'
      + '<div id="key" style="display:none;margin-top:4px"><span>Key read:</span><span id="kept"></span>'
      + '<input id="pattern" aria-label="Pattern" size="18"><button id="keep" title="Keep the part of the value this '
      + 'pattern\'s first group finds">Keep</button></div>';
    const status = root.getElementById('status');
    root.getElementById('checkpoint').addEventListener('click', () => send({kind: 'toolbar', command: 'checkpoint'}));
    root.getElementById('undo').addEventListener('click', () => send({kind: 'toolbar', command: 'undo'}));
    root.getElementById('read').addEventListener('click', () => {
      const id = Date.now() + '-' + Math.random();
      setMode('read', id); status.textContent = 'Click the value to read';
      send({kind: 'toolbar', command: 'read', id});
    });
    root.getElementById('stop').addEventListener('click', () => { status.textContent = 'Stopped'; send({kind: 'toolbar', command: 'stop'}); });
    // A key read: what it keeps of what the screen showed, and its pattern, which the builder may change
    const key = root.getElementById('key'), pattern = root.getElementById('pattern'), said = root.getElementById('kept');
    window.__backroomShowKey = info => {
      key.style.display = 'flex';
      said.textContent = info.problem ? info.problem : 'keeps ' + JSON.stringify(info.kept) + ' of ' + JSON.stringify(info.text);
      pattern.value = info.pattern || '';
    };
    root.getElementById('keep').addEventListener('click', () => send({kind: 'toolbar', command: 'pattern', pattern: pattern.value}));
    document.body.appendChild(host);
    setInterval(() => { if (!window.__backroomMode) status.textContent = 'Recording'; }, 300);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', showToolbar); else showToolbar();
  window.addEventListener('load', showToolbar);
})();
