// Progressive enhancement only: every page works without this file.
// Filters on the dashboard apply as soon as a selection changes.
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('form.filters select').forEach(function (select) {
    select.addEventListener('change', function () { select.form.submit(); });
  });
});

// DatA-LEÓN: the progress page of an ingest follows the job from its JSON form instead of
// reloading the whole page every two seconds (the Refresh header is the no-JavaScript path).
document.addEventListener('DOMContentLoaded', function () {
  var status = document.getElementById('estado-carga');
  var bar = document.getElementById('barra-carga');
  if (!status || !bar || !window.fetch) return;
  var url = window.location.pathname + '?formato=json';
  function poll() {
    fetch(url, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        if (job.status === 'lista' || job.status === 'rechazada') {
          window.location.replace(window.location.pathname);
          return;
        }
        if (typeof job.progress === 'number') {
          var pct = Math.round(job.progress * 100);
          bar.value = pct;
          bar.textContent = pct + '%';
          var label = document.getElementById('porcentaje');
          if (label) label.textContent = pct + '%';
        }
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 500);
});
