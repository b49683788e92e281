// The public dashboard as a resident sees it, without an account.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer } from '../lib/abierto.mjs';
import { PLAN, AXES, commitmentsByCode, planJson, listedCodes, count } from '../lib/itest.mjs';

async function page(base, path) {
  const r = await fetch(base + path);
  return { status: r.status, type: r.headers.get('content-type'), html: await r.text() };
}

for (const backend of backends()) {
  describe(`public dashboard (${backend.name})`, () => {
    let srv, base, byCode, plan;
    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      plan = await planJson(base);
      byCode = await commitmentsByCode(base);
    });
    after(async () => { await srv?.stop(); });

    it('/ lists the plans with links to their dashboards', async () => {
      const { status, html } = await page(base, '/');
      assert.equal(status, 200);
      assert.match(html, /<html lang="es">/);
      assert.match(html, /Plan de Acción Municipal de Gobierno Abierto 2025-2027/);
      assert.match(html, /Plan de Acción Municipal de Gobierno Abierto 2023-2024/);
      assert.match(html, /href="\/planes\/pamga-2025-2027"/);
      assert.match(html, /href="\/planes\/pamga-2023-2024"/);
    });

    it('the plan page has the four axes, the traffic-light chart and the four indicators', async () => {
      const { status, html } = await page(base, `/planes/${PLAN}`);
      assert.equal(status, 200);
      for (const a of AXES) assert.match(html, new RegExp(`<th scope="row"><a href="\\?eje=\\d+#h-compromisos">${a}</a></th>`), a);
      assert.deepEqual(plan.axes.map((a) => a.title), AXES);
      // Two accessible SVG charts: traffic-light distribution and progress by axis.
      const svgs = [...html.matchAll(/<svg[^>]*>/g)].map((m) => m[0]);
      assert.ok(svgs.length >= 2);
      for (const s of svgs) assert.match(s, /role="img"/);
      assert.match(html, /<svg[^>]*role="img"[^>]*>[\s\S]*?<title[^>]*>Compromisos por semáforo/);
      for (const name of ['Participación', 'Transparencia', 'Ambición', 'Sostenibilidad'])
        assert.match(html, new RegExp(`<li><h3>${name}</h3><p class="kpi-value">[^<]+</p><p class="formula">[^<]{10,}</p></li>`), name);
      assert.equal(count(html, 'class="formula"'), 4);
      // Every commitment is listed when nothing is filtered.
      assert.deepEqual(listedCodes(html).sort(), Object.keys(byCode).sort());
      assert.match(html, new RegExp(`<p aria-live="polite" id="shown">${Object.keys(byCode).length} compromisos`));
    });

    it('the page agrees with the API on counters and traffic lights', async () => {
      const { html } = await page(base, `/planes/${PLAN}`);
      assert.match(html, new RegExp(`<span class="kpi-value">${plan.counters.commitments}</span><span class="kpi-label">compromisos`));
      assert.match(html, new RegExp(`<span class="kpi-value">${plan.counters.actions}</span><span class="kpi-label">acciones`));
      for (const c of Object.values(byCode))
        assert.match(html, new RegExp(`${c.code} · [\\s\\S]*?<span class="badge" data-state="${c.state.key}">`), c.code);
    });

    it('filter by axis, state and unit narrows the list', async () => {
      for (const ax of plan.axes) {
        const { html } = await page(base, `/planes/${PLAN}?eje=${ax.id}`);
        assert.deepEqual(listedCodes(html).sort(), ax.commitments.map((c) => c.code).sort(), ax.title);
      }
      const states = new Set(Object.values(byCode).map((c) => c.state.key));
      for (const s of states) {
        const { html } = await page(base, `/planes/${PLAN}?estado=${s}`);
        const expected = Object.values(byCode).filter((c) => c.state.key === s).map((c) => c.code).sort();
        assert.deepEqual(listedCodes(html).sort(), expected, s);
        assert.match(html, new RegExp(`<option value="${s}" selected>`));
      }
      const ut = byCode['DA-01'].unit;
      const { html } = await page(base, `/planes/${PLAN}?unidad=${ut.id}`);
      const expected = Object.values(byCode).filter((c) => c.unit.id === ut.id).map((c) => c.code).sort();
      assert.ok(expected.length >= 1 && expected.length < Object.keys(byCode).length);
      assert.deepEqual(listedCodes(html).sort(), expected);
      // Combined filters intersect.
      const da = plan.axes[0];
      const both = await page(base, `/planes/${PLAN}?eje=${plan.axes[1].id}&unidad=${ut.id}`);
      assert.deepEqual(listedCodes(both.html), []);
      assert.match(both.html, /<p aria-live="polite" id="shown">0 compromisos/);
      assert.ok(da.commitments.length > 0);
    });

    it('search ignores accents and case', async () => {
      for (const [q, code] of [['leon', 'DA-01'], ['LEÓN', 'DA-01'], ['JUVENIL', 'CJ-01'], ['juvenil', 'CJ-01'], ['Presupuesto%20Participativo', 'PP-01']]) {
        const { html } = await page(base, `/planes/${PLAN}?q=${encodeURIComponent(decodeURIComponent(q))}`);
        assert.ok(listedCodes(html).includes(code), `${q} finds ${code}`);
      }
      const cab = await page(base, `/planes/${PLAN}?q=JUVENIL`);
      assert.match(cab.html, /Cabildo Abierto Juvenil con propuestas atendidas/);
      const none = await page(base, `/planes/${PLAN}?q=zzqxnoexiste`);
      assert.deepEqual(listedCodes(none.html), []);
      // The query is echoed escaped in the search box.
      const x = await page(base, `/planes/${PLAN}?q=${encodeURIComponent('"><script>x</script>')}`);
      assert.equal(x.status, 200);
      assert.doesNotMatch(x.html, /<script>x<\/script>/);
      assert.match(x.html, /value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;"/);
    });

    it('?lang=en gives English labels and dates', async () => {
      const { html } = await page(base, `/planes/${PLAN}?lang=en`);
      assert.match(html, /<html lang="en">/);
      assert.match(html, /Progress by axis/);
      assert.match(html, /Cross-cutting indicators/);
      assert.match(html, /<h3>Participation<\/h3>/);
      assert.match(html, /August 29, 2025/);
      assert.doesNotMatch(html, /Avance por eje/);
      // The Spanish page at the same time is still Spanish (the cache keeps languages apart).
      const es = await page(base, `/planes/${PLAN}`);
      assert.match(es.html, /<html lang="es">/);
      assert.doesNotMatch(es.html, /Progress by axis/);
    });

    it('dates are written out in Spanish', async () => {
      const { html } = await page(base, `/planes/${PLAN}`);
      assert.match(html, /29 de agosto de 2025 – 30 de septiembre de 2027/);
      assert.match(html, /21 de noviembre de 2026/, 'the pinned date of the demo');
      assert.doesNotMatch(html, /2025-08-29/);
    });

    it('a commitment page shows the matrix, the evidence and the history', async () => {
      const c = byCode['DA-01'];
      const { status, html } = await page(base, `/compromisos/${c.id}`);
      assert.equal(status, 200);
      assert.match(html, /<h1>DA-01 · Portal DatA-LEÓN y política de datos abiertos \(ejemplo\)<\/h1>/);
      assert.match(html, /<table class="matrix">/);
      assert.equal(count(html, '<th scope="row">'), c.actions.length);
      for (const a of c.actions) assert.ok(html.includes(`<th scope="row">${a.action}</th>`), a.action);
      assert.match(html, /27 conjuntos publicados \(ejemplo\)\./);
      assert.match(html, /href="https:\/\/www\.leon\.gob\.mx\/transparencia\/"/);
      assert.match(html, /id="h-historial"/);
      const history = html.slice(html.indexOf('id="h-historial"'));
      assert.ok(count(history, '<li><p class="meta">') >= 3, 'creation, rating, actions, reports');
      assert.match(html, /31 de marzo de 2026/);
      assert.match(html, /<svg[^>]*role="img"/);
    });

    it('unknown plan or commitment: 404; non-numeric id: 400 or 404, never 500', async () => {
      for (const p of ['/planes/no-existe', '/compromisos/999999', '/planes/no-existe/matriz.csv', `/planes/${PLAN}/nada.csv`, `/planes/${PLAN}/matriz.pdf`]) {
        const r = await page(base, p);
        assert.equal(r.status, 404, p);
        assert.match(r.type, /text\/html/, p);
        assert.match(r.html, /<html lang="es">/, p);
      }
      for (const p of ['/compromisos/abc', '/compromisos/-1', '/compromisos/1.5', '/compromisos/99999999999999999999', '/compromisos/%00', '/compromisos/1%20OR%201=1']) {
        const r = await page(base, p);
        assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
      }
    });
  });
}
