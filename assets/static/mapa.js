// Maps as progressive enhancement, for any page: every element marked with data-map becomes a
// Leaflet map with clustered markers. The page must already show the same items as a list (and
// keep working without this file, without JavaScript and without map tiles): the map is an aid
// next to it, so on any failure it stays hidden or simply shows no base layer.
//
// Where the points come from (one of):
//   data-map-src="URL"        a URL answering JSON (fetched from this site, with cookies)
//   data-map-data="ID"        the id of a <script type="application/json"> block on the page
//                             (CSP allows it: it is data, never executed)
// Either holds a GeoJSON FeatureCollection (or one Feature) of Point/MultiPoint geometries, or a
// list of points, plain objects with a latitude and a longitude (lat/lng, lat/lon,
// latitude/longitude, latitud/longitud; numbers or numeric text, as CSV columns give them),
// or {"points": [...]}.
// Each point's label and link come from the properties title/name/nombre/titulo/label and
// url/link/enlace/href, or from the property named by data-map-title-field / data-map-link-field;
// an optional "detail" property adds a line to the popup.
//
// Base layer: data-map-tiles (URL template), data-map-attribution (text) and
// data-map-attribution-url. Texts in the page's language: data-map-zoom-in, data-map-zoom-out,
// data-map-tiles-failed (shown under the map when tiles cannot be loaded), data-map-marker (a
// marker without a title) and data-map-cluster-label (what a cluster counts: "proyectos").
// data-map-zoom sets the zoom used for a single point (default 16).
(function () {
  'use strict';

  var LAT = ['lat', 'latitude', 'latitud', 'Lat', 'Latitude', 'Latitud', 'LATITUD', 'LAT', 'y'];
  var LNG = ['lng', 'lon', 'long', 'longitude', 'longitud', 'Lng', 'Lon', 'Longitude', 'Longitud',
    'LONGITUD', 'LNG', 'LON', 'x'];
  var TITLE = ['title', 'name', 'nombre', 'titulo', 'título', 'label'];
  var LINK = ['url', 'link', 'enlace', 'href'];

  function first(obj, names) {
    for (var i = 0; i < names.length; i++) {
      var v = obj[names[i]];
      if (v !== undefined && v !== null && v !== '') return v;
    }
    return undefined;
  }

  function number(v) {
    if (typeof v === 'number') return isFinite(v) ? v : NaN;
    if (typeof v !== 'string') return NaN;
    var s = v.trim();
    // Spreadsheets from es-MX may write decimals with a comma.
    if (s.indexOf('.') < 0) s = s.replace(',', '.');
    return /^[-+]?\d+(\.\d+)?$/.test(s) ? parseFloat(s) : NaN;
  }

  // Only links a resident can safely follow: this site's paths and http(s) addresses.
  function safeUrl(u) {
    if (typeof u !== 'string' || !u) return null;
    if (u.charAt(0) === '/' && u.charAt(1) !== '/' && u.charAt(1) !== '\\') return u;
    try {
      var parsed = new URL(u, window.location.href);
      return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function point(lat, lng, props, options) {
    lat = number(lat);
    lng = number(lng);
    if (isNaN(lat) || isNaN(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180) return null;
    var title = options.titleField ? props[options.titleField] : first(props, TITLE);
    var link = options.linkField ? props[options.linkField] : first(props, LINK);
    return {
      lat: lat,
      lng: lng,
      title: title === undefined || title === null ? '' : String(title),
      url: safeUrl(link),
      detail: typeof props.detail === 'string' ? props.detail : '',
    };
  }

  // GeoJSON or a list of points, to [{lat, lng, title, url, detail}].
  function toPoints(data, options) {
    var out = [];
    function add(p) { if (p) out.push(p); }
    function feature(f) {
      if (!f || f.type !== 'Feature' || !f.geometry) return;
      var props = f.properties || {};
      var g = f.geometry;
      if (g.type === 'Point' && g.coordinates) {
        add(point(g.coordinates[1], g.coordinates[0], props, options));
      } else if (g.type === 'MultiPoint' && g.coordinates) {
        g.coordinates.forEach(function (c) { add(point(c[1], c[0], props, options)); });
      }
    }
    if (!data) return out;
    if (data.type === 'FeatureCollection' && Array.isArray(data.features)) {
      data.features.forEach(feature);
    } else if (data.type === 'Feature') {
      feature(data);
    } else {
      var list = Array.isArray(data) ? data : Array.isArray(data.points) ? data.points : [];
      list.forEach(function (p) {
        if (p && typeof p === 'object') add(point(first(p, LAT), first(p, LNG), p, options));
      });
    }
    return out;
  }

  function load(el) {
    var id = el.getAttribute('data-map-data');
    if (id) {
      var block = document.getElementById(id);
      if (!block) return Promise.reject(new Error('no data block ' + id));
      return Promise.resolve(JSON.parse(block.textContent));
    }
    var src = safeUrl(el.getAttribute('data-map-src'));
    if (!src) return Promise.reject(new Error('no data-map-src'));
    return fetch(src, {
      credentials: 'same-origin',
      headers: { Accept: 'application/geo+json, application/json' },
    }).then(function (r) {
      if (!r.ok) throw new Error(src + ': ' + r.status);
      return r.json();
    });
  }

  function popup(p) {
    var box = document.createElement('div');
    var head = document.createElement(p.url ? 'a' : 'strong');
    head.textContent = p.title || (p.lat.toFixed(5) + ', ' + p.lng.toFixed(5));
    if (p.url) head.href = p.url;
    box.appendChild(head);
    if (p.detail) {
      var d = document.createElement('p');
      d.textContent = p.detail;
      box.appendChild(d);
    }
    return box;
  }

  function attribution(el) {
    var text = el.getAttribute('data-map-attribution') || '';
    var href = safeUrl(el.getAttribute('data-map-attribution-url'));
    if (!text && !href) return '';
    var a = document.createElement(href ? 'a' : 'span');
    a.textContent = text || href;
    if (href) {
      a.href = href;
      a.rel = 'noopener';
    }
    return a.outerHTML;
  }

  function draw(el, points) {
    if (!points.length) return;  // nothing to place: the list says it all
    el.hidden = false;
    var map = L.map(el, { zoomControl: false, scrollWheelZoom: false });
    L.control.zoom({
      zoomInTitle: el.getAttribute('data-map-zoom-in') || 'Zoom in',
      zoomOutTitle: el.getAttribute('data-map-zoom-out') || 'Zoom out',
    }).addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    var tiles = el.getAttribute('data-map-tiles');
    if (tiles) {
      var layer = L.tileLayer(tiles, { attribution: attribution(el), maxZoom: 19 });
      var warned = false;
      layer.on('tileerror', function () {
        if (warned) return;
        warned = true;
        var note = document.createElement('p');
        note.className = 'map-note';
        note.setAttribute('role', 'status');
        note.textContent = el.getAttribute('data-map-tiles-failed') || '';
        if (note.textContent) el.parentNode.insertBefore(note, el.nextSibling);
      });
      layer.addTo(map);
    }
    var unit = el.getAttribute('data-map-cluster-label') || '';
    var group = L.markerClusterGroup({
      showCoverageOnHover: false,
      // The plugin's own icon labels its count with an aria-label on a plain span, which
      // assistive technology ignores; this one reads "5 proyectos".
      iconCreateFunction: function (cluster) {
        var n = cluster.getChildCount();
        var box = document.createElement('div');
        var count = document.createElement('span');
        count.textContent = String(n);
        if (unit) {
          var hidden = document.createElement('span');
          hidden.className = 'visually-hidden';
          hidden.textContent = ' ' + unit;
          count.appendChild(hidden);
        }
        box.appendChild(count);
        return L.divIcon({
          html: box,
          className: 'marker-cluster marker-cluster-' + (n < 10 ? 'small' : n < 100 ? 'medium' : 'large'),
          iconSize: L.point(40, 40),
        });
      },
    });
    var fallback = el.getAttribute('data-map-marker') || 'Marker';
    var bounds = [];
    points.forEach(function (p) {
      var m = L.marker([p.lat, p.lng], { title: p.title, alt: p.title || fallback, keyboard: true });
      m.bindPopup(popup(p));
      group.addLayer(m);
      bounds.push([p.lat, p.lng]);
    });
    map.addLayer(group);
    var zoom = parseInt(el.getAttribute('data-map-zoom'), 10) || 16;
    if (bounds.length === 1) {
      map.setView(bounds[0], zoom);
    } else {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: zoom });
    }
    el.setAttribute('data-map-ready', String(points.length));
  }

  function setup(el) {
    // Without the libraries (blocked, or an old browser) the page stays a list.
    if (!window.L || !L.markerClusterGroup || !window.fetch || !window.Promise) return;
    var options = {
      titleField: el.getAttribute('data-map-title-field') || '',
      linkField: el.getAttribute('data-map-link-field') || '',
    };
    load(el).then(function (data) { draw(el, toPoints(data, options)); }).catch(function (e) {
      el.hidden = true;
      el.setAttribute('data-map-error', String(e && e.message));
    });
  }

  function start() {
    var list = document.querySelectorAll('[data-map]');
    for (var i = 0; i < list.length; i++) setup(list[i]);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
