// The progress workflow through the HTML forms, as an enlace and the Secretariado use it:
// file a report → it waits → validate (or return with a reason) → the public dashboard changes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer, Client } from '../lib/abierto.mjs';
import { PLAN, USERS, commitmentsByCode, getJson, loggedIn, fresh } from '../lib/itest.mjs';

function formOf(html) {
  const m = html.match(/<form method="post" class="stack"[^>]*>([\s\S]*?)<\/form>/);
  assert.ok(m, 'the page has the action form');
  const fields = {};
  for (const i of m[1].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[i[1]] = i[2].replace(/&amp;/g, '&');
  return { html: m[0], hidden: fields };
}

// GET the generic action form, fill it in and POST it back to the same address.
async function submitForm(client, path, values, { multipart } = {}) {
  const g = await client.get(path);
  assert.equal(g.status, 200, `GET ${path}`);
  const { hidden, html } = formOf(await g.text());
  assert.ok(hidden._csrf, 'the form carries a CSRF token');
  if (multipart) {
    assert.match(html, /enctype="multipart\/form-data"/);
    const fd = new FormData();
    for (const [k, v] of Object.entries({ ...hidden, ...values })) {
      if (v && typeof v === 'object' && v.blob) fd.append(k, v.blob, v.name);
      else fd.append(k, v);
    }
    return client.post(path, { body: fd });
  }
  return client.post(path, { body: { ...hidden, ...values } });
}

// The pending-report card on the Secretariado's /panel that mentions a text: {id, html}.
function pendingCard(panelHtml, text) {
  for (const part of panelHtml.split('<li class="card" data-report-id="').slice(1)) {
    const card = part.slice(0, part.indexOf('</li>'));
    if (card.includes(text)) return { id: card.match(/^(\d+)"/)[1], html: card };
  }
  return null;
}

const beforeHistory = (html) => html.slice(0, html.indexOf('id="h-historial"'));

async function publicCommitment(base, id) {
  return (await getJson(base, `/api/v1/commitments/${id}`)).body;
}

for (const backend of backends()) {
  describe(`progress workflow over HTTP forms (${backend.name})`, () => {
    let srv, base, da01, target, enlace, secretariado;
    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      da01 = (await commitmentsByCode(base))['DA-01'];
      target = da01.actions.find((a) => a.indicator.target === 60); // 27 of 60 validated so far
      enlace = await loggedIn(base, USERS.enlaceUT);
      secretariado = await loggedIn(base, USERS.secretariado);
    });
    after(async () => { await srv?.stop(); });

    it('the enlace sees the actions of their unit in /panel', async () => {
      const r = await enlace.get('/panel');
      assert.equal(r.status, 200);
      const html = await r.text();
      for (const a of da01.actions) {
        assert.match(html, new RegExp(`data-action-id="${a.id}"`));
        assert.ok(html.includes(`href="/panel/accion/progress.file?action_id=${a.id}&amp;next=/panel"`));
      }
      assert.doesNotMatch(html, /PP-01/, 'no actions of other units');
      assert.doesNotMatch(html, /data-report-id=/, 'enlaces do not validate');
    });

    it('file → pending (public unchanged) → validate → public page and API change', async () => {
      const narrative = `Se publicaron 45 conjuntos de datos (prueba ${fresh()}).`;
      const pagePath = `/compromisos/${da01.id}`;
      const planPath = `/planes/${PLAN}`;
      // Warm the page cache so that a stale answer would show.
      const pageBefore = await (await fetch(base + pagePath)).text();
      const planBefore = await (await fetch(base + planPath)).text();
      const apiBefore = await publicCommitment(base, da01.id);
      assert.equal(apiBefore.actions.find((a) => a.id === target.id).progress, 45);

      const form = await enlace.get(`/panel/accion/progress.file?action_id=${target.id}&next=/panel`);
      const formHtml = await form.text();
      assert.equal(form.status, 200);
      assert.match(formHtml, new RegExp(`<input type="hidden" name="action_id" value="${target.id}">`));
      assert.match(formHtml, /name="narrative"/);
      const post = await submitForm(enlace, `/panel/accion/progress.file?action_id=${target.id}&next=/panel`, { value: '54', narrative });
      assert.equal(post.status, 303, await post.text());
      assert.equal(post.headers.get('location'), '/panel?hecho=progress.file');
      const done = await (await enlace.get('/panel?hecho=progress.file')).text();
      assert.match(done, /role="status"/);
      assert.match(done, new RegExp(`data-action-id="${target.id}"[\\s\\S]*?pendiente`, 'i'));

      // Pending: progress, traffic lights and evidence do not change; the filing is only recorded
      // in the commitment's public change history.
      const pagePending = await (await fetch(base + pagePath)).text();
      assert.equal(beforeHistory(pagePending), beforeHistory(pageBefore));
      assert.notEqual(pagePending, pageBefore, 'the history records the filing');
      assert.equal(await (await fetch(base + planPath)).text(), planBefore);
      const apiPending = await publicCommitment(base, da01.id);
      assert.equal(apiPending.progress, apiBefore.progress);
      assert.ok(!JSON.stringify(apiPending.actions).includes(narrative));

      // The Secretariado sees it waiting and validates it from /panel.
      const panel = await (await secretariado.get('/panel')).text();
      const card = pendingCard(panel, narrative);
      assert.ok(card, 'the report is listed as pending');
      assert.ok(card.html.includes(`<h3>DA-01 · ${target.action}</h3>`));
      assert.match(card.html, /Unidad de Transparencia/);
      const reportId = card.id;
      const csrf = panel.match(new RegExp(`action="/panel/accion/progress.validate" class="inline"><input type="hidden" name="_csrf" value="([^"]+)"><input type="hidden" name="id" value="${reportId}">`))[1];
      const v = await secretariado.post('/panel/accion/progress.validate', { body: { _csrf: csrf, id: reportId, next: '/panel' } });
      assert.equal(v.status, 303);
      assert.equal(v.headers.get('location'), '/panel?hecho=progress.validate');

      const apiAfter = await publicCommitment(base, da01.id);
      const act = apiAfter.actions.find((a) => a.id === target.id);
      assert.equal(act.progress, 90, '54 of 60');
      assert.ok(apiAfter.progress > apiBefore.progress, `${apiAfter.progress} > ${apiBefore.progress}`);
      assert.ok(act.reports.some((r) => r.narrative === narrative && r.value === 54));
      assert.equal(apiAfter.history[0].action, 'progress.validate');
      // The cached public pages were invalidated.
      const pageAfter = await (await fetch(base + pagePath)).text();
      assert.notEqual(pageAfter, pageBefore);
      assert.ok(pageAfter.includes(narrative));
      assert.match(pageAfter, /<small>90(\.0)?%/);
      // The history names every changed field in words, never by a catalogue key.
      for (const lang of ['es', 'en']) {
        const h = await (await fetch(`${base}${pagePath}?lang=${lang}`)).text();
        assert.doesNotMatch(h, /field\.[a-z_]+/, `untranslated field label (${lang})`);
      }
      const planAfter = await (await fetch(base + planPath)).text();
      assert.notEqual(planAfter, planBefore);
      const atom = await (await fetch(`${base}/planes/${PLAN}/avances.atom`)).text();
      assert.ok(atom.includes(narrative));
      // Validating twice is a conflict, not a second write.
      const again = await secretariado.post('/api/v1/actions/progress.validate', { json: { id: Number(reportId) }, headers: { 'x-csrf-token': csrf } });
      assert.equal(again.status, 409);
    });

    it('a pending report is not readable in the public history API before validation', async () => {
      const narrative = `Narrativa aún no validada ${fresh()}`;
      const post = await submitForm(enlace, `/panel/accion/progress.file?action_id=${target.id}&next=/panel`, { value: '1', narrative, evidence_url: 'https://example.org/borrador' });
      assert.equal(post.status, 303);
      try {
        const raw = await (await fetch(`${base}/api/v1/commitments/${da01.id}?${fresh()}`)).text();
        assert.ok(!raw.includes(narrative), 'pending narrative is public');
        assert.ok(!raw.includes('https://example.org/borrador'), 'pending evidence link is public');
      } finally {
        // Leave nothing pending for the next tests.
        const panel = await (await secretariado.get('/panel')).text();
        const card = pendingCard(panel, narrative);
        const csrf = panel.match(/name="_csrf" value="([^"]+)"/)[1];
        await secretariado.post('/api/v1/actions/progress.return', { json: { id: Number(card.id), reason: 'limpieza' }, headers: { 'x-csrf-token': csrf } });
      }
    });

    it('progress.return shows the reason to the enlace and changes nothing public', async () => {
      const narrative = `Avance a devolver ${fresh()}`;
      const post = await submitForm(enlace, `/panel/accion/progress.file?action_id=${target.id}&next=/panel`, { value: '59', narrative });
      assert.equal(post.status, 303);
      const before = await publicCommitment(base, da01.id);
      const panel = await (await secretariado.get('/panel')).text();
      const reportId = pendingCard(panel, narrative).id;
      assert.ok(panel.includes(`href="/panel/accion/progress.return?id=${reportId}&amp;next=/panel"`));
      const reason = 'Falta la liga al catálogo: agrega la evidencia <por favor>.';
      const r = await submitForm(secretariado, `/panel/accion/progress.return?id=${reportId}&next=/panel`, { reason });
      assert.equal(r.status, 303);
      assert.equal(r.headers.get('location'), '/panel?hecho=progress.return');
      const mine = await (await enlace.get('/panel')).text();
      assert.ok(mine.includes('Falta la liga al catálogo: agrega la evidencia &lt;por favor&gt;.'), 'reason shown, escaped');
      const after = await publicCommitment(base, da01.id);
      assert.equal(after.progress, before.progress);
      assert.ok(!JSON.stringify(after.actions).includes(narrative));
      const sec = await (await secretariado.get('/panel')).text();
      assert.ok(!sec.includes(`data-report-id="${reportId}"`), 'no longer pending');
    });

    it('evidence upload (multipart): hidden until validated, then downloadable by anyone', async () => {
      const bytes = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from([0, 1, 2, 250, 251, 252]), Buffer.from('\n%%EOF\n')]);
      const narrative = `Evidencia adjunta ${fresh()}`;
      const other = da01.actions.find((a) => a.id !== target.id);
      const post = await submitForm(enlace, `/panel/accion/progress.file?action_id=${other.id}&next=/panel`, {
        value: '1', narrative, evidence_file: { blob: new Blob([bytes], { type: 'application/pdf' }), name: 'acta firmada.pdf' },
      }, { multipart: true });
      assert.equal(post.status, 303, await post.text());
      const panel = await (await secretariado.get('/panel')).text();
      const card = pendingCard(panel, narrative);
      assert.ok(card, 'pending report listed');
      const reportId = card.id;
      const fileId = card.html.match(/href="\/archivos\/(\d+)"/)[1];
      // Before validation: anonymous and citizens get 404; staff may look at it.
      assert.equal((await fetch(`${base}/archivos/${fileId}`)).status, 404);
      const citizen = await loggedIn(base, USERS.ciudadania);
      assert.equal((await citizen.get(`/archivos/${fileId}`)).status, 404);
      const staff = await secretariado.get(`/archivos/${fileId}`);
      assert.equal(staff.status, 200);
      assert.deepEqual(Buffer.from(await staff.arrayBuffer()), bytes);
      const csrf = panel.match(/name="_csrf" value="([^"]+)"/)[1];
      const v = await secretariado.post('/panel/accion/progress.validate', { body: { _csrf: csrf, id: reportId, next: '/panel' } });
      assert.equal(v.status, 303);
      const pub = await fetch(`${base}/archivos/${fileId}`);
      assert.equal(pub.status, 200);
      assert.equal(pub.headers.get('content-type'), 'application/pdf');
      assert.match(pub.headers.get('content-disposition'), /attachment; filename="acta firmada\.pdf"/);
      assert.deepEqual(Buffer.from(await pub.arrayBuffer()), bytes);
      const c = await publicCommitment(base, da01.id);
      const rep = c.actions.find((a) => a.id === other.id).reports.find((r) => r.narrative === narrative);
      assert.equal(rep.evidence_file.url, `/archivos/${fileId}`);
      const page = await (await fetch(`${base}/compromisos/${da01.id}`)).text();
      assert.ok(page.includes(`href="/archivos/${fileId}"`));
    });

    it('an uploaded HTML file is never served as HTML', async () => {
      const narrative = `Archivo HTML ${fresh()}`;
      const other = da01.actions.find((a) => a.id !== target.id);
      const post = await submitForm(enlace, `/panel/accion/progress.file?action_id=${other.id}&next=/panel`, {
        value: '1', narrative, evidence_file: { blob: new Blob(['<script>alert(1)</script>'], { type: 'text/html' }), name: 'x.html' },
      }, { multipart: true });
      assert.equal(post.status, 303);
      const panel = await (await secretariado.get('/panel')).text();
      const fileId = pendingCard(panel, narrative).html.match(/href="\/archivos\/(\d+)"/)[1];
      const r = await secretariado.get(`/archivos/${fileId}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/octet-stream');
      assert.match(r.headers.get('content-disposition'), /^attachment/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    });

    it('after logout the session no longer works', async () => {
      const c = await loggedIn(base, USERS.enlaceUT);
      const csrf = await c.csrf('/panel');
      const stolen = new Client(base);
      stolen.cookies = new Map(c.cookies);
      assert.equal((await stolen.get('/panel')).status, 200);
      const out = await c.post('/salir', { body: { _csrf: csrf } });
      assert.equal(out.status, 303);
      // The old cookie, replayed, is no longer a session.
      const p = await stolen.get('/panel');
      assert.equal(p.status, 303);
      assert.match(p.headers.get('location'), /^\/entrar/);
    });
  });
}
