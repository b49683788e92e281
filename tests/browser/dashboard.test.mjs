// The public dashboard in a real browser: content, the traffic-light chart, filters with and
// without JavaScript, and a phone-sized viewport without sideways scrolling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/abierto.mjs';
import { launch, newContext, overflowOutsideScrollRegions } from '../lib/browser.mjs';

const PLAN = '/planes/pamga-2025-2027';
let server, browser;

before(async () => {
  server = await startServer({ name: 'sqlite' });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the dashboard shows the plan, its four axes, the traffic-light chart and the commitments', async () => {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    const res = await page.goto(server.url + PLAN);
    assert.equal(res.status(), 200);
    const h1 = page.getByRole('heading', { level: 1 });
    assert.equal((await h1.textContent()).trim(), 'Plan de Acción Municipal de Gobierno Abierto 2025-2027');
    assert.match(await page.title(), /Plan de Acción Municipal de Gobierno Abierto 2025-2027/);

    const axes = page.getByRole('table', { name: /cada eje/ }).locator('tbody th[scope=row]');
    assert.deepEqual((await axes.allTextContents()).map((s) => s.trim()),
      ['Datos Abiertos', 'Presupuesto Participativo', 'Mi Barrio Habla', 'Cabildo Abierto Juvenil']);

    // The traffic-light chart: an image with an accessible name from its <title>.
    const chart = page.getByRole('img', { name: 'Compromisos por semáforo' });
    assert.equal(await chart.count(), 1);
    assert.equal(await chart.evaluate((el) => el.tagName.toLowerCase()), 'svg');
    const title = await chart.evaluate((el) => el.querySelector(':scope > title')?.textContent);
    assert.equal(title, 'Compromisos por semáforo');
    assert.ok(await chart.locator('rect').count() > 0, 'the chart draws its segments');

    const items = page.locator('ul.commitments > li.commitment');
    assert.equal(await items.count(), 5);
    const codes = (await items.locator('h3 a').allTextContents()).map((s) => s.split(' · ')[0].trim());
    assert.deepEqual(codes, ['DA-01', 'DA-02', 'PP-01', 'MB-01', 'CJ-01']);
    for (const href of await items.locator('h3 a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
      assert.match(href, /^\/compromisos\/\d+$/);
    }
    assert.match(await page.locator('#shown').textContent(), /^5 compromisos mostrados/);
  } finally {
    await context.close();
  }
});

test('choosing a state filters the commitments (the script submits the form on change)', async () => {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(server.url + PLAN);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('estado') === 'con_retraso'),
      page.getByLabel('Semáforo', { exact: true }).selectOption('con_retraso'),
    ]);
    const items = page.locator('ul.commitments > li.commitment');
    assert.equal(await items.count(), 1);
    assert.match(await items.locator('h3').textContent(), /^DA-01 · /);
    assert.equal(await items.locator('.badge').textContent(), 'Con retraso');
    assert.match(await page.locator('#shown').textContent(), /^1 compromisos mostrados/);
    // The choice survives the reload, and there is a way back to the full list.
    assert.equal(await page.getByLabel('Semáforo', { exact: true }).inputValue(), 'con_retraso');
    assert.equal(await page.getByRole('link', { name: 'Quitar filtros' }).count(), 1);
  } finally {
    await context.close();
  }
});

test('the filter form works with JavaScript disabled', async () => {
  const context = await newContext(browser, { javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(server.url + PLAN);
    await page.getByLabel('Semáforo', { exact: true }).selectOption('critico');
    // Without the script, choosing does nothing by itself: the page stays unfiltered.
    assert.equal(new URL(page.url()).searchParams.get('estado'), null);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('estado') === 'critico'),
      page.getByRole('button', { name: 'Filtrar' }).click(),
    ]);
    const badges = page.locator('ul.commitments > li.commitment .badge');
    assert.equal(await badges.count(), 4);
    for (const b of await badges.allTextContents()) assert.equal(b, 'Crítico');
    const codes = (await page.locator('ul.commitments h3').allTextContents()).map((s) => s.split(' · ')[0]);
    assert.ok(!codes.includes('DA-01'), `DA-01 is late, not critical: ${codes}`);
    assert.match(await page.locator('#shown').textContent(), /^4 compromisos mostrados/);
  } finally {
    await context.close();
  }
});

test('a 360×740 phone viewport has no sideways scrolling outside the scroll regions', async () => {
  const context = await newContext(browser, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  try {
    const page = await context.newPage();
    const commitment = async () => {
      await page.goto(server.url + PLAN);
      return page.locator('ul.commitments h3 a').first().getAttribute('href');
    };
    const first = await commitment();
    for (const path of ['/', PLAN, `${PLAN}?estado=critico`, first, '/entrar']) {
      await page.goto(server.url + path);
      const { scrollWidth, innerWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
      }));
      assert.equal(innerWidth, 360);
      assert.ok(scrollWidth <= innerWidth, `${path}: page is ${scrollWidth}px wide on a ${innerWidth}px screen`);
      const outside = await overflowOutsideScrollRegions(page);
      assert.deepEqual(outside, [], `${path}: elements wider than the screen outside a scroll region`);
    }
    // The matrix is wider than a phone, so it really scrolls inside its own region, which the
    // keyboard can reach and which has a name.
    await page.goto(server.url + first);
    const region = page.getByRole('region', { name: /^Objetivo – Acción – Responsable/ });
    assert.equal(await region.count(), 1, 'the matrix sits in a region named by its caption');
    assert.equal(await region.locator('table.matrix').count(), 1);
    const r = await region.evaluate((el) => ({
      scrolls: el.scrollWidth > el.clientWidth,
      overflow: getComputedStyle(el).overflowX,
      tabindex: el.getAttribute('tabindex'),
    }));
    assert.deepEqual(r, { scrolls: true, overflow: 'auto', tabindex: '0' });
  } finally {
    await context.close();
  }
});
