// Browser support for the tests in tests/browser: Debian's chromium driven by playwright-core
// (no browser download), axe-core run inside the page, and a watcher for console errors.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { DEMO_PASSWORD } from './abierto.mjs';

const require = createRequire(import.meta.url);

// The chromium of the Debian package; CHROMIUM_PATH overrides it on other systems.
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update'],
  });
}

// A fresh context per scenario: no cookies or cache shared between users.
export async function newContext(browser, options = {}) {
  return browser.newContext({ locale: 'es-MX', ...options });
}

// Records console errors, CSP reports and uncaught page errors of a page.
export function watchConsole(page) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) {
      problems.push(`console.${m.type()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

// The page's CSP forbids inline scripts, so axe is not injected as a <script>: evaluating its
// source through the DevTools protocol is not subject to the page's CSP.
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export async function runAxe(page) {
  const injected = await page.evaluate(() => typeof window.axe === 'object');
  if (!injected) await page.evaluate(axeSource);
  return page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  }, WCAG_TAGS);
}

// A readable summary for assertion messages.
export function describeViolations(url, violations) {
  return violations
    .map((v) => `${url}: [${v.impact}] ${v.id} — ${v.help}\n    ${v.nodes.join('\n    ')}`)
    .join('\n');
}

// Logs in through the real /entrar form, as a person would.
export async function loginThroughForm(page, base, email, password = DEMO_PASSWORD) {
  await page.goto(`${base}/entrar`);
  await page.getByLabel(/correo/i).fill(email);
  await page.getByLabel(/contraseña/i).fill(password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/panel'),
    page.getByRole('button', { name: /entrar/i }).click(),
  ]);
}

// Elements that stick out of the viewport horizontally without being inside a scroll region
// (an element with overflow-x auto/scroll that itself fits the viewport), and the document
// itself when it is wider than the viewport. Empty when the page reflows to the screen width.
export async function overflowOutsideScrollRegions(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const inScroller = (el) => {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if ((o === 'auto' || o === 'scroll') && p.getBoundingClientRect().right <= width + 0.5) return true;
      }
      return false;
    };
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || (r.right <= width + 0.5 && r.left >= -0.5)) continue;
      if (getComputedStyle(el).position === 'absolute' && r.right <= 0) continue; // skip link, off-screen until focused
      if (!inScroller(el)) out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : ''} [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    }
    // An absolutely positioned element inside a scroll region whose containing block is outside
    // it is not clipped by it: the page scrolls sideways although every box above looks fine.
    const docWidth = document.documentElement.scrollWidth;
    if (docWidth > width + 0.5) out.push(`document scrollWidth ${docWidth} > ${width}`);
    return out;
  });
}
