// Platform behaviour over real HTTP: health, metrics, security headers, error pages, body limits,
// malformed UTF-8 and graceful shutdown.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { backends, startServer, Client } from '../lib/abierto.mjs';
import { PLAN, USERS, rawHttp, parseResponse, stateSnapshot, loggedIn, sessionCsrf } from '../lib/itest.mjs';

function assertSecurityHeaders(h, what) {
  const csp = h.get('content-security-policy');
  assert.ok(csp, `${what}: Content-Security-Policy missing`);
  assert.doesNotMatch(csp, /unsafe-inline/, `${what}: CSP allows unsafe-inline`);
  assert.doesNotMatch(csp, /unsafe-eval/, `${what}: CSP allows unsafe-eval`);
  assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP lacks frame-ancestors 'none'`);
  assert.match(csp, /default-src 'self'/, `${what}: CSP lacks default-src 'self'`);
  assert.equal(h.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.ok(h.get('referrer-policy'), `${what}: Referrer-Policy missing`);
}

for (const backend of backends()) {
  describe(`platform (${backend.name})`, () => {
    let srv;
    before(async () => { srv = await startServer(backend); });
    after(async () => { await srv?.stop(); });

    it('/healthz answers JSON with the backend and revision', async () => {
      const r = await fetch(`${srv.url}/healthz`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      const b = await r.json();
      assert.equal(b.status, 'ok');
      assert.equal(b.db, backend.name);
      assert.ok(Number.isInteger(b.revision) && b.revision > 1, 'demo load bumped the revision');
      assert.equal(typeof b.version, 'string');
    });

    it('/metrics is Prometheus text with request counters and the latency histogram', async () => {
      for (const p of ['/', `/planes/${PLAN}`, '/no-existe', '/api/v1/plans']) await (await fetch(srv.url + p)).arrayBuffer();
      const r = await fetch(`${srv.url}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^text\/plain/);
      const t = await r.text();
      assert.match(t, /^# TYPE abierto_http_requests_total counter$/m);
      assert.match(t, /^abierto_http_requests_total\{[^}]*route="\/planes\/\{plan\}"[^}]*status="200"[^}]*\} [1-9]\d*$/m);
      assert.match(t, /^abierto_http_requests_total\{[^}]*status="404"[^}]*\} [1-9]\d*$/m);
      assert.match(t, /^# TYPE abierto_http_request_duration_seconds histogram$/m);
      assert.match(t, /^abierto_http_request_duration_seconds_bucket\{route="\/planes\/\{plan\}",le="\+Inf"\} [1-9]\d*$/m);
      assert.match(t, /^abierto_http_request_duration_seconds_count\{route="\/planes\/\{plan\}"\} [1-9]\d*$/m);
      assert.match(t, /^abierto_http_request_duration_seconds_sum\{route="\/planes\/\{plan\}"\} [0-9.e+-]+$/m);
      // Every sample line is "name{labels} number" or "name number".
      for (const line of t.split('\n')) {
        if (!line || line.startsWith('#')) continue;
        assert.match(line, /^[a-z_]+(\{.*\})? [0-9.e+-]+$/, `bad sample line: ${line}`);
      }
    });

    it('security headers on every kind of response', async () => {
      const cases = [
        ['/', 200, /text\/html/],
        [`/planes/${PLAN}`, 200, /text\/html/],
        ['/api/v1/plans', 200, /application\/json/],
        ['/static/abierto.css', 200, /text\/css/],
        ['/static/no-existe.js', 404, null],
        ['/no-existe', 404, /text\/html/],
        ['/api/v1/no-existe', 404, /application\/json/],
        ['/compromisos/abc', 400, /text\/html/],
        ['/api/v1/commitments/abc', 400, /application\/json/],
        [`/planes/${PLAN}/matriz.csv`, 200, /text\/csv/],
      ];
      for (const [path, status, type] of cases) {
        const r = await fetch(srv.url + path);
        await r.arrayBuffer();
        assert.equal(r.status, status, path);
        if (type) assert.match(r.headers.get('content-type'), type, path);
        assertSecurityHeaders(r.headers, path);
      }
      // A cached page keeps its headers too (second request is served from the cache).
      const again = await fetch(`${srv.url}/planes/${PLAN}`);
      await again.arrayBuffer();
      assertSecurityHeaders(again.headers, 'cached dashboard');
      // And a redirect.
      const red = await fetch(`${srv.url}/idioma?lang=en&next=/`, { redirect: 'manual' });
      assert.equal(red.status, 303);
      assertSecurityHeaders(red.headers, 'redirect');
    });

    it('unknown path gives a Spanish HTML 404 page', async () => {
      const r = await fetch(`${srv.url}/esto/no/existe`);
      assert.equal(r.status, 404);
      assert.match(r.headers.get('content-type'), /^text\/html/);
      const html = await r.text();
      assert.match(html, /<html lang="es">/);
      assert.match(html, /La página que buscas no existe/);
      assert.match(html, /href="\/"/, 'offers a way back home');
    });

    it('unknown /api/ path gives a JSON error object', async () => {
      for (const p of ['/api/v1/nada', '/api/v1/plans/no-existe', '/api/v1/commitments/999999', '/api/v1/actions/no.existe']) {
        const r = await fetch(srv.url + p);
        assert.equal(r.status, 404, p);
        assert.match(r.headers.get('content-type'), /^application\/json/, p);
        const b = await r.json();
        assert.equal(typeof b.error, 'object', p);
        assert.equal(b.error.code, 'not_found', p);
        assert.equal(typeof b.error.message, 'string', p);
        assert.ok(b.error.message.length > 0, p);
      }
    });

    it('a body over 16 MB is refused with 413 and nothing is written', async () => {
      const before = await stateSnapshot(srv.url);
      const big = Buffer.alloc(16 * 1024 * 1024 + 1024, 0x61);
      const r = await fetch(`${srv.url}/api/v1/actions/commitment.create`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: big,
      }).catch((e) => e);
      // The server answers 413 as soon as the declared length exceeds the limit; the client may
      // still be sending, so a reset after the answer is acceptable but the status must be 413.
      assert.ok(!(r instanceof Error), `request failed without a response: ${r?.cause?.code || r}`);
      assert.equal(r.status, 413);
      await r.arrayBuffer().catch(() => {});
      assert.deepEqual(await stateSnapshot(srv.url), before);
    });

    it('broken UTF-8 in a form field over a raw socket: 400 with a field error, nothing written', async () => {
      const c = await loggedIn(srv.url, USERS.admin);
      const csrf = await sessionCsrf(c);
      const before = await stateSnapshot(srv.url);
      const body = Buffer.concat([
        Buffer.from(`_csrf=${encodeURIComponent(csrf)}&name=`),
        Buffer.from([0x55, 0x6e, 0x69, 0xc3, 0x28, 0x64, 0xff, 0xfe]), // "Uni" + broken sequences
        Buffer.from('&acronym=X1'),
      ]);
      const head = `POST /api/v1/actions/units.create HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        `Cookie: ${c.cookieHeader()}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
      const res = parseResponse(await rawHttp(srv.port, Buffer.concat([Buffer.from(head), body])));
      assert.ok(res, 'complete response');
      assert.equal(res.status, 400);
      const b = JSON.parse(res.body.toString('utf8'));
      assert.equal(b.error.code, 'invalid_argument');
      assert.match(b.error.fields.name, /UTF-8/);
      // The same through the HTML form: the form comes back with the error beside the field.
      const formBody = Buffer.concat([
        Buffer.from(`_csrf=${encodeURIComponent(csrf)}&next=%2Fpanel&name=Uni%C3%28d&acronym=X2`),
      ]);
      const fhead = `POST /panel/accion/units.create HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        `Cookie: ${c.cookieHeader()}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${formBody.length}\r\nConnection: close\r\n\r\n`;
      const fres = parseResponse(await rawHttp(srv.port, Buffer.concat([Buffer.from(fhead), formBody])));
      assert.equal(fres.status, 400);
      const html = fres.body.toString('utf8');
      assert.match(html, /class="field-error" id="f-name-error">[^<]*UTF-8/);
      assert.deepEqual(await stateSnapshot(srv.url), before);
      const units = await (await fetch(`${srv.url}/api/v1/actions/units.list`)).json();
      assert.ok(!units.result.some((u) => u.acronym === 'X1' || u.acronym === 'X2'));
    });

    it('a malformed request line gets 400 from the HTTP layer', async () => {
      const res = parseResponse(await rawHttp(srv.port, Buffer.from('GET /\x01 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')));
      assert.ok(res);
      assert.equal(res.status, 400);
    });

    it('errors answered by the HTTP layer (413, malformed request) carry the security headers', async () => {
      const bad = parseResponse(await rawHttp(srv.port, Buffer.from('GET /\x01 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')));
      const big = parseResponse(await rawHttp(srv.port, Buffer.from(`POST /api/v1/plans HTTP/1.1\r\nHost: x\r\nContent-Length: ${17 * 1024 * 1024}\r\nConnection: close\r\n\r\n`)));
      for (const [what, r] of [['400', bad], ['413', big]]) {
        assert.ok(r, what);
        assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
        assert.match(r.headers['content-security-policy'] || '', /frame-ancestors 'none'/, what);
      }
    });

    // Last: it stops this suite's server.
    it('SIGTERM with requests in flight: complete responses, exit code 0', async () => {
      const exited = new Promise((resolve) => srv.proc.once('exit', (code, signal) => resolve({ code, signal })));
      const N = 20;
      let firstByte;
      const firstSeen = new Promise((r) => { firstByte = r; });
      const results = Array.from({ length: N }, (_, i) => new Promise((resolve) => {
        const chunks = [];
        const s = connect(srv.port, '127.0.0.1');
        s.setTimeout(30000, () => s.destroy());
        s.on('connect', () => s.write(`GET /planes/${PLAN}?q=&n=${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
        s.on('data', (d) => { chunks.push(d); firstByte(); });
        s.on('error', () => {});
        s.on('close', () => resolve(Buffer.concat(chunks)));
      }));
      // Signal once the server is demonstrably busy with this batch.
      await firstSeen;
      srv.proc.kill('SIGTERM');
      const bufs = await Promise.all(results);
      const { code, signal } = await exited;
      assert.equal(signal, null, 'exited by itself, not killed by the signal');
      assert.equal(code, 0);
      let complete = 0;
      for (const b of bufs) {
        if (b.length === 0) continue; // not yet read when the stop began: closed without a byte
        const r = parseResponse(b);
        assert.ok(r, `truncated response (${b.length} bytes): ${b.subarray(0, 80).toString()}`);
        assert.equal(r.status, 200);
        assert.equal(r.extra, 0);
        assert.match(r.body.toString('utf8'), /<\/html>\s*$/);
        complete += 1;
      }
      assert.ok(complete >= 1, 'at least the request already being answered completed');
      // Usually every request was read before the signal; report how many were.
      if (complete < N) console.log(`# shutdown: ${complete}/${N} requests had been read and were answered`);
    });
  });
}
