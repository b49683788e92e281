// Editing in the participatory budget over HTTP on every backend: staff edit a process and a
// zone through the generic forms (opened pre-filled), a resident edits their own draft, adds
// photos and submits it; every refused edit or upload (someone else's draft, a submitted
// proposal, a zone of another process, rules fixed by voting, a file that is not a photo or is
// too big) answers with a clear error and writes nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer, Client } from '../lib/abierto.mjs';
import { USERS, getJson, fresh, loggedIn, apiToken, bearerAction, sessionAction, revision } from '../lib/itest.mjs';

// A 1×1 PNG, and bytes that only pretend to be a photo.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const HTML = Buffer.from('<html><body><script>alert(1)</script></body></html>');

const file = (bytes, name = 'foto.png', type = 'image/png') => ({ name, content_type: type, data_base64: bytes.toString('base64') });

// The values of a form's fields, as a browser would send them back unchanged.
function formValues(html) {
  const form = html.match(/<form method="post" class="stack"[^]*?<\/form>/)[0];
  const out = {};
  for (const m of form.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) out[m[1]] = m[2].replace(/&amp;/g, '&');
  for (const m of form.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)<\/textarea>/g)) out[m[1]] = m[2];
  for (const m of form.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([^]*?)<\/select>/g)) {
    const sel = m[2].match(/<option value="([^"]*)" selected>/);
    out[m[1]] = sel ? sel[1] : '';
  }
  return out;
}

