// The report's filter: by reference, or problems only. A file of its own: the console allows no inline script.
(function () {
  var filter = document.getElementById('filter'), only = document.getElementById('only-problems');
  var nothing = document.getElementById('nothing-shown');
  function apply() {
    var q = filter.value.trim().toLowerCase(), shown = 0;
    document.querySelectorAll('section.item[data-ref]').forEach(function (s) {
      var okRef = !q || s.dataset.ref.toLowerCase().indexOf(q) >= 0;
      var okOutcome = !only.checked || s.dataset.outcome !== 'done';
      s.style.display = okRef && okOutcome ? '' : 'none';
      if (okRef && okOutcome) shown++;
    });
    // an empty page says why it is empty
    nothing.hidden = shown > 0;
    nothing.textContent = shown > 0 ? '' : only.checked && !q ? 'Nothing in this run needs a person.'
      : 'No item matches "' + filter.value.trim() + '"' + (only.checked ? ' among the items that need a person.' : '.');
  }
  filter.addEventListener('input', apply); only.addEventListener('change', apply);
  var hash = decodeURIComponent(location.hash.slice(1)); if (hash) { filter.value = hash; apply(); }
})();
