// WCAG 2.1 A/AA checks with axe-core on every public page of the plan module and on the
// logged-in pages an enlace and the Secretariado use. Zero violations are accepted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Client } from '../lib/abierto.mjs';
import { launch, newContext, runAxe, describeViolations, loginThroughForm } from '../lib/browser.mjs';

const PLAN = '/planes/pamga-2025-2027';
let server, browser, commitments;

before(async () => {
  server = await startServer({ name: 'sqlite' });
  browser = await launch();
  const plan = await (await fetch(`${server.url}/api/v1/plans/pamga-2025-2027`)).json();
  commitments = plan.axes.flatMap((a) => a.commitments.map((c) => ({ id: c.id, code: c.code })));
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function assertAccessible(page, label) {
  const violations = await runAxe(page);
  assert.deepEqual(violations.map((v) => v.id), [], describeViolations(label, violations));
}

// Pages a resident reaches without an account, with the status each must answer.
function publicPages() {
  return [
    ['/', 200],
    [PLAN, 200],
    [`${PLAN}?estado=critico`, 200],
    [`${PLAN}?q=datos&eje=1`, 200],
    [`${PLAN}?q=sin-resultados-posibles`, 200],
    ...commitments.map((c) => [`/compromisos/${c.id}`, 200]),
    ['/entrar', 200],
    ['/no-existe', 404],
    ['/compromisos/999999', 404],
    [`${PLAN}?lang=en`, 200],
    [`${PLAN}?lang=en&estado=con_retraso`, 200],
    [`/compromisos/${commitments[0].id}?lang=en`, 200],
    ['/presupuesto', 200],
    ['/presupuesto/presupuesto-2025', 200],
    ['/presupuesto/presupuesto-2025?q=jardin&estado=viable', 200],
    ['/presupuesto/proyectos/1', 200],
    ['/presupuesto/presupuesto-2025/resultados/1', 200],
    ['/presupuesto/presupuesto-2026/votar?zona=9', 200],
    ['/presupuesto/recibo?codigo=AAAAA-AAAAA', 200],
    ['/presupuesto/presupuesto-2025?lang=en', 200],
  ];
}

test('every public page has no WCAG 2.1 A/AA violations (desktop, and the main ones on a phone)', async () => {
  assert.equal(commitments.length, 5, 'the demo has five commitments');
  const phone = new Set(['/', PLAN, `/compromisos/${commitments[0].id}`, '/entrar', '/presupuesto/presupuesto-2025', '/presupuesto/proyectos/1']);
  for (const viewport of [{ width: 1280, height: 900 }, { width: 360, height: 740 }]) {
    const context = await newContext(browser, { viewport });
    try {
      const page = await context.newPage();
      for (const [path, status] of publicPages()) {
        if (viewport.width < 600 && !phone.has(path)) continue;
        const res = await page.goto(server.url + path);
        assert.equal(res.status(), status, path);
        assert.equal(await page.locator('html').getAttribute('lang'), /lang=en/.test(path) ? 'en' : 'es', path);
        await assertAccessible(page, `${path} @${viewport.width}px`);
      }
    } finally {
      await context.close();
    }
  }
});

test('a failed login re-renders an accessible form with its error announced', async () => {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/entrar`);
    await page.getByLabel('Correo electrónico').fill('enlace.transparencia@demo.abierto.mx');
    await page.getByLabel('Contraseña').fill('no-es-la-contraseña');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Entrar' }).click()]);
    assert.equal(await page.getByRole('alert').count(), 1);
    assert.equal(await page.getByLabel('Correo electrónico').inputValue(), 'enlace.transparencia@demo.abierto.mx');
    await assertAccessible(page, 'failed login');
  } finally {
    await context.close();
  }
});

test('the enlace panel and the progress form, empty and with field errors, are accessible', async () => {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    await loginThroughForm(page, server.url, 'enlace.transparencia@demo.abierto.mx');
    await assertAccessible(page, '/panel (enlace)');

    await page.getByRole('link', { name: 'Reportar avance' }).first().click();
    await page.waitForURL((u) => u.pathname === '/panel/accion/progress.file');
    await assertAccessible(page, 'progress form');
    // Help texts are read with their field.
    const value = page.getByLabel('Valor alcanzado del indicador');
    assert.match(await value.evaluate((el) => el.getAttribute('aria-describedby')), /f-value-help/);

    // Submitting it empty re-renders it with each error tied to its field.
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Guardar' }).click()]);
    assert.equal(new URL(page.url()).pathname, '/panel/accion/progress.file');
    assert.equal(await page.getByRole('alert').count(), 1, 'the form says it failed');
    const invalid = page.locator('[aria-invalid="true"]');
    assert.ok(await invalid.count() >= 2, 'value and narrative are marked invalid');
    for (const el of await invalid.all()) {
      const ids = (await el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
      const errorId = ids.find((i) => i.endsWith('-error'));
      assert.ok(errorId, `${await el.getAttribute('name')} points at its error`);
      assert.ok((await page.locator(`#${errorId}`).textContent()).trim().length > 0);
    }
    await assertAccessible(page, 'progress form with errors');

    // The same form in English has real labels, not message keys.
    await page.goto(`${server.url}/panel/accion/progress.file?action_id=2&next=/panel&lang=en`);
    const labels = await page.locator('main label').allInnerTexts();
    assert.ok(labels.length >= 4);
    for (const l of labels) assert.doesNotMatch(l, /^(field|help)\./, `untranslated label ${l}`);
    await assertAccessible(page, 'progress form (en)');
  } finally {
    await context.close();
  }
});

