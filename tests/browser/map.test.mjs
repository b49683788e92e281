// The participatory-budget map in a real browser. The server is started with --tile-url pointing
// at a small tile server of this test (another origin, as a real tile server is), so the
// Content-Security-Policy built from the configuration is exercised for real:
//  - with tiles: clustered markers over loaded tiles, popups linking to each project, no CSP
//    violation or console error, and no WCAG 2.1 A/AA violation (axe);
//  - with every tile request aborted: the map says so, and the list with its filters and links
//    works as before;
//  - without JavaScript: no empty map, the list and its filters work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer } from '../lib/abierto.mjs';
import { apiToken, bearerAction } from '../lib/itest.mjs';
import { launch, newContext, watchConsole, runAxe, describeViolations } from '../lib/browser.mjs';

const PROCESS = '/presupuesto/presupuesto-2025';
// A 1×1 PNG: every tile of the test server.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let server, browser, tiles, tileOrigin, tileRequests = 0;

before(async () => {
  tiles = createServer((req, res) => {
    tileRequests += 1;
    res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' });
    res.end(PNG);
  });
  await new Promise((r) => tiles.listen(0, '127.0.0.1', r));
  tileOrigin = `http://127.0.0.1:${tiles.address().port}`;
  server = await startServer({ name: 'sqlite' }, {
    args: ['--tile-url', `${tileOrigin}/teselas/{z}/{x}/{y}.png`, '--tile-attribution', 'Mapa base de prueba', '--tile-attribution-url', 'https://example.org/creditos'],
  });
  // A photo on the demo's first project, so the gallery is checked with the map.
  const token = await apiToken(server.url, 'secretariado@demo.abierto.mx');
  const photo = await bearerAction(server.url, token, 'pp.photo.add', {
    project_id: 1, caption: 'Calle Río Lerma antes de la obra', photo: { name: 'calle.png', content_type: 'image/png', data_base64: PNG.toString('base64') },
  });
  assert.equal(photo.status, 200, JSON.stringify(photo.body));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((r) => tiles?.close(r));
});

// A context whose pages record CSP violations (the init script runs outside the page's CSP).
async function watchedContext(options) {
  const context = await newContext(browser, options);
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  return context;
}

async function assertAccessible(page, label) {
  const violations = await runAxe(page);
  assert.deepEqual(violations.map((v) => v.id), [], describeViolations(label, violations));
}

// The projects listed on the page, by link.
const listed = (page) => page.locator('ul.commitments h3 a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));

test('with tiles: clustered markers, popups that link to the project, no CSP or axe problems', async () => {
  const context = await watchedContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    const before = tileRequests;
    const res = await page.goto(server.url + PROCESS);
    const csp = res.headers()['content-security-policy'];
    assert.match(csp, new RegExp(`img-src 'self' data: ${tileOrigin.replace(/[.]/g, '\\.')};`), csp);
    const map = page.locator('#mapa-proyectos');
    await map.waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelectorAll('#mapa-proyectos .leaflet-tile-loaded').length > 0);
    assert.ok(tileRequests > before, 'tiles were requested from the configured server');
    assert.equal(await map.getAttribute('data-map-ready'), String((await listed(page)).length), 'one marker per listed project');
    const clusters = map.locator('.marker-cluster');
    assert.ok(await clusters.count() > 0, 'nearby projects are clustered');
    assert.match(await clusters.first().textContent(), /^\d+ proyectos$/);
    assert.match(await map.locator('.leaflet-control-attribution').innerHTML(), /<a href="https:\/\/example\.org\/creditos" rel="noopener">Mapa base de prueba<\/a>/);
    assert.equal(await page.locator('.map-note').count(), 0, 'no tile warning when tiles load');
    await assertAccessible(page, `${PROCESS} with its map`);

    // Open clusters until single markers show, then follow a popup's link.
    const single = map.locator('.leaflet-marker-icon:not(.marker-cluster)');
    for (let i = 0; i < 6 && await single.count() === 0; i++) {
      await clusters.first().click();
      await page.waitForTimeout(400);  // the zoom animation
    }
    assert.ok(await single.count() > 0, 'single markers after opening a cluster');
    const marker = single.first();
    const title = await marker.getAttribute('alt');
    await marker.click();
    const link = map.locator('.leaflet-popup-content a');
    assert.equal(await link.textContent(), title);
    const href = await link.getAttribute('href');
    assert.ok((await listed(page)).includes(href), `${href} is in the list`);
    await Promise.all([page.waitForURL((u) => u.pathname === href), link.click()]);
    assert.equal(await page.locator('h1').textContent(), title);

    // The project page: one point, and its photo gallery.
    await page.goto(`${server.url}/presupuesto/proyectos/1`);
    const one = page.locator('#mapa-proyecto');
    await one.waitFor({ state: 'visible' });
    assert.equal(await one.getAttribute('data-map-ready'), '1');
    assert.equal(await one.locator('.leaflet-marker-icon').getAttribute('alt'), await page.locator('h1').textContent());
    const img = page.locator('.gallery img');
    assert.equal(await img.getAttribute('alt'), 'Calle Río Lerma antes de la obra');
    await assertAccessible(page, '/presupuesto/proyectos/1 with its map and gallery');

    // Phones get the map under the list.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(server.url + PROCESS);
    await page.locator('#mapa-proyectos').waitFor({ state: 'visible' });
    await assertAccessible(page, `${PROCESS} @360px`);

    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'CSP violations');
    assert.deepEqual(problems, [], 'console errors');
  } finally {
    await context.close();
  }
});

