// Starts the real `abierto` binary for integration and browser tests and talks HTTP to it.
// Every server listens on 127.0.0.1 on a free port and is stopped by the test that started it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = process.env.ABIERTO_BIN || join(repoRoot, 'build', 'abierto');
// The demo's traffic lights depend on the date; tests pin it.
export const TODAY = '2026-11-21';
export const DEMO_PASSWORD = 'demo-abierto-2025';

// The backends every integration suite runs against: SQLite always, PostgreSQL when CI (or the
// developer) started a cluster and exported its URL.
export function backends() {
  const list = [{ name: 'sqlite' }];
  if (process.env.ABIERTO_TEST_PG_URL) list.push({ name: 'postgresql', url: process.env.ABIERTO_TEST_PG_URL });
  return list;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts `abierto demo` (fresh demo database) or `abierto serve` on a backend.
// Returns {url, port, db, proc, stop(), logs()}.
export async function startServer(backend, { demo = true, db, env = {}, args = [] } = {}) {
  const port = await freePort();
  let dir = null;
  if (!db) {
    if (backend.name === 'sqlite') {
      dir = mkdtempSync(join(tmpdir(), 'abierto-test-'));
      db = `sqlite:${join(dir, 'test.db')}`;
    } else {
      db = backend.url;
    }
  }
  const cmd = demo ? 'demo' : 'serve';
  const proc = spawn(bin, [cmd, '--port', String(port), '--db', db, '--host', '127.0.0.1', ...args], {
    env: { ...process.env, ABIERTO_TODAY: TODAY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`abierto exited with ${proc.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`abierto did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async (signal = 'SIGTERM') => {
    // A process killed by a signal has a signalCode and no exitCode.
    if (proc.exitCode === null && proc.signalCode === null) {
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
      await done;
      clearTimeout(t);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  return { url, port, db, proc, stop, logs: () => out };
}

// A small browser-like client: keeps cookies, follows nothing by itself.
export class Client {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
  }
  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async request(method, path, { body, headers = {}, json } = {}) {
    const h = { ...headers };
    if (this.cookies.size) h.cookie = this.cookieHeader();
    let payload = body;
    if (json !== undefined) {
      payload = JSON.stringify(json);
      h['content-type'] = 'application/json';
    } else if (body && typeof body === 'object' && !(body instanceof FormData) && !(body instanceof Uint8Array)) {
      payload = new URLSearchParams(body).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
    }
    const r = await fetch(this.base + path, { method, headers: h, body: payload, redirect: 'manual' });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const k = pair.slice(0, i), v = pair.slice(i + 1);
      if (v === '' || /max-age=0/i.test(c)) this.cookies.delete(k); else this.cookies.set(k, v);
    }
    return r;
  }
  get(path, opts) { return this.request('GET', path, opts); }
  post(path, opts) { return this.request('POST', path, opts); }
  // The CSRF token of the first form on a page.
  async csrf(path) {
    const html = await (await this.get(path)).text();
    const m = html.match(/name="_csrf" value="([^"]+)"/);
    if (!m) throw new Error(`no CSRF token on ${path}`);
    return m[1];
  }
  async login(email, password = DEMO_PASSWORD) {
    const token = await this.csrf('/entrar');
    const r = await this.post('/entrar', { body: { _csrf: token, email, password, next: '/panel' } });
    if (r.status !== 303) throw new Error(`login of ${email} failed: ${r.status} ${await r.text()}`);
    return r;
  }
}