test('the Secretariado panel with a pending report and the return form are accessible', async () => {
  // A pending report to review, filed over HTTP by the enlace.
  const enlace = new Client(server.url);
  await enlace.login('enlace.transparencia@demo.abierto.mx');
  const csrf = await enlace.csrf('/panel/accion/progress.file?action_id=1');
  const filed = await enlace.post('/panel/accion/progress.file', {
    body: { _csrf: csrf, action_id: '1', value: '1', narrative: 'Reporte para revisar la accesibilidad del panel.', next: '/panel' },
  });
  assert.equal(filed.status, 303);

  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    await loginThroughForm(page, server.url, 'secretariado@demo.abierto.mx');
    const card = page.locator('li.card[data-report-id]').filter({ hasText: 'Reporte para revisar la accesibilidad' });
    assert.equal(await card.count(), 1);
    await assertAccessible(page, '/panel (secretariado)');

    await card.getByRole('link', { name: 'Devolver' }).click();
    await page.waitForURL((u) => u.pathname === '/panel/accion/progress.return');
    await assertAccessible(page, 'return form');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Guardar' }).click()]);
    assert.equal(await page.locator('[aria-invalid="true"]').count(), 1, 'the reason is required');
    await assertAccessible(page, 'return form with errors');
  } finally {
    await context.close();
  }
});

test('the checker itself reports a real violation (guards against a silent no-op)', async () => {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/entrar`);
    await page.evaluate(() => document.querySelector('label[for=email]').remove());
    const violations = await runAxe(page);
    assert.ok(violations.some((v) => v.id === 'label'), describeViolations('/entrar without label', violations));
  } finally {
    await context.close();
  }
});

test('after an empty submit only the required fields are marked invalid', async () => {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    await loginThroughForm(page, server.url, 'enlace.transparencia@demo.abierto.mx');
    await page.goto(`${server.url}/panel/accion/progress.file?action_id=2&next=/panel`);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Guardar' }).click()]);
    const invalid = await page.locator('[aria-invalid="true"]').evaluateAll((els) => els.map((e) => e.name));
    assert.deepEqual(invalid.sort(), ['narrative', 'value']);
    assert.equal(await page.locator('.field-error').count(), 2);
  } finally {
    await context.close();
  }
});