test('with tile requests aborted: the map says so and the list, its filters and links still work', async () => {
  const context = await watchedContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    let aborted = 0;
    await page.route(`${tileOrigin}/**`, (route) => { aborted += 1; return route.abort(); });
    await page.goto(server.url + PROCESS);
    const all = await listed(page);
    assert.ok(all.length >= 10);
    // Markers are still placed; a status line says the base map is missing.
    await page.locator('#mapa-proyectos[data-map-ready]').waitFor({ state: 'visible' });
    const note = page.locator('.map-note[role="status"]');
    await note.waitFor();
    assert.match(await note.textContent(), /No se pudo cargar el mapa base/);
    assert.ok(aborted > 0);
    // Choosing a zone filters the list (the select submits its form).
    const zone = page.getByLabel('Delegación o zona');
    const option = await zone.locator('option', { hasText: 'Coecillo' }).getAttribute('value');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('zona') === option), zone.selectOption(option)]);
    const some = await listed(page);
    assert.ok(some.length > 0 && some.length < all.length, `${some.length} of ${all.length}`);
    assert.ok(some.every((h) => all.includes(h)));
    await page.locator('#mapa-proyectos[data-map-ready]').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#mapa-proyectos').getAttribute('data-map-ready'), String(some.length), 'the map follows the filter');
    // The search box too, and the links open the projects.
    await page.getByLabel('Buscar').fill('CANCHA');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('q') === 'CANCHA'), page.getByRole('button', { name: 'Filtrar' }).click()]);
    const found = page.locator('ul.commitments h3 a');
    assert.ok(await found.count() >= 1);
    const first = await found.first().textContent();
    await Promise.all([page.waitForURL(/\/presupuesto\/proyectos\/\d+$/), found.first().click()]);
    assert.equal(await page.locator('h1').textContent(), first);
    await assertAccessible(page, 'a project page without tiles');
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'CSP violations');
    // The only console errors are the aborted tiles themselves.
    assert.deepEqual(problems.filter((p) => !/net::ERR_FAILED/.test(p)), []);
  } finally {
    await context.close();
  }
});

test('without JavaScript: no empty map, and the list and its filters work', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    await page.goto(server.url + PROCESS);
    assert.equal(await page.locator('#mapa-proyectos').isVisible(), false);
    const all = await listed(page);
    await page.getByLabel('Delegación o zona').selectOption({ label: 'Coecillo' });
    await Promise.all([page.waitForURL(/zona=/), page.getByRole('button', { name: 'Filtrar' }).click()]);
    const some = await listed(page);
    assert.ok(some.length > 0 && some.length < all.length);
    // Each located project still links to OpenStreetMap.
    assert.ok(await page.getByRole('link', { name: 'ver en el mapa' }).count() > 0);
  } finally {
    await context.close();
  }
});

test('DatA-LEÓN: table coordinates and GeoJSON files on the same map, following the preview filters', async () => {
  const context = await watchedContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    const set = 'proyectos-presupuesto-participativo-2025';
    const pkg = (await (await fetch(`${server.url}/api/v1/actions/datos.package.show?id=${set}`)).json()).result;
    const table = `/datos/conjunto/${set}/recurso/${pkg.resources[0].id}`;
    await page.goto(server.url + table);
    const map = page.locator('#mapa-datos');
    await map.waitFor({ state: 'visible' });
    assert.equal(await map.getAttribute('data-map-ready'), '7', 'one marker per delegación');
    await assertAccessible(page, `${table} with its map`);
    // The map shows the rows the preview selects.
    await page.goto(`${server.url}${table}?q=jerez`);
    await page.locator('#mapa-datos[data-map-ready]').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#mapa-datos').getAttribute('data-map-ready'), '1');

    // A GeoJSON resource is drawn straight from its file.
    const token = await apiToken(server.url, 'enlace.presupuesto@demo.abierto.mx');
    const geojson = JSON.stringify({
      type: 'FeatureCollection',
      features: [[21.12, -101.68, 'Módulo Centro'], [21.10, -101.72, 'Módulo Las Joyas']].map(([lat, lng, nombre]) => ({
        type: 'Feature', geometry: { type: 'Point', coordinates: [lng, lat] }, properties: { nombre },
      })),
    });
    const created = await bearerAction(server.url, token, 'datos.resource.create', {
      dataset_id: pkg._id, name: 'Módulos de atención',
      file: { name: 'modulos.geojson', content_type: 'application/geo+json', data_base64: Buffer.from(geojson).toString('base64') },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    await page.goto(`${server.url}/datos/conjunto/${set}/recurso/${created.body.result.uid}`);
    const geo = page.locator('#mapa-recurso');
    await geo.waitFor({ state: 'visible' });
    assert.equal(await geo.getAttribute('data-map-ready'), '2');
    await assertAccessible(page, 'GeoJSON resource with its map');
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'CSP violations');
    assert.deepEqual(problems, [], 'console errors');
  } finally {
    await context.close();
  }
});
