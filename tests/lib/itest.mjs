// Helpers shared by the integration suites: demo lookups, API tokens, raw HTTP over a socket and
// "nothing was written" snapshots. Everything talks to a real `abierto` over 127.0.0.1.
import { connect } from 'node:net';
import { Client } from './abierto.mjs';

export const PLAN = 'pamga-2025-2027';
export const AXES = ['Datos Abiertos', 'Presupuesto Participativo', 'Mi Barrio Habla', 'Cabildo Abierto Juvenil'];
export const USERS = {
  admin: 'admin@demo.abierto.mx',
  secretariado: 'secretariado@demo.abierto.mx',
  enlaceUT: 'enlace.transparencia@demo.abierto.mx',
  enlaceDPPD: 'enlace.presupuesto@demo.abierto.mx',
  enlaceDI: 'enlace.innovacion@demo.abierto.mx',
  ciudadania: 'ciudadania@demo.abierto.mx',
};

let unique = 0;
// A query string no earlier request used, so the page cache cannot answer it.
export function fresh() {
  unique += 1;
  return `_t=${process.pid}-${unique}`;
}

export async function getJson(base, path, headers = {}) {
  const r = await fetch(base + path, { headers });
  const body = await r.json();
  return { status: r.status, headers: r.headers, body };
}

// The demo plan as the API gives it, computed afresh (not from the page cache).
export async function planJson(base, key = PLAN) {
  const { status, body } = await getJson(base, `/api/v1/plans/${key}?${fresh()}`);
  if (status !== 200) throw new Error(`plan ${key}: ${status} ${JSON.stringify(body)}`);
  return body;
}

// Commitments of the demo plan by code, each with its axis title.
export async function commitmentsByCode(base) {
  const p = await planJson(base);
  const out = {};
  for (const ax of p.axes) for (const c of ax.commitments) out[c.code] = { ...c, axisTitle: ax.title, axisId: ax.id };
  return out;
}

// Waits until the data revision has stayed the same for a while: writes start background work
// (the open-data catalog republishes what changed, the ingest queue loads it), and a test that
// proves "nothing changed" must not start while that work is still landing.
export async function settle(base, quietMs = 1500, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last = await revision(base), since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await revision(base);
    if (now !== last) { last = now; since = Date.now(); } else if (Date.now() - since >= quietMs) return;
  }
  throw new Error('the data revision did not settle');
}

export async function revision(base) {
  const { body } = await getJson(base, '/healthz');
  return body.revision;
}

// Everything an observer could see change after a write: the database revision, the demo plan
// and every plan in the list.
export async function stateSnapshot(base) {
  const [rev, plan, plans] = await Promise.all([
    revision(base),
    planJson(base),
    getJson(base, `/api/v1/plans?${fresh()}`).then((r) => r.body),
  ]);
  return { rev, plan, plans };
}

export async function loggedIn(base, email) {
  const c = new Client(base);
  await c.login(email);
  return c;
}

// The CSRF token of a logged-in session (every page's logout form carries it).
export async function sessionCsrf(client) {
  return client.csrf('/panel');
}

// Calls POST /api/v1/actions/{name} as a browser session: cookie + X-CSRF-Token header.
export async function sessionAction(client, name, json) {
  const token = await sessionCsrf(client);
  const r = await client.post(`/api/v1/actions/${name}`, { json, headers: { 'x-csrf-token': token } });
  return { status: r.status, body: await r.json() };
}

// Logs in and creates an API token through tokens.create.
export async function apiToken(base, email) {
  const c = await loggedIn(base, email);
  const { status, body } = await sessionAction(c, 'tokens.create', { name: `pruebas ${email}` });
  if (status !== 200) throw new Error(`tokens.create: ${status} ${JSON.stringify(body)}`);
  return body.result.token;
}

export async function bearerAction(base, token, name, json) {
  const r = await fetch(`${base}/api/v1/actions/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  return { status: r.status, body: await r.json() };
}

// Sends raw bytes on a new connection and resolves with everything the server sent back
// until it closed the connection (the request should say "Connection: close").
export function rawHttp(port, bytes) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = connect(port, '127.0.0.1');
    s.setTimeout(30000, () => s.destroy(new Error('raw request timed out')));
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => chunks.push(d));
    s.on('error', (e) => (chunks.length ? resolve(Buffer.concat(chunks)) : reject(e)));
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

// Parses one HTTP/1.1 response with Content-Length. Returns null when it is incomplete.
export function parseResponse(buf) {
  const sep = buf.indexOf('\r\n\r\n');
  if (sep < 0) return null;
  const head = buf.subarray(0, sep).toString('latin1').split('\r\n');
  const m = head[0].match(/^HTTP\/1\.[01] (\d{3})/);
  if (!m) return null;
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const body = buf.subarray(sep + 4);
  if (headers['content-length'] === undefined) return null;
  const len = Number(headers['content-length']);
  if (body.length < len) return null;
  return { status: Number(m[1]), headers, body: body.subarray(0, len), extra: body.length - len };
}

export function count(haystack, needle) {
  return haystack.split(needle).length - 1;
}

// The codes of the commitments listed on a dashboard page.
export function listedCodes(html) {
  const out = [];
  for (const m of html.matchAll(/<li class="commitment">\s*<h3><a href="\/compromisos\/\d+">([^<]+?) · /g)) out.push(m[1]);
  return out;
}

// A small RFC 4180 reader: records of fields, quotes and newlines inside quotes (CRLF, LF or
// CR line ends).
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') q = false;
      else field += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}
