// The JSON API: plans, commitments, the action registry, and API tokens.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer } from '../lib/abierto.mjs';
import { PLAN, AXES, USERS, getJson, planJson, apiToken, bearerAction, loggedIn, sessionCsrf, stateSnapshot, revision } from '../lib/itest.mjs';

const STATES = ['sin_iniciar', 'en_tiempo', 'con_retraso', 'critico', 'cumplido'];
const INDICATORS = ['participacion', 'transparencia', 'ambicion', 'sostenibilidad'];

function checkState(s, where) {
  assert.ok(STATES.includes(s.key), `${where}: state ${s.key}`);
  assert.match(s.color, /^#[0-9a-fA-F]{6}$/, where);
  assert.equal(typeof s.label, 'string', where);
}
function checkIndicators(ind, where) {
  for (const k of INDICATORS) {
    assert.ok(ind[k], `${where}: ${k}`);
    assert.equal(typeof ind[k].name, 'string');
    assert.ok(ind[k].formula.length > 10, `${where}: ${k} formula`);
    assert.ok(ind[k].value === null || typeof ind[k].value === 'number');
  }
}
function pct(x) { return typeof x === 'number' && x >= 0 && x <= 100; }

for (const backend of backends()) {
  describe(`JSON API (${backend.name})`, () => {
    let srv, base;
    before(async () => { srv = await startServer(backend); base = srv.url; });
    after(async () => { await srv?.stop(); });

    it('GET /api/v1/plans lists both demo plans with counters', async () => {
      const { status, headers, body } = await getJson(base, '/api/v1/plans');
      assert.equal(status, 200);
      assert.match(headers.get('content-type'), /^application\/json/);
      assert.ok(Array.isArray(body.plans));
      const slugs = body.plans.map((p) => p.slug);
      assert.deepEqual(slugs, ['pamga-2025-2027', 'pamga-2023-2024'], 'newest period first');
      const p = body.plans[0];
      assert.equal(p.url, `/api/v1/plans/${PLAN}`);
      assert.equal(p.status, 'en_implementacion');
      checkState(p.state, 'plan');
      assert.ok(pct(p.progress) && pct(p.expected));
      assert.equal(p.counters.axes, 4);
    });

    it('GET /api/v1/plans/{id} by slug and by numeric id: same plan, consistent counters', async () => {
      const bySlug = await planJson(base, PLAN);
      const byId = await planJson(base, String(bySlug.id));
      assert.deepEqual(byId, bySlug);
      const p = bySlug;
      assert.equal(p.slug, PLAN);
      assert.equal(p.as_of, '2026-11-21');
      assert.deepEqual(p.axes.map((a) => a.title), AXES);
      checkIndicators(p.indicators, 'plan');
      let commitments = 0, actions = 0, reports = 0, withEvidence = 0;
      const dist = Object.fromEntries(STATES.map((s) => [s, 0]));
      for (const ax of p.axes) {
        checkState(ax.state, ax.title);
        assert.ok(pct(ax.progress) && pct(ax.expected), ax.title);
        for (const c of ax.commitments) {
          commitments += 1;
          dist[c.state.key] += 1;
          checkState(c.state, c.code);
          checkIndicators(c.indicators, c.code);
          assert.ok(pct(c.progress) && pct(c.expected), c.code);
          assert.equal(c.search_text, undefined, 'internal search text is not exposed');
          assert.ok(Array.isArray(c.timeline));
          for (const a of c.actions) {
            actions += 1;
            checkState(a.state, a.action);
            assert.ok(pct(a.progress) && pct(a.expected), a.action);
            assert.equal(typeof a.indicator.target, 'number');
            reports += a.reports.length;
            if (a.has_evidence) withEvidence += 1;
          }
        }
      }
      assert.equal(p.counters.axes, p.axes.length);
      assert.equal(p.counters.commitments, commitments);
      assert.equal(p.counters.actions, actions);
      assert.equal(p.counters.validated_reports, reports);
      assert.equal(p.counters.actions_with_evidence, withEvidence);
      assert.equal(commitments, 5);
      for (const d of p.distribution) assert.equal(d.count, dist[d.key], `distribution ${d.key}`);
      assert.equal(p.distribution.reduce((s, d) => s + d.count, 0), commitments);
      // A commitment with all actions completed shows 100 %; one report of 27/60 gives 45 %.
      const da01 = p.axes[0].commitments.find((c) => c.code === 'DA-01');
      const policy = da01.actions.find((a) => a.indicator.target === 1);
      assert.equal(policy.progress, 100);
      assert.equal(policy.state.key, 'cumplido');
      const datasets = da01.actions.find((a) => a.indicator.target === 60);
      assert.equal(datasets.progress, 45);
    });

    it('GET /api/v1/commitments/{id} has the axis, the plan, the actions and the history', async () => {
      const p = await planJson(base);
      const c0 = p.axes[1].commitments[0];
      const { status, body: c } = await getJson(base, `/api/v1/commitments/${c0.id}`);
      assert.equal(status, 200);
      assert.equal(c.code, c0.code);
      assert.equal(c.axis.title, 'Presupuesto Participativo');
      assert.equal(c.plan.slug, PLAN);
      assert.equal(c.progress, c0.progress);
      assert.deepEqual(c.actions.map((a) => a.id), c0.actions.map((a) => a.id));
      assert.ok(c.history.length >= 1);
      for (const h of c.history) {
        assert.equal(h.actor, undefined, 'the history does not expose e-mails');
        assert.ok(['sistema', 'admin', 'secretariado', 'enlace'].includes(h.role) || typeof h.role === 'string');
      }
      assert.doesNotMatch(JSON.stringify(c), /@demo\.abierto\.mx/);
    });

    it('GET /api/v1/actions lists every action with its input schema', async () => {
      const { status, body } = await getJson(base, '/api/v1/actions');
      assert.equal(status, 200);
      const by = Object.fromEntries(body.actions.map((a) => [a.name, a]));
      for (const n of ['plan.create', 'plan.update', 'axis.create', 'commitment.create', 'commitment.update', 'commitment.rate',
        'action.create', 'action.update', 'progress.file', 'progress.validate', 'progress.return', 'files.show', 'tokens.create', 'plan.show'])
        assert.ok(by[n], n);
      assert.equal(by['plan.show'].mutating, false);
      assert.equal(by['commitment.create'].mutating, true);
      assert.deepEqual(by['commitment.create'].roles.sort(), ['admin', 'secretariado']);
      const f = Object.fromEntries(by['commitment.create'].input.map((x) => [x.name, x]));
      assert.equal(f.title.type, 'string');
      assert.equal(f.title.required, true);
      assert.equal(f.title.max_length, 300);
      assert.equal(f.start_date.type, 'date');
      assert.equal(f.weight.min, 0.01);
      assert.equal(f.axis_id.type, 'id');
      const pf = Object.fromEntries(by['progress.file'].input.map((x) => [x.name, x]));
      assert.equal(pf.evidence_file.type, 'file');
      assert.deepEqual(by['progress.file'].roles.sort(), ['admin', 'enlace']);
      const pl = Object.fromEntries(by['plan.create'].input.map((x) => [x.name, x]));
      assert.deepEqual(pl.status.choices, ['borrador', 'aprobado', 'en_implementacion', 'concluido']);
      assert.equal(pl.critical_points.max, 100);
      // A read action can be called with GET; a write cannot.
      const show = await getJson(base, `/api/v1/actions/plan.show?plan=${PLAN}`);
      assert.equal(show.status, 200);
      assert.equal(show.body.result.slug, PLAN);
      const w = await getJson(base, '/api/v1/actions/commitment.create');
      assert.equal(w.status, 400);
    });

    it('tokens.create with a session + X-CSRF-Token; the bearer token then writes without CSRF', async () => {
      const token = await apiToken(base, USERS.admin);
      assert.match(token, /^ab_[A-Za-z0-9_-]{40,}$/);
      const p = await planJson(base);
      const before = p.counters.commitments;
      const unit = p.axes[0].commitments[0].unit.id;
      const r = await bearerAction(base, token, 'commitment.create', {
        axis_id: p.axes[0].id, code: 'DA-99', title: 'Compromiso creado por la API', unit_id: unit,
        start_date: '2026-01-01', end_date: '2026-12-31',
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(Number.isInteger(r.body.result.id));
      const after = await planJson(base);
      assert.equal(after.counters.commitments, before + 1);
      const c = await getJson(base, `/api/v1/commitments/${r.body.result.id}`);
      assert.equal(c.body.title, 'Compromiso creado por la API');
      assert.equal(c.body.history[0].action, 'commitment.create');
      assert.equal(c.body.history[0].role, 'admin');
      // Form encoding with a bearer token works too.
      const f = await fetch(`${base}/api/v1/actions/commitment.rate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: new URLSearchParams({ id: String(r.body.result.id), ambition: 'menor', ambition_reason: 'Prueba de formulario' }),
      });
      assert.equal(f.status, 200);
    });

    it('a session without the CSRF header cannot create a token', async () => {
      const c = await loggedIn(base, USERS.secretariado);
      const rev = await revision(base);
      const r = await c.post('/api/v1/actions/tokens.create', { json: { name: 'x' } });
      assert.equal(r.status, 403);
      assert.equal((await r.json()).error.code, 'permission_denied');
      assert.equal(await revision(base), rev);
      // With the token from a page it works.
      const ok = await c.post('/api/v1/actions/tokens.create', { json: { name: 'x' }, headers: { 'x-csrf-token': await sessionCsrf(c) } });
      assert.equal(ok.status, 200);
    });

    it('a bad bearer token gets 401 JSON on reads and writes, and writes nothing', async () => {
      const before = await stateSnapshot(base);
      for (const [method, path, auth] of [
        ['GET', '/api/v1/plans', 'Bearer ab_nope'],
        ['GET', `/api/v1/plans/${PLAN}`, 'Bearer '],
        ['POST', '/api/v1/actions/commitment.rate', 'Bearer ab_nope'],
        ['POST', '/api/v1/actions/tokens.create', 'Basic YWRtaW46eA=='],
      ]) {
        const r = await fetch(base + path, {
          method,
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: method === 'POST' ? JSON.stringify({ id: 1, ambition: 'menor', ambition_reason: 'x', name: 'x' }) : undefined,
        });
        assert.equal(r.status, 401, `${method} ${path} ${auth}`);
        assert.match(r.headers.get('content-type'), /^application\/json/);
        const b = await r.json();
        assert.equal(b.error.code, 'unauthenticated');
      }
      assert.deepEqual(await stateSnapshot(base), before);
    });
  });
}
