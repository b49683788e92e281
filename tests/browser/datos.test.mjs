// DatA-LEÓN in Debian's chromium: axe finds no WCAG 2.1 A/AA violation on the catalog's pages
// (public and a publisher's), and a publisher uploads a CSV through the dataset page's form,
// follows the progress page to its quality report, with and without JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/abierto.mjs';
import { launch, newContext, runAxe, describeViolations, loginThroughForm, watchConsole } from '../lib/browser.mjs';

const SET = '/datos/conjunto/proyectos-presupuesto-participativo-2025';
let server, browser, dir;

before(async () => {
  // Maps are checked in map.test.mjs with a tile server of their own; here none is reachable.
  server = await startServer({ name: 'sqlite' }, { args: ['--tile-url', 'none'] });
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), 'abierto-datos-browser-'));
});
after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function assertAccessible(page, label) {
  const violations = await runAxe(page);
  assert.deepEqual(violations.map((v) => v.id), [], describeViolations(label, violations));
}

test('the catalog pages have no WCAG 2.1 A/AA violations, on a desktop and on a phone', async () => {
  const pages = ['/datos', '/datos?q=delegacion&res_format=CSV', '/datos?q=nada-coincide', SET,
    '/datos/organizaciones', '/datos/organizaciones/unidad-de-transparencia', '/datos/temas',
    '/datos/temas/participacion-ciudadana', '/datos/politica', '/datos/solicitudes', '/datos?lang=en'];
  const resource = await (await fetch(`${server.url}/api/v1/actions/datos.package.show?id=proyectos-presupuesto-participativo-2025`)).json();
  pages.push(`${SET}/recurso/${resource.result.resources[0].id}`);
  for (const viewport of [{ width: 1280, height: 900 }, { width: 360, height: 740 }]) {
    const context = await newContext(browser, { viewport });
    try {
      const page = await context.newPage();
      const problems = watchConsole(page);
      for (const path of pages) {
        const res = await page.goto(server.url + path);
        assert.equal(res.status(), 200, path);
        await assertAccessible(page, `${path} @${viewport.width}px`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  }
});

for (const javaScriptEnabled of [true, false]) {
  test(`a publisher uploads a CSV and follows its load (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const context = await newContext(browser, { javaScriptEnabled });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20000);
      const problems = watchConsole(page);
      await loginThroughForm(page, server.url, 'enlace.presupuesto@demo.abierto.mx');
      await page.goto(server.url + SET);
      // axe runs inside the page, so it is checked with JavaScript on only.
      if (javaScriptEnabled) await assertAccessible(page, `${SET} (publisher)`);
      const file = join(dir, `colonias-${javaScriptEnabled}.csv`);
      writeFileSync(file, 'colonia;habitantes\nCentro;12000\nLas Joyas;45000\nSan Juan Bosco;30000\n');
      const name = `Habitantes por colonia (${javaScriptEnabled ? 'js' : 'sin js'})`;
      await page.getByLabel('Nombre del recurso').fill(name);
      await page.getByLabel('Archivo').setInputFiles(file);
      await page.getByRole('button', { name: 'Agregar' }).click();
      await page.waitForURL(/\/datos\/trabajos\/\d+/);
      if (javaScriptEnabled) await assertAccessible(page, 'progress page');
      await page.getByText('Datos cargados y publicados').waitFor({ timeout: 20000 });
      assert.match(await page.locator('main').textContent(), /Filas cargadas\s*3/);
      await page.getByRole('link', { name: 'Volver al conjunto de datos' }).click();
      await page.getByRole('link', { name }).click();
      assert.match(await page.locator('main').textContent(), /Reporte de calidad de los datos/);
      if (javaScriptEnabled) await assertAccessible(page, 'resource page (publisher)');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}
