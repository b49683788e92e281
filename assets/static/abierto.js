// Progressive enhancement only: every page works without this file.
// Filters on the dashboard apply as soon as a selection changes.
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('form.filters select').forEach(function (select) {
    select.addEventListener('change', function () { select.form.submit(); });
  });
});
