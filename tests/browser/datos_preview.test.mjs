// The datastore preview of a resource page in a real browser: searching, sorting, paging and the
// chart with JavaScript disabled (plain GET navigations) and enabled (the preview reloads in
// place), axe-core on the states a reader can reach, and a phone without sideways scrolling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/abierto.mjs';
import { launch, newContext, runAxe, describeViolations, watchConsole, overflowOutsideScrollRegions } from '../lib/browser.mjs';

const DATASET = 'proyectos-presupuesto-participativo-2025';
let server, browser, path;

before(async () => {
  // Maps are checked in map.test.mjs with a tile server of their own; here none is reachable.
  server = await startServer({ name: 'sqlite' }, { args: ['--tile-url', 'none'] });
  browser = await launch();
  const p = await (await fetch(`${server.url}/api/v1/actions/datos.package.show?id=${DATASET}`)).json();
  path = `/datos/conjunto/${DATASET}/recurso/${p.result.resources[0].id}`;
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const rowNames = (page) => page.locator('.pv-table tbody tr td:first-of-type').allTextContents();

async function assertAccessible(page, label) {
  const violations = await runAxe(page);
  assert.deepEqual(violations.map((v) => v.id), [], describeViolations(label, violations));
}

test('without JavaScript: search, sort, page and chart are plain GET navigations', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(server.url + path);
    const table = page.getByRole('table', { name: /^Datos del recurso: filas 1–7 de 7/ });
    assert.equal(await table.count(), 1);
    assert.equal((await rowNames(page)).length, 7);

    await page.getByLabel('Buscar palabras en el texto').fill('JEREZ');
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('q') === 'JEREZ'),
      page.getByRole('button', { name: 'Aplicar' }).click(),
    ]);
    assert.deepEqual(await rowNames(page), ['Cerrito de Jerez']);
    assert.equal(new URL(page.url()).hash, '#vista-previa');

    // The column header sorts; the search is kept.
    await page.goto(`${server.url}${path}?q=san`);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('orden') === 'votos'),
      page.getByRole('link', { name: /^votos \(ordenar de menor a mayor\)/ }).click(),
    ]);
    assert.deepEqual(await rowNames(page), ['San Juan Bosco', 'San Miguel']);
    assert.equal(await page.getByRole('columnheader', { name: /^votos/ }).getAttribute('aria-sort'), 'ascending');
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('dir') === 'desc'),
      page.getByRole('link', { name: /^votos \(ordenar de mayor a menor\)/ }).click(),
    ]);
    assert.deepEqual(await rowNames(page), ['San Miguel', 'San Juan Bosco']);

    // Paging.
    await page.goto(`${server.url}${path}?filas=3`);
    assert.match(await page.locator('#pv-range').textContent(), /^filas 1–3 de 7$/);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('pagina') === '2'),
      page.getByRole('navigation', { name: 'Páginas de la consulta' }).getByRole('link', { name: 'Siguiente' }).click(),
    ]);
    assert.match(await page.locator('#pv-range').textContent(), /^filas 4–6 de 7$/);

    // A chart chosen in the same form.
    await page.goto(server.url + path);
    await page.getByText('Gráfica', { exact: true }).click();  // unfolds the chart's choices
    await page.getByLabel('Tipo de gráfica').selectOption('barras');
    await page.getByLabel('Eje X (categoría)').selectOption('delegacion');
    await page.getByLabel('Eje Y (número)').selectOption('votos');
    await page.getByLabel('Agregación por X').selectOption('suma');
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('grafica') === 'barras'),
      page.getByRole('button', { name: 'Aplicar' }).click(),
    ]);
    const chart = page.getByRole('img', { name: /Suma de votos por delegacion/ });
    assert.equal(await chart.count(), 1);
    assert.equal(await chart.locator('rect.bar').count(), 7);
    await page.getByText('Ver los datos de la gráfica en una tabla').click();
    const data = page.getByRole('table', { name: 'Suma de votos por delegacion' });
    assert.equal(await data.locator('tbody tr').count(), 7);
  } finally {
    await context.close();
  }
});

