// The story of a progress report, in three browsers' worth of contexts: the enlace of the
// Unidad de Transparencia reports DA-01's datasets goal as reached, the Secretariado Técnico
// validates it, and an anonymous resident sees the public traffic light and history change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/abierto.mjs';
import { launch, newContext, loginThroughForm, watchConsole } from '../lib/browser.mjs';

const ACTION = 'Publicar conjuntos de datos prioritarios';
const NARRATIVE = 'Se publicaron los 60 conjuntos de datos prioritarios en DatA-LEÓN.';
const EVIDENCE = 'https://datos.leon.gob.mx/catalogo/prioritarios';
let server, browser;

before(async () => {
  server = await startServer({ name: 'sqlite' });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// "72.5%" (or "72,5 %") → 72.5
const percent = (s) => Number(s.replace(/[^\d.,-]/g, '').replace(',', '.'));

// What a resident sees at the top of a commitment page and in its matrix row.
async function publicView(path) {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    const res = await page.goto(server.url + path);
    assert.equal(res.status(), 200);
    const summary = page.locator('main h1 + p, main h1 + p.note + p').filter({ has: page.locator('.badge') }).first();
    const row = page.locator('table.matrix tbody tr').filter({ has: page.getByRole('rowheader', { name: ACTION }) });
    const view = {
      badge: (await summary.locator('.badge').textContent()).trim(),
      state: await summary.locator('.badge').getAttribute('data-state'),
      progress: (await summary.locator('strong').textContent()).trim(),
      rowBadge: (await row.locator('.badge').textContent()).trim(),
      evidence: await page.locator('section[aria-labelledby=h-evidencia]').innerText(),
      evidenceLinks: await page.locator('section[aria-labelledby=h-evidencia] a').evaluateAll((as) => as.map((a) => a.href)),
      history: await page.locator('section[aria-labelledby=h-historial] ol.history > li').allInnerTexts(),
    };
    assert.deepEqual(problems, []);
    return view;
  } finally {
    await context.close();
  }
}

test('an enlace reports progress, the Secretariado validates it and the public page changes', async () => {
  // DA-01's page, found the way a resident finds it: from the dashboard.
  let commitmentPath;
  {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.url}/planes/pamga-2025-2027`);
    commitmentPath = await page.getByRole('link', { name: /^DA-01 · / }).getAttribute('href');
    await context.close();
  }
  assert.match(commitmentPath, /^\/compromisos\/\d+$/);
  const before = await publicView(commitmentPath);
  assert.equal(before.badge, 'Con retraso');
  assert.equal(before.rowBadge, 'Con retraso');
  assert.ok(!before.evidence.includes(NARRATIVE));

  // 1. The enlace files the report through the panel.
  const enlace = await newContext(browser);
  try {
    const page = await enlace.newPage();
    const problems = watchConsole(page);
    await loginThroughForm(page, server.url, 'enlace.transparencia@demo.abierto.mx');
    await page.goto(`${server.url}/panel`);
    const card = page.locator('li.card').filter({ has: page.getByRole('heading', { name: `DA-01 · ${ACTION}` }) });
    assert.equal(await card.count(), 1);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/panel/accion/progress.file'),
      card.getByRole('link', { name: 'Reportar avance' }).click(),
    ]);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Reportar avance');
    await page.getByLabel('Valor alcanzado del indicador').fill('60');
    await page.getByLabel('Descripción del avance').fill(NARRATIVE);
    await page.getByLabel('Liga a la evidencia').fill(EVIDENCE);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/panel' && u.searchParams.get('hecho') === 'progress.file'),
      page.getByRole('button', { name: 'Guardar' }).click(),
    ]);
    assert.match(await page.getByRole('status').textContent(), /Tu reporte de avance quedó registrado/);
    const after = page.locator('li.card').filter({ has: page.getByRole('heading', { name: `DA-01 · ${ACTION}` }) });
    assert.match(await after.innerText(), /pendiente de validación/);
    // A 4xx/5xx would show up as a console error of the browser.
    assert.deepEqual(problems, []);
  } finally {
    await enlace.close();
  }

  // Pending reports do not count yet.
  const pending = await publicView(commitmentPath);
  assert.equal(pending.badge, before.badge);
  assert.equal(pending.progress, before.progress);

  // 2. The Secretariado Técnico validates it.
  const secretariado = await newContext(browser);
  try {
    const page = await secretariado.newPage();
    await loginThroughForm(page, server.url, 'secretariado@demo.abierto.mx');
    await page.goto(`${server.url}/panel`);
    const card = page.locator('li.card[data-report-id]').filter({ hasText: NARRATIVE });
    assert.equal(await card.count(), 1, 'the new report waits for validation');
    assert.match(await card.innerText(), /DA-01/);
    assert.equal(await card.getByRole('link', { name: 'Ver evidencia' }).getAttribute('href'), EVIDENCE);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('hecho') === 'progress.validate'),
      card.getByRole('button', { name: 'Validar' }).click(),
    ]);
    assert.match(await page.getByRole('status').textContent(), /validado/);
    assert.equal(await page.locator('li.card[data-report-id]').filter({ hasText: NARRATIVE }).count(), 0);
  } finally {
    await secretariado.close();
  }

  // 3. A resident, without an account, sees the change.
  const now = await publicView(commitmentPath);
  assert.notEqual(now.badge, before.badge, `traffic light still ${now.badge}`);
  assert.equal(now.badge, 'Cumplido');
  assert.equal(now.state, 'cumplido');
  assert.ok(percent(now.progress) > percent(before.progress), `${before.progress} → ${now.progress}`);
  assert.equal(percent(now.progress), 100);
  assert.equal(now.rowBadge, 'Cumplido');
  assert.ok(now.evidence.includes(NARRATIVE), 'the validated report is listed as evidence');
  assert.ok(now.evidenceLinks.includes(EVIDENCE), 'with its evidence link');
  // Newest first: the validation by the Secretariado, then the enlace's report.
  const count = (h, what) => h.filter((x) => x.includes(what)).length;
  assert.equal(count(now.history, 'Validar avance'), count(before.history, 'Validar avance') + 1);
  assert.equal(now.history.length, before.history.length + 2, `history:\n${now.history.join('\n---\n')}`);
  assert.match(now.history[0], /^.* · Validar avance · Secretariado Técnico/);
  assert.match(now.history[0], /Estado: .*pendiente.* → .*validado/);
  assert.match(now.history[1], /^.* · Reportar avance · Enlace/);
});
