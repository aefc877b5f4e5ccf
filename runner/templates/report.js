// The report's filter: by reference, or problems only. A file of its own: the console allows no inline script.
(function () {
  var filter = document.getElementById('filter'), only = document.getElementById('only-problems');
  function apply() {
    var q = filter.value.trim().toLowerCase();
    document.querySelectorAll('section.item').forEach(function (s) {
      var okRef = !q || s.dataset.ref.toLowerCase().indexOf(q) >= 0;
      var okOutcome = !only.checked || s.dataset.outcome !== 'done';
      s.style.display = okRef && okOutcome ? '' : 'none';
    });
  }
  filter.addEventListener('input', apply); only.addEventListener('change', apply);
  var hash = decodeURIComponent(location.hash.slice(1)); if (hash) { filter.value = hash; apply(); }
})();
