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

// The datastore preview of a resource page: sorting, paging and the query form reload only the
// preview (the same server-rendered HTML, fetched), keeping the reader's place on the page.
// Without this script every link and the form are plain GET navigations.
document.addEventListener('DOMContentLoaded', function () {
  var preview = document.getElementById('vista-previa');
  if (!preview || !window.fetch || !window.DOMParser || !window.history.pushState) return;

  function focusAfterLoad(key) {
    var target = preview.querySelector('#pv-error');
    if (!target && key) target = preview.querySelector(key);
    if (!target) target = preview.querySelector('#pv-range') || preview.querySelector('#pv-h');
    if (!target) return;
    if (!/^(A|BUTTON|INPUT|SELECT)$/.test(target.tagName)) target.setAttribute('tabindex', '-1');
    target.focus();
  }

  function load(url, push, key) {
    preview.setAttribute('aria-busy', 'true');
    fetch(url, { headers: { Accept: 'text/html' }, credentials: 'same-origin' })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('vista-previa');
        if (!fresh) { window.location.href = url; return; }
        preview.innerHTML = fresh.innerHTML;
        preview.removeAttribute('aria-busy');
        if (push) window.history.pushState({ preview: true }, '', url);
        focusAfterLoad(key);
      })
      .catch(function () { window.location.href = url; });
  }

  preview.addEventListener('click', function (e) {
    var a = e.target.closest('a');
    if (!a || a.hasAttribute('download') || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    var url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname !== window.location.pathname) return;
    e.preventDefault();
    var key = a.getAttribute('data-col') ? 'a[data-col="' + a.getAttribute('data-col') + '"]'
      : (a.getAttribute('rel') ? 'a[rel="' + a.getAttribute('rel') + '"]' : null);
    load(url.pathname + url.search + '#vista-previa', true, key);
  });

  preview.addEventListener('submit', function (e) {
    var form = e.target.closest('form.preview-form');
    if (!form) return;
    e.preventDefault();
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { if (value !== '') query.append(name, value); });
    var qs = query.toString();
    load(window.location.pathname + (qs ? '?' + qs : '') + '#vista-previa', true, null);
  });

  window.addEventListener('popstate', function () { load(window.location.href, false, null); });
});