for (const backend of backends()) {
  describe(`presupuesto: edits and photos (${backend.name})`, () => {
    let srv, base, admin, open, zoneA, zoneB, past;
    // State an observer could see change: the data revision.
    const unchanged = async (what, fn) => {
      const before = await revision(base);
      await fn();
      assert.equal(await revision(base), before, `${what} wrote something`);
    };
    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      admin = await apiToken(base, USERS.admin);
      // A process whose registration is open today (2026-11-21), with two zones.
      const p = await bearerAction(base, admin, 'pp.process.create', {
        year: 2027, title: 'Presupuesto 2027 (prueba)', slug: 'presupuesto-2027', proposals_from: '2026-11-01',
        proposals_to: '2026-12-15', voting_from: '2027-01-10', voting_to: '2027-01-20', counting_rule: 'greedy',
      });
      assert.equal(p.status, 200, JSON.stringify(p.body));
      open = p.body.result;
      for (const name of ['Centro', 'Oriente']) {
        const z = await bearerAction(base, admin, 'pp.zone.create', { process_id: open.id, name, kind: 'delegacion', budget: 5000000, vote_rule: 'aprobacion' });
        assert.equal(z.status, 200, JSON.stringify(z.body));
        if (name === 'Centro') zoneA = z.body.result.id; else zoneB = z.body.result.id;
      }
      past = (await getJson(base, `/api/v1/presupuesto/presupuesto-2025?${fresh()}`)).body;
      // A second resident, to try someone else's draft.
      const u = await bearerAction(base, admin, 'users.create', { email: 'vecina@example.org', name: 'Vecina', role: 'ciudadano', password: 'otra-contrasena-larga' });
      assert.equal(u.status, 200, JSON.stringify(u.body));
    });
    after(async () => { await srv?.stop(); });

    it('staff edit a process and a zone through pre-filled forms, within the rules', async () => {
      const sec = await loggedIn(base, USERS.secretariado);
      // The process page links to the forms.
      const page = await (await sec.get(`/presupuesto/presupuesto-2027?${fresh()}`)).text();
      assert.match(page, /href="\/panel\/accion\/pp\.process\.update\?id=\d+&amp;next=\/presupuesto\/presupuesto-2027"/);
      assert.match(page, new RegExp(`href="/panel/accion/pp\\.zone\\.update\\?id=${zoneA}&amp;`));
      const formPage = await (await sec.get(`/panel/accion/pp.process.update?id=${open.id}&next=/presupuesto/presupuesto-2027`)).text();
      const values = formValues(formPage);
      assert.equal(values.title, 'Presupuesto 2027 (prueba)');
      assert.equal(values.proposals_to, '2026-12-15');
      assert.equal(values.counting_rule, 'greedy');
      assert.equal(values.id, String(open.id));
      // Dates out of order: the form comes back with the error, nothing changes.
      await unchanged('dates out of order', async () => {
        const r = await sec.post('/panel/accion/pp.process.update', { body: { ...values, voting_from: '2026-12-01' } });
        assert.equal(r.status, 400);
        assert.match(await r.text(), /fechas de las fases están en desorden/);
      });
      const r = await sec.post('/panel/accion/pp.process.update', { body: { ...values, title: 'Presupuesto Participativo 2027', proposals_to: '2026-12-20' } });
      assert.equal(r.status, 303);
      assert.equal(r.headers.get('location'), '/presupuesto/presupuesto-2027?hecho=pp.process.update');
      const after = (await getJson(base, `/api/v1/presupuesto/presupuesto-2027?${fresh()}`)).body;
      assert.equal(after.title, 'Presupuesto Participativo 2027');
      assert.equal(after.proposals_to, '2026-12-20');
      const shown = await (await sec.get('/presupuesto/presupuesto-2027?hecho=pp.process.update')).text();
      assert.match(shown, /Los cambios del proceso quedaron guardados/);

      // Voting is open in 2026: its rules are fixed, its wording is not.
      const p26 = (await getJson(base, `/api/v1/presupuesto/presupuesto-2026?${fresh()}`)).body;
      const v26 = formValues(await (await sec.get(`/panel/accion/pp.process.update?id=${p26.id}`)).text());
      await unchanged('a rule changed during voting', async () => {
        const bad = await sec.post('/panel/accion/pp.process.update', { body: { ...v26, counting_rule: 'greedy' } });
        assert.equal(bad.status, 409);
        assert.match(await bad.text(), /La votación de este proceso ya empezó/);
        const api = await sessionAction(sec, 'pp.process.update', { ...v26, voting_to: '2026-12-31' });
        assert.equal(api.status, 409);
        assert.equal(api.body.error.code, 'conflict');
      });
      const ok = await sessionAction(sec, 'pp.process.update', { ...v26, description: 'Votación abierta (descripción corregida).' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));

      // Zones: budgets stay positive, names unique in the process; a voting zone keeps its ballot.
      const z = formValues(await (await sec.get(`/panel/accion/pp.zone.update?id=${zoneA}`)).text());
      assert.equal(z.name, 'Centro');
      assert.equal(z.budget, '5000000');
      for (const [what, change, field] of [['zero budget', { budget: '0' }, 'budget'], ['negative budget', { budget: '-5' }, 'budget'], ['repeated name', { name: 'Oriente' }, 'name']]) {
        await unchanged(what, async () => {
          const bad = await sessionAction(sec, 'pp.zone.update', { ...z, ...change });
          assert.equal(bad.status, 400, what);
          assert.ok(bad.body.error.fields[field], `${what}: ${JSON.stringify(bad.body)}`);
        });
      }
      const renamed = await sec.post('/panel/accion/pp.zone.update', { body: { ...z, name: 'Centro Histórico', budget: '6000000' } });
      assert.equal(renamed.status, 303);
      const coecillo = p26.zones.find((x) => x.name === 'Coecillo');
      const vz = formValues(await (await sec.get(`/panel/accion/pp.zone.update?id=${coecillo.id}`)).text());
      await unchanged('a voting zone budget', async () => {
        const bad = await sessionAction(sec, 'pp.zone.update', { ...vz, budget: '1' });
        assert.equal(bad.status, 409);
      });
      // Residents and enlaces get no such forms.
      const cit = await loggedIn(base, USERS.ciudadania);
      assert.equal((await cit.get(`/panel/accion/pp.process.update?id=${open.id}`)).status, 403);
      const enl = await loggedIn(base, USERS.enlaceDPPD);
      await unchanged('an enlace editing a zone', async () => {
        const r2 = await sessionAction(enl, 'pp.zone.update', { ...z, name: 'X' });
        assert.equal(r2.status, 403);
      });
    });

    it('a resident edits their draft, adds photos and submits it; nobody else may', async () => {
      const ana = await loggedIn(base, USERS.ciudadania);
      const made = await sessionAction(ana, 'pp.proposal.create', {
        process_id: open.id, zone_id: zoneA, title: 'Bancas en la plaza', description: 'Diez bancas', lat: 21.122, lng: -101.683, estimated_cost: 90000,
      });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      const id = made.body.result.id;
      // Their list and the draft's page offer the edit.
      const home = await (await ana.get('/presupuesto')).text();
      assert.match(home, new RegExp(`<a href="/presupuesto/proyectos/${id}">Bancas en la plaza</a>`));
      const draft = await (await ana.get(`/presupuesto/proyectos/${id}`)).text();
      assert.match(draft, new RegExp(`href="/panel/accion/pp\\.proposal\\.update\\?id=${id}&amp;next=/presupuesto/proyectos/${id}"`));
      assert.match(draft, /Enviar propuesta/);
      const values = formValues(await (await ana.get(`/panel/accion/pp.proposal.update?id=${id}&next=/presupuesto/proyectos/${id}`)).text());
      assert.equal(values.title, 'Bancas en la plaza');
      assert.equal(values.zone_id, String(zoneA));
      const r = await ana.post('/panel/accion/pp.proposal.update', { body: { ...values, title: 'Bancas y sombra en la plaza', zone_id: String(zoneB), estimated_cost: '120000' } });
      assert.equal(r.status, 303, await r.text());
      const showDraft = async () => (await (await ana.get(`/api/v1/actions/pp.project.show?id=${id}`)).json()).result;
      let p = await showDraft();
      assert.equal(p.title, 'Bancas y sombra en la plaza');
      assert.equal(p.zone.id, zoneB);

      // Refusals, each writing nothing.
      const vecina = new Client(base);
      await vecina.login('vecina@example.org', 'otra-contrasena-larga');
      const edit = (over) => ({ id, zone_id: zoneB, title: 'Otro título', description: 'Otra descripción', estimated_cost: 1000, ...over });
      const cases = [
        ['someone else\'s draft', vecina, 'pp.proposal.update', edit(), 403, /Un borrador solo lo puede modificar quien lo registró/],
        ['a zone of another process', ana, 'pp.proposal.update', edit({ zone_id: past.zones[0].id }), 400, /zona/],
        ['latitude without longitude', ana, 'pp.proposal.update', edit({ lat: 21.1 }), 400, /latitud y longitud/],
        ['a photo that is an HTML page', ana, 'pp.photo.add', { project_id: id, caption: 'x', photo: file(HTML, 'foto.jpg', 'image/jpeg') }, 400, /JPEG, PNG o WebP/],
        ['a photo over 5 MB', ana, 'pp.photo.add', { project_id: id, caption: 'x', photo: file(Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024)])) }, 400, /5 MB/],
        ['a photo without a caption', ana, 'pp.photo.add', { project_id: id, photo: file(PNG) }, 400, /caption/],
        ['a photo on someone else\'s draft', vecina, 'pp.photo.add', { project_id: id, caption: 'x', photo: file(PNG) }, 403, /borrador/],
      ];
      for (const [what, who, action, input, status, message] of cases) {
        await unchanged(what, async () => {
          const res = await sessionAction(who, action, input);
          assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
          assert.match(JSON.stringify(res.body.error), message, what);
        });
      }
      assert.equal((await showDraft()).title, 'Bancas y sombra en la plaza');

      // A photo through the HTML form (multipart), then its gallery entry; private with the draft.
      const form = await (await ana.get(`/panel/accion/pp.photo.add?project_id=${id}&next=/presupuesto/proyectos/${id}`)).text();
      assert.match(form, /enctype="multipart\/form-data"/);
      const fv = formValues(form);
      const fd = new FormData();
      for (const [k, v] of Object.entries(fv)) fd.append(k, v);
      fd.set('caption', 'La plaza hoy, sin sombra');
      fd.append('photo', new Blob([PNG], { type: 'image/png' }), 'plaza.png');
      const up = await ana.post('/panel/accion/pp.photo.add', { body: fd });
      assert.equal(up.status, 303, await up.text());
      assert.equal(up.headers.get('location'), `/presupuesto/proyectos/${id}?hecho=pp.photo.add`);
      p = await showDraft();
      assert.equal(p.photos.length, 1);
      const photoUrl = p.photos[0].url;
      const page = await (await ana.get(`/presupuesto/proyectos/${id}`)).text();
      assert.match(page, new RegExp(`<img src="${photoUrl}" alt="La plaza hoy, sin sombra" loading="lazy"`));
      assert.equal((await fetch(base + photoUrl)).status, 404, 'a draft photo is private');
      const mine = await ana.get(photoUrl);
      assert.equal(mine.status, 200);
      assert.equal(mine.headers.get('content-type'), 'image/png');
      assert.deepEqual(Buffer.from(await mine.arrayBuffer()), PNG);

      // Submitted: public, and closed to its author's edits; staff may still correct it.
      const csrf = draft.match(/name="_csrf" value="([^"]+)"/)[1];
      const sent = await ana.post('/panel/accion/pp.proposal.submit', { body: { _csrf: csrf, id: String(id), next: `/presupuesto/proyectos/${id}` } });
      assert.equal(sent.status, 303);
      assert.equal((await fetch(base + photoUrl)).status, 200);
      const pub = await (await fetch(`${base}/presupuesto/proyectos/${id}?${fresh()}`)).text();
      assert.match(pub, /<h2 id="h-fotos">Fotos<\/h2>/);
      assert.doesNotMatch(pub, /pp\.proposal\.update/, 'no edit link for visitors');
      await unchanged('the author editing a submitted proposal', async () => {
        const late = await sessionAction(ana, 'pp.proposal.update', edit());
        assert.equal(late.status, 409);
        assert.match(late.body.error.message, /ya fue enviada/);
        const latePhoto = await sessionAction(ana, 'pp.photo.add', { project_id: id, caption: 'otra', photo: file(PNG) });
        assert.equal(latePhoto.status, 409);
      });
      const sec = await loggedIn(base, USERS.secretariado);
      const fix = await sessionAction(sec, 'pp.proposal.update', edit({ title: 'Bancas y sombra en la plaza', description: 'Diez bancas', colonia: 'Centro' }));
      assert.equal(fix.status, 200, JSON.stringify(fix.body));
      const staffPhoto = await sessionAction(sec, 'pp.photo.add', { project_id: id, caption: 'Visita técnica', photo: file(PNG, 'visita.webp', 'application/octet-stream') });
      assert.equal(staffPhoto.status, 200, JSON.stringify(staffPhoto.body));
      const api = (await getJson(base, `/api/v1/presupuesto/proyectos/${id}?${fresh()}`)).body;
      assert.equal(api.colonia, 'Centro');
      assert.deepEqual(api.photos.map((x) => x.caption), ['La plaza hoy, sin sombra', 'Visita técnica']);
    });

    it('serves the projects with a location as GeoJSON, filtered like the page', async () => {
      const all = await fetch(`${base}/presupuesto/presupuesto-2025/proyectos.geojson?${fresh()}`);
      assert.equal(all.status, 200);
      assert.match(all.headers.get('content-type'), /^application\/geo\+json/);
      const fc = await all.json();
      assert.equal(fc.type, 'FeatureCollection');
      assert.ok(fc.features.length >= 10);
      for (const f of fc.features) {
        assert.equal(f.geometry.type, 'Point');
        const [lng, lat] = f.geometry.coordinates;
        assert.ok(lat > 20 && lat < 22 && lng < -100 && lng > -103, JSON.stringify(f.geometry));
        assert.equal(f.properties.url, `/presupuesto/proyectos/${f.properties.id}`);
      }
      const zone = past.zones.find((z) => z.name === 'Coecillo');
      const some = await (await fetch(`${base}/presupuesto/presupuesto-2025/proyectos.geojson?zona=${zone.id}&${fresh()}`)).json();
      assert.ok(some.features.length > 0 && some.features.length < fc.features.length);
      assert.ok(some.features.every((f) => f.properties.zone === 'Coecillo'));
      // The page points its map at the same filters.
      const page = await (await fetch(`${base}/presupuesto/presupuesto-2025?zona=${zone.id}`)).text();
      assert.match(page, new RegExp(`data-map-src="/presupuesto/presupuesto-2025/proyectos\\.geojson\\?zona=${zone.id}"`));
      assert.equal((await fetch(`${base}/presupuesto/no-existe/proyectos.geojson`)).status, 404);
    });
  });
}
