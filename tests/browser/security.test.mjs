// Security smoke in a real browser: the pages keep to their Content-Security-Policy (no
// violations, no console errors) and carry no inline script, handler or style for it to block.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/abierto.mjs';
import { launch, newContext, watchConsole, loginThroughForm } from '../lib/browser.mjs';

const PLAN = '/planes/pamga-2025-2027';
let server, browser, commitmentPaths;

before(async () => {
  server = await startServer({ name: 'sqlite' });
  browser = await launch();
  const plan = await (await fetch(`${server.url}/api/v1/plans/pamga-2025-2027`)).json();
  commitmentPaths = plan.axes.flatMap((a) => a.commitments.map((c) => `/compromisos/${c.id}`));
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// A context whose pages record every CSP violation event (the init script is injected by the
// browser itself, so the page's CSP does not apply to it).
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

async function inlineCode(page) {
  return page.evaluate(() => ({
    inlineScripts: [...document.scripts].filter((s) => !s.src).map((s) => s.outerHTML.slice(0, 80)),
    foreignScripts: [...document.scripts].filter((s) => s.src && new URL(s.src).origin !== location.origin).map((s) => s.src),
    handlers: [...document.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName}[${a.name}]`)),
    styleAttributes: [...document.querySelectorAll('[style]')].map((el) => el.tagName),
    scriptUrls: [...document.querySelectorAll('[href], [action], [src]')]
      .map((el) => el.getAttribute('href') ?? el.getAttribute('action') ?? el.getAttribute('src'))
      .filter((u) => /^\s*javascript:/i.test(u)),
  }));
}

async function checkPage(page, problems, path) {
  const res = await page.goto(server.url + path);
  assert.equal(res.status(), 200, path);
  const csp = res.headers()['content-security-policy'] || '';
  assert.match(csp, /script-src 'self'(;|$)/, `${path}: CSP ${csp}`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
  assert.match(csp, /frame-ancestors 'none'/, path);
  assert.equal(res.headers()['x-content-type-options'], 'nosniff', path);
  // The page's own script ran (it is 'self'), so a blocked one would have been reported.
  assert.deepEqual(await inlineCode(page), {
    inlineScripts: [], foreignScripts: [], handlers: [], styleAttributes: [], scriptUrls: [],
  }, path);
  assert.deepEqual(await page.evaluate(() => window.__csp), [], `${path}: CSP violations`);
  assert.deepEqual(problems.splice(0), [], `${path}: console errors`);
}

test('dashboard and commitment pages: no CSP violations, console errors or inline code', async () => {
  const context = await watchedContext();
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    for (const path of ['/', PLAN, `${PLAN}?estado=critico`, `${PLAN}?lang=en`, ...commitmentPaths, '/entrar']) {
      await checkPage(page, problems, path);
    }
    // Interacting (the filter script submits the form) stays clean too.
    await page.goto(server.url + PLAN);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('estado') === 'critico'),
      page.getByLabel('Semáforo', { exact: true }).selectOption('critico'),
    ]);
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('logged-in panel and progress form keep to the same policy', async () => {
  const context = await watchedContext();
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    await loginThroughForm(page, server.url, 'enlace.transparencia@demo.abierto.mx');
    for (const path of ['/panel', '/panel/accion/progress.file?action_id=2&next=/panel']) {
      await checkPage(page, problems, path);
    }
  } finally {
    await context.close();
  }
});

test('the watchers do catch an inline script the policy blocks', async () => {
  const context = await watchedContext();
  try {
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(server.url + PLAN);
    const reported = page.waitForEvent('console', { predicate: (m) => /Content Security Policy/.test(m.text()) });
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__ran = true';
      document.body.append(s);
    });
    await page.waitForFunction(() => window.__csp.length > 0);
    assert.equal(await page.evaluate(() => window.__ran), undefined, 'the inline script did not run');
    assert.match((await page.evaluate(() => window.__csp)).join(), /script-src/);
    assert.equal((await inlineCode(page)).inlineScripts.length, 1);
    await reported;
    assert.ok(problems.some((p) => /Content Security Policy/.test(p)), problems.join('\n'));
  } finally {
    await context.close();
  }
});