test('with JavaScript: sorting, paging and the form reload only the preview', async () => {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(server.url + path);
    // A mark that a full page load would wipe out.
    await page.evaluate(() => { window.__sinRecarga = true; });

    const sortLink = page.getByRole('link', { name: /^votos \(ordenar de menor a mayor\)/ });
    await sortLink.click();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('orden') === 'votos');
    await page.waitForFunction(() => document.querySelector('th[aria-sort="ascending"] a[data-col="votos"]'));
    assert.deepEqual((await rowNames(page))[0], 'San Juan Bosco');
    assert.equal(await page.evaluate(() => window.__sinRecarga), true, 'no full page load');
    // Focus stays on the header the reader used.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-col')), 'votos');

    await page.getByLabel('Buscar palabras en el texto').fill('jerez');
    await page.getByRole('button', { name: 'Aplicar' }).click();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'jerez');
    await page.waitForFunction(() => document.querySelectorAll('.pv-table tbody tr').length === 1);
    assert.deepEqual(await rowNames(page), ['Cerrito de Jerez']);
    assert.equal(await page.evaluate(() => window.__sinRecarga), true);
    // Empty fields are left out of the address, the sort is kept.
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('orden'), 'votos');
    assert.equal(url.searchParams.has('f.delegacion'), false);

    // Back returns to the previous state of the preview, still without a page load.
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('.pv-table tbody tr').length === 7);
    assert.equal(new URL(page.url()).searchParams.get('q'), null);
    assert.equal((await rowNames(page))[0], 'San Juan Bosco');
    assert.equal(await page.evaluate(() => window.__sinRecarga), true);
    assert.deepEqual(problems, []);

    // A bad address shows its message; the link that clears the query reloads the preview.
    const bad = await page.goto(`${server.url}${path}?orden=nope`);
    assert.equal(bad.status(), 400);
    assert.match(await page.locator('#pv-error').textContent(), /La columna «nope» no existe/);
    await page.evaluate(() => { window.__sinRecarga = true; });
    await page.getByRole('link', { name: 'Quitar filtros, orden y gráfica' }).click();
    await page.waitForFunction(() => !document.querySelector('#pv-error'));
    assert.equal((await rowNames(page)).length, 7);
    assert.equal(new URL(page.url()).search, '');
    assert.equal(await page.evaluate(() => window.__sinRecarga), true);
    // The browser reports the 400 of the bad address; nothing else may go wrong.
    assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), []);
  } finally {
    await context.close();
  }
});

test('axe finds no WCAG 2.1 A/AA violations in the preview, on a desktop and on a phone', async () => {
  const states = ['', '?grafica=barras&x=delegacion&y=votos&agregado=suma&f.proyectos_registrados=38',
    '?grafica=lineas&x=proyectos_registrados&y=votos&agregado=promedio&orden=votos&dir=desc&filas=3&pagina=2',
    '?orden=nope', '?q=nadie-coincide', '?lang=en&grafica=barras&x=delegacion&agregado=conteo'];
  for (const viewport of [{ width: 1280, height: 900 }, { width: 360, height: 740 }]) {
    const context = await newContext(browser, { viewport });
    try {
      const page = await context.newPage();
      for (const query of states) {
        const res = await page.goto(server.url + path + query);
        assert.equal(res.status(), query === '?orden=nope' ? 400 : 200, query);
        // Open the folded parts so that axe checks them too.
        await page.evaluate(() => document.querySelectorAll('#vista-previa details').forEach((d) => { d.open = true; }));
        await assertAccessible(page, `${query} @${viewport.width}px`);
        if (viewport.width < 600) {
          assert.deepEqual(await overflowOutsideScrollRegions(page), [], `${query}: wider than the phone`);
        }
      }
    } finally {
      await context.close();
    }
  }
});
