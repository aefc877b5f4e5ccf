// The run page follows a running run without reloading; when the run ends, the page reloads to show its report.
(function () {
  var live = document.getElementById('live');
  if (!live) return;
  var bar = document.getElementById('progress'), counts = document.getElementById('counts');
  function show(s) {
    if (s.total) { bar.max = s.total; bar.value = s.finished; }
    counts.textContent = (s.total ? s.finished + ' of ' + s.total + ' finished · ' : '') + (s.text || 'starting…') +
      (s.current ? ' · working ' + s.current : '') + (s.stop_requested ? ' · stopping after the current item' : '');
  }
  function poll() {
    fetch(live.dataset.status, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (s) {
      if (!s.running) { location.reload(); return; }
      show(s); setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();

// A part of a page the server renders on its own, fetched again every `everyMs` (longer after a failure).
function followPart(holder, src, everyMs, afterFailureMs) {
  if (!holder) return;
  function refresh() {
    fetch(src(holder), {credentials: 'same-origin'}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) { holder.innerHTML = html; setTimeout(refresh, everyMs); })
      .catch(function () { setTimeout(refresh, afterFailureMs); });
  }
  setTimeout(refresh, everyMs);
}

// The Runners page's table: alive, lost and what each works on, as it changes.
followPart(document.getElementById('runner-table'), function (h) { return h.dataset.rows; }, 3000, 10000);

// The queue page's "all shown" box ticks or unticks every item on the page (the table may have been
// replaced by a live refresh since the page loaded, so the box is looked up when it changes).
document.addEventListener('change', function (event) {
  if (event.target.id !== 'tick-all') return;
  document.querySelectorAll('#queue input[name=item]').forEach(function (box) { box.checked = event.target.checked; });
});

// A running run's page follows its trail: each step as it is taken (newest on top, the last 200), and
// the newest screenshot, from the run's own events (masked like everything the run writes).
(function () {
  var view = document.getElementById('live-view');
  if (!view) return;
  var table = document.getElementById('live-steps'), shot = document.getElementById('live-shot');
  var caption = document.getElementById('live-shot-caption'), offset = 0, kept = 200;
  function cell(row, text) { var td = row.insertCell(-1); td.textContent = text == null ? '' : String(text); }
  function add(step) {
    var row = table.insertRow(1);
    row.dataset.seq = step.seq;
    if (step.outcome && step.outcome !== 'pass') row.className = 'fail';
    cell(row, (step.started || '').slice(11, 19));
    cell(row, step.item);
    cell(row, step.action + (step.target ? ' ' + step.target : ''));
    cell(row, step.value);
    cell(row, step.outcome + (step.message ? ': ' + step.message : ''));
    while (table.rows.length > kept + 1) table.deleteRow(-1);
  }
  function poll() {
    fetch(view.dataset.feed + '?from=' + offset, {credentials: 'same-origin'}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (seen) {
      offset = seen.offset;
      seen.steps.forEach(add);
      if (seen.screenshot) { shot.src = seen.screenshot; shot.hidden = false; caption.textContent = 'The newest screenshot'; }
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();

// The status strip on every page: the scheduler and the runner services.
followPart(document.getElementById('status-strip'), function (h) { return h.dataset.src; }, 5000, 30000);

// Lists that follow the work as it happens (dashboard, runs, review, queue): every few seconds the page is
// fetched again and each [data-live] region takes the new one's content, without a reload. A region waits
// while a person is busy in it (a box ticked, a field being typed in), so nothing they chose is lost.
(function () {
  var regions = document.querySelectorAll('[data-live]');
  if (!regions.length) return;
  function busy(region) {
    var active = document.activeElement;
    if (active && active !== document.body && (region.contains(active) || active.form)) return true;
    return region.querySelector('input[type=checkbox]:checked') !== null;
  }
  function refresh() {
    // marked as a refresh: the server keeps its flashed messages for the page the person is going to
    fetch(location.href, {credentials: 'same-origin', headers: {'X-Backroom-Live': '1'}}).then(function (r) {
      if (!r.ok || r.redirected) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, 'text/html');
      regions.forEach(function (region) {
        var now = fresh.getElementById(region.id);
        if (now && !busy(region) && now.innerHTML !== region.innerHTML) region.innerHTML = now.innerHTML;
      });
      setTimeout(refresh, 5000);
    }).catch(function () { setTimeout(refresh, 15000); });
  }
  setTimeout(refresh, 5000);
})();
