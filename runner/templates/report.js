// The report's search (a reference, or a value typed or read) and its problems-only filter, and a screenshot
// shown large on a click. A file of its own: the console allows no inline script.
(function () {
  var filter = document.getElementById('filter'), only = document.getElementById('only-problems');
  var nothing = document.getElementById('nothing-shown');
  function apply() {
    var q = filter.value.trim().toLowerCase(), shown = 0;
    document.querySelectorAll('section.item[data-ref]').forEach(function (s) {
      // a reference, or any value typed or read back, or a message
      var okRef = !q || s.dataset.ref.toLowerCase().indexOf(q) >= 0 || (s.dataset.text || '').indexOf(q) >= 0;
      var okOutcome = !only.checked || s.dataset.outcome !== 'done';
      s.style.display = okRef && okOutcome ? '' : 'none';
      if (okRef && okOutcome) shown++;
      var row = document.querySelector('#outcomes tr[data-ref="' + CSS.escape(s.dataset.ref) + '"]');
      if (row) row.style.display = s.style.display;   // the table at the top shows the same items
    });
    // an empty page says why it is empty
    nothing.hidden = shown > 0;
    nothing.textContent = shown > 0 ? '' : only.checked && !q ? 'Nothing in this run needs a person.'
      : 'No item matches "' + filter.value.trim() + '"' + (only.checked ? ' among the items that need a person.' : '.');
  }
  filter.addEventListener('input', apply); only.addEventListener('change', apply);
  var hash = decodeURIComponent(location.hash.slice(1)); if (hash) { filter.value = hash; apply(); }
})();

(function () {
  var large = document.getElementById('large');
  if (!large) return;
  var picture = large.querySelector('img');
  document.addEventListener('click', function (event) {
    var thumb = event.target.closest('td.shot img');
    if (thumb) {
      event.preventDefault();
      picture.src = thumb.src;
      picture.alt = thumb.alt;
      large.hidden = false;
    } else if (!large.hidden && large.contains(event.target)) {
      large.hidden = true;
    }
  });
  document.addEventListener('keydown', function (event) { if (event.key === 'Escape') large.hidden = true; });
})();
