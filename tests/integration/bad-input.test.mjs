// Bad input gets a clear error and changes nothing: CSRF, permissions, unknown ids, ranges,
// dates, hostile text, broken UTF-8, lengths, login throttling and open redirects.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer, Client } from '../lib/abierto.mjs';
import {
  PLAN, USERS, settle, commitmentsByCode, getJson, planJson, stateSnapshot, loggedIn, sessionCsrf, apiToken, bearerAction, fresh,
} from '../lib/itest.mjs';

for (const backend of backends()) {
  describe(`bad input changes nothing (${backend.name})`, () => {
    let srv, base, byCode, plan, token, mutating;
    const ctx = {};
    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      plan = await planJson(base);
      byCode = await commitmentsByCode(base);
      token = await apiToken(base, USERS.admin);
      mutating = (await getJson(base, '/api/v1/actions')).body.actions.filter((a) => a.mutating);
      ctx.axis = plan.axes[0].id;
      ctx.unit = byCode['DA-01'].unit.id;
    });
    after(async () => { await srv?.stop(); });

    const validCommitment = () => ({
      axis_id: ctx.axis, code: 'ZZ-01', title: 'Compromiso de prueba', unit_id: ctx.unit,
      start_date: '2026-01-01', end_date: '2026-12-31',
    });

    // Runs fn and checks that neither the revision, the plans nor the commitment histories moved.
    async function unchanged(fn) {
      await settle(base);
      const before = await stateSnapshot(base);
      const hist = (await getJson(base, `/api/v1/commitments/${byCode['DA-01'].id}?${fresh()}`)).body.history;
      await fn();
      assert.deepEqual(await stateSnapshot(base), before, 'state changed');
      assert.deepEqual((await getJson(base, `/api/v1/commitments/${byCode['DA-01'].id}?${fresh()}`)).body.history, hist);
    }

    it('missing or forged CSRF token → 403', async () => {
      const sec = await loggedIn(base, USERS.secretariado);
      const enl = await loggedIn(base, USERS.enlaceUT);
      const action = byCode['DA-01'].actions[0].id;
      await unchanged(async () => {
        for (const csrf of [null, '', 'forjado-0123456789abcdef0123456789abcdef']) {
          const body = { action_id: String(action), value: '1', narrative: 'sin token', next: '/panel' };
          if (csrf !== null) body._csrf = csrf;
          const r = await enl.post(`/panel/accion/progress.file?action_id=${action}`, { body });
          assert.equal(r.status, 403, `form with csrf=${csrf}`);
          assert.match(await r.text(), /CSRF/);
        }
        // A token of another session is not this session's token.
        const other = await sessionCsrf(sec);
        const r2 = await enl.post('/api/v1/actions/progress.file', { json: { action_id: action, value: 1, narrative: 'x' }, headers: { 'x-csrf-token': other } });
        assert.equal(r2.status, 403);
        assert.equal((await r2.json()).error.code, 'permission_denied');
        const r3 = await enl.post('/api/v1/actions/progress.file', { json: { action_id: action, value: 1, narrative: 'x' } });
        assert.equal(r3.status, 403);
        // An anonymous double-submit cookie does not stand in for the session token.
        const r4 = await fetch(`${base}/api/v1/actions/progress.file`, {
          method: 'POST',
          headers: { cookie: `${enl.cookieHeader()}; abierto_csrf=${'a'.repeat(43)}`, 'x-csrf-token': 'a'.repeat(43), 'content-type': 'application/json' },
          body: JSON.stringify({ action_id: action, value: 1, narrative: 'x' }),
        });
        assert.equal(r4.status, 403);
      });
    });

    it('an enlace cannot report on a commitment of another unit → 403', async () => {
      const dppd = await loggedIn(base, USERS.enlaceDPPD);
      const utAction = byCode['DA-01'].actions[0].id;
      const csrf = await sessionCsrf(dppd);
      await unchanged(async () => {
        const r = await dppd.post('/api/v1/actions/progress.file', { json: { action_id: utAction, value: 1, narrative: 'intruso' }, headers: { 'x-csrf-token': csrf } });
        assert.equal(r.status, 403);
        assert.equal((await r.json()).error.code, 'permission_denied');
        const f = await dppd.post(`/panel/accion/progress.file?action_id=${utAction}`, { body: { _csrf: csrf, action_id: String(utAction), value: '1', narrative: 'intruso' } });
        assert.equal(f.status, 403);
        assert.match(await f.text(), /Solo el enlace de la unidad responsable/);
      });
      // Their own unit's action is fine (and shows the check is not just "enlaces cannot file").
      const own = byCode['PP-01'].actions[0].id;
      const ok = await dppd.post('/api/v1/actions/progress.file', { json: { action_id: own, value: 1, narrative: 'propio' }, headers: { 'x-csrf-token': csrf } });
      assert.equal(ok.status, 200);
    });

    it('anonymous writes: 401 on the API, redirect to /entrar on the forms', async () => {
      assert.ok(mutating.length >= 12);
      await unchanged(async () => {
        const anon = new Client(base);
        const csrf = await anon.csrf('/entrar'); // a valid anonymous double-submit pair
        for (const a of mutating) {
          if (a.roles.includes('anonimo')) continue; // session.login
          const plain = await fetch(`${base}/api/v1/actions/${a.name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":1}' });
          assert.equal(plain.status, 401, `${a.name} without credentials`);
          assert.equal((await plain.json()).error.code, 'unauthenticated', a.name);
          const withCsrf = await anon.post(`/api/v1/actions/${a.name}`, { json: { id: 1 }, headers: { 'x-csrf-token': csrf } });
          assert.equal(withCsrf.status, 401, `${a.name} with an anonymous CSRF pair`);
          const form = await anon.post(`/panel/accion/${a.name}`, { body: { _csrf: csrf, id: '1' } });
          assert.equal(form.status, 303, a.name);
          assert.equal(form.headers.get('location'), `/entrar?next=/panel/accion/${a.name}`);
          const get = await anon.get(`/panel/accion/${a.name}`);
          assert.equal(get.status, 303, a.name);
        }
        // Read actions have no form.
        assert.equal((await anon.get('/panel/accion/plan.show')).status, 404);
      });
    });

    it('a citizen account cannot use staff actions → 403', async () => {
      const cit = await loggedIn(base, USERS.ciudadania);
      const csrf = await sessionCsrf(cit);
      await unchanged(async () => {
        for (const a of mutating) {
          if (a.roles.includes('ciudadano')) continue; // tokens.create, session.logout, login
          const r = await cit.post(`/api/v1/actions/${a.name}`, { json: { id: 1 }, headers: { 'x-csrf-token': csrf } });
          assert.equal(r.status, 403, a.name);
          assert.equal((await r.json()).error.code, 'permission_denied', a.name);
          const f = await cit.post(`/panel/accion/${a.name}`, { body: { _csrf: csrf, id: '1' } });
          assert.equal(f.status, 403, a.name);
        }
        const panel = await cit.get('/panel');
        assert.equal(panel.status, 403);
      });
    });

    it('unknown ids → 404', async () => {
      const enl = await loggedIn(base, USERS.enlaceUT);
      const csrf = await sessionCsrf(enl);
      await unchanged(async () => {
        for (const [name, input] of [
          ['progress.validate', { id: 999999 }],
          ['progress.return', { id: 999999, reason: 'x' }],
          ['commitment.rate', { id: 999999, ambition: 'menor', ambition_reason: 'x' }],
          ['commitment.update', { ...validCommitment(), id: 999999 }],
          ['commitment.create', { ...validCommitment(), axis_id: 999999 }],
          ['action.create', { commitment_id: 999999, description: 'x', responsible: 'x', goal_value: 1, goal_unit: 'x', indicator_name: 'x', indicator_target: 1, frequency: 'unica', verification: 'x', due_date: '2026-12-31' }],
          ['axis.create', { plan_id: 999999, title: 'x' }],
          ['files.show', { id: 999999 }],
        ]) {
          const r = await bearerAction(base, token, name, input);
          assert.equal(r.status, 404, `${name}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.error.code, 'not_found');
        }
        const r = await enl.post('/api/v1/actions/progress.file', { json: { action_id: 999999, value: 1, narrative: 'x' }, headers: { 'x-csrf-token': csrf } });
        assert.equal(r.status, 404);
      });
    });

    it('out-of-range values → 400 naming the field', async () => {
      await unchanged(async () => {
        for (const [name, input, field] of [
          ['commitment.create', { ...validCommitment(), weight: 0 }, 'weight'],
          ['commitment.create', { ...validCommitment(), weight: -1 }, 'weight'],
          ['commitment.create', { ...validCommitment(), citizens_involved: -5 }, 'citizens_involved'],
          ['commitment.create', { ...validCommitment(), organizations_involved: '-1' }, 'organizations_involved'],
          ['commitment.create', { ...validCommitment(), budget_assigned: -100 }, 'budget_assigned'],
          ['commitment.create', { ...validCommitment(), citizens_involved: 'muchos' }, 'citizens_involved'],
          ['plan.create', { title: 'P', period_start: '2026-01-01', period_end: '2026-12-31', status: 'borrador', delay_points: 150 }, 'delay_points'],
          ['plan.create', { title: 'P', period_start: '2026-01-01', period_end: '2026-12-31', status: 'borrador', critical_points: 101 }, 'critical_points'],
          ['plan.create', { title: 'P', period_start: '2026-01-01', period_end: '2026-12-31', status: 'borrador', delay_points: 30, critical_points: 20 }, 'critical_points'],
          ['plan.create', { title: 'P', period_start: '2026-01-01', period_end: '2026-12-31', status: 'inventado' }, 'status'],
          ['plan.create', { title: 'P', period_start: '2026-02-30', period_end: '2026-12-31', status: 'borrador' }, 'period_start'],
          ['action.create', { commitment_id: byCode['DA-01'].id, description: 'x', responsible: 'x', goal_value: 1, goal_unit: 'x', indicator_name: 'x', indicator_target: 1, frequency: 'unica', verification: 'x', due_date: '2026-12-31', weight: 0 }, 'weight'],
          ['progress.file', { action_id: byCode['DA-01'].actions[0].id, value: 'NaN', narrative: 'x' }, 'value'],
          ['progress.file', { action_id: byCode['DA-01'].actions[0].id, value: 1, narrative: 'x', evidence_url: 'javascript:alert(1)' }, 'evidence_url'],
          ['progress.file', { action_id: byCode['DA-01'].actions[0].id, value: 1, narrative: 'x', reported_on: '2099-01-01' }, 'reported_on'],
          ['commitment.create', { ...validCommitment(), title: '   ' }, 'title'],
        ]) {
          const r = await bearerAction(base, token, name, input);
          assert.equal(r.status, 400, `${name} ${field}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.error.code, 'invalid_argument');
          assert.ok(r.body.error.fields && typeof r.body.error.fields[field] === 'string', `${name}: fields.${field} in ${JSON.stringify(r.body)}`);
        }
      });
    });

    it('dates out of order → 400 naming the later field', async () => {
      const sec = await loggedIn(base, USERS.secretariado);
      await unchanged(async () => {
        const c = await bearerAction(base, token, 'commitment.create', { ...validCommitment(), start_date: '2026-12-31', end_date: '2026-01-01' });
        assert.equal(c.status, 400);
        assert.ok(c.body.error.fields.end_date);
        const p = await bearerAction(base, token, 'plan.create', { title: 'P', period_start: '2027-01-01', period_end: '2026-01-01', status: 'borrador' });
        assert.equal(p.status, 400);
        assert.ok(p.body.error.fields.period_end);
        const a = await bearerAction(base, token, 'action.create', { commitment_id: byCode['DA-01'].id, description: 'x', responsible: 'x', goal_value: 1, goal_unit: 'x', indicator_name: 'x', indicator_target: 1, frequency: 'unica', verification: 'x', due_date: '2020-01-01' });
        assert.equal(a.status, 400);
        assert.ok(a.body.error.fields.due_date);
        // The HTML form shows the error next to the field, with the typed values kept.
        const csrf = await sec.csrf('/panel/accion/commitment.create');
        const f = await sec.post('/panel/accion/commitment.create', { body: { _csrf: csrf, axis_id: String(ctx.axis), code: 'ZZ-02', title: 'Fechas al revés', unit_id: String(ctx.unit), start_date: '2026-12-31', end_date: '2026-01-01' } });
        assert.equal(f.status, 400);
        const html = await f.text();
        assert.match(html, /id="f-end_date-error"/);
        assert.match(html, /aria-invalid="true" aria-describedby="f-end_date-error"/);
        assert.match(html, /value="Fechas al revés"/);
      });
    });

    it('SQL and HTML in every text field are stored literally and rendered escaped', async () => {
      const sql = "'; DROP TABLE plans; --";
      const html = '<script>alert(1)</script>';
      const both = `${sql} ${html} "comillas" & ampersand`;
      const input = {
        ...validCommitment(), code: "<b>'--", title: both, problem: both, objective: `${html}\n${sql}`, co_responsible: both,
      };
      const r = await bearerAction(base, token, 'commitment.create', input);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const id = r.body.result.id;
      const c = (await getJson(base, `/api/v1/commitments/${id}`)).body;
      for (const k of ['code', 'title', 'problem', 'objective', 'co_responsible']) assert.equal(c[k], input[k], k);
      // Tables intact: both plans are still there and the new commitment counts.
      const plans = (await getJson(base, `/api/v1/plans?${fresh()}`)).body.plans;
      assert.equal(plans.length, 2);
      assert.equal((await planJson(base)).counters.commitments, plan.counters.commitments + 1);
      for (const path of [`/compromisos/${id}`, `/planes/${PLAN}`, `/planes/${PLAN}?q=${encodeURIComponent('DROP TABLE')}`]) {
        const page = await (await fetch(base + path)).text();
        assert.doesNotMatch(page, /<script>alert/i, path);
        assert.doesNotMatch(page, /<b>'--/, path);
        assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), `${path} shows the text escaped`);
        assert.ok(page.includes('&#39;; DROP TABLE plans; --') || page.includes('&#x27;; DROP TABLE plans; --') || page.includes("'; DROP TABLE plans; --"), path);
      }
      // The history shows the values as data, escaped as well.
      const page = await (await fetch(`${base}/compromisos/${id}`)).text();
      assert.ok(page.includes('&lt;b&gt;'));
    });

    it('broken UTF-8 → 400 (form and JSON), nothing written', async () => {
      await unchanged(async () => {
        const form = await fetch(`${base}/api/v1/actions/commitment.create`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: `axis_id=${ctx.axis}&code=ZZ-03&title=Mal%C3%28formado%FF&unit_id=${ctx.unit}&start_date=2026-01-01&end_date=2026-12-31`,
        });
        assert.equal(form.status, 400);
        const fb = await form.json();
        assert.ok(fb.error.fields.title, JSON.stringify(fb));
        const raw = Buffer.concat([Buffer.from(`{"axis_id":${ctx.axis},"code":"ZZ-04","title":"`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(`","unit_id":${ctx.unit},"start_date":"2026-01-01","end_date":"2026-12-31"}`)]);
        const json = await fetch(`${base}/api/v1/actions/commitment.create`, {
          method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: raw,
        });
        assert.equal(json.status, 400);
        assert.equal((await json.json()).error.code, 'invalid_argument');
        const ctl = await bearerAction(base, token, 'commitment.create', { ...validCommitment(), title: 'con\u0000nulo' });
        assert.equal(ctl.status, 400);
        assert.ok(ctl.body.error.fields.title);
      });
    });

    it('a value too long → 400', async () => {
      await unchanged(async () => {
        const r = await bearerAction(base, token, 'commitment.create', { ...validCommitment(), title: 'x'.repeat(301) });
        assert.equal(r.status, 400);
        assert.match(r.body.error.fields.title, /300/);
        const code = await bearerAction(base, token, 'commitment.create', { ...validCommitment(), code: 'C'.repeat(21) });
        assert.equal(code.status, 400);
        assert.ok(code.body.error.fields.code);
        // Length counts characters, not bytes: 300 accented letters fit.
      });
      const ok = await bearerAction(base, token, 'commitment.create', { ...validCommitment(), code: 'ZZ-05', title: 'ñ'.repeat(300) });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
    });

    it('login throttling: after 5 wrong passwords the next attempt gets 429', async () => {
      const email = USERS.enlaceDI;
      const c = new Client(base);
      const attempt = async (password) => {
        const csrf = await c.csrf('/entrar');
        return c.post('/entrar', { body: { _csrf: csrf, email, password, next: '/panel' } });
      };
      for (let i = 0; i < 5; i++) {
        const r = await attempt(`incorrecta-${i}`);
        assert.equal(r.status, 401, `attempt ${i + 1}`);
        assert.match(await r.text(), /Correo o contraseña incorrectos/);
      }
      const sixth = await attempt('incorrecta-5');
      assert.equal(sixth.status, 429);
      assert.match(await sixth.text(), /Demasiados intentos/);
      // Locked even with the right password, and no session cookie is handed out.
      const right = await attempt('demo-abierto-2025');
      assert.equal(right.status, 429);
      assert.ok(!c.cookies.has('abierto_sesion'));
      // Other accounts are not affected.
      await loggedIn(base, USERS.enlaceUT);
    });

    it('open redirect: next pointing off-site goes to the home of the role', async () => {
      for (const next of ['https://evil.example', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'https://evil.example/panel']) {
        for (const [email, home] of [[USERS.secretariado, '/panel'], [USERS.ciudadania, '/']]) {
          const c = new Client(base);
          const csrf = await c.csrf(`/entrar?next=${encodeURIComponent(next)}`);
          const form = await (await c.get(`/entrar?next=${encodeURIComponent(next)}`)).text();
          assert.match(form, /<input type="hidden" name="next" value="">/, next);
          const r = await c.post('/entrar', { body: { _csrf: csrf, email, password: 'demo-abierto-2025', next } });
          assert.equal(r.status, 303, next);
          assert.equal(r.headers.get('location'), home, `${email} ${next}`);
        }
      }
      // A safe page to return to is kept for both.
      for (const email of [USERS.secretariado, USERS.ciudadania]) {
        const c = new Client(base);
        const csrf = await c.csrf('/entrar?next=/datos/solicitudes');
        const r = await c.post('/entrar', { body: { _csrf: csrf, email, password: 'demo-abierto-2025', next: '/datos/solicitudes' } });
        assert.equal(r.headers.get('location'), '/datos/solicitudes', email);
      }
      const lang = await fetch(`${base}/idioma?lang=en&next=${encodeURIComponent('https://evil.example')}`, { redirect: 'manual' });
      assert.equal(lang.headers.get('location'), '/');
      // A local path is kept.
      const c = new Client(base);
      const csrf = await c.csrf('/entrar');
      const ok = await c.post('/entrar', { body: { _csrf: csrf, email: USERS.secretariado, password: 'demo-abierto-2025', next: `/planes/${PLAN}` } });
      assert.equal(ok.headers.get('location'), `/planes/${PLAN}`);
    });
  });
}
