// Participatory budget over HTTP on every backend: the public pages and downloads, voting online
// and at a booth, each refusal storing nothing, receipts, and durability of acknowledged votes
// through a SIGKILL of the server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer } from '../lib/abierto.mjs';
import { USERS, getJson, fresh, loggedIn, apiToken, bearerAction } from '../lib/itest.mjs';

const OPEN = 'presupuesto-2026';
const PAST = 'presupuesto-2025';

// Well-formed CURPs that no other test uses (distinct birth years).
function curp(i, prefix = 'TEST') {
  const p2 = (n) => String(n).padStart(2, '0');
  return `${prefix}${p2(i % 100)}${p2(1 + (i % 12))}${p2(1 + (Math.floor(i / 12) % 28))}HGTDMS0${i % 10}`;
}

async function process(base, slug) {
  const { status, body } = await getJson(base, `/api/v1/presupuesto/${slug}?${fresh()}`);
  assert.equal(status, 200);
  return body;
}

// Ballots per zone plus the data revision: what a stored vote would change.
async function ballotState(base) {
  const p = await process(base, OPEN);
  const rev = (await getJson(base, '/healthz')).body.revision;
  return { rev, zones: p.zones.map((z) => [z.name, z.ballots]) };
}

for (const backend of backends()) {
  describe(`presupuesto participativo (${backend.name})`, () => {
    let srv, base, open, coecillo, joyas;
    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      open = await process(base, OPEN);
      coecillo = open.zones.find((z) => z.name === 'Coecillo');
      joyas = open.zones.find((z) => z.name === 'Las Joyas');
    });
    after(async () => { await srv?.stop(); });

    const projectsOf = (zone) => open.projects.filter((p) => p.zone.id === zone.id && p.status === 'viable');

    it('lists processes and projects, filters without accents, and works without JavaScript', async () => {
      const home = await (await fetch(`${base}/presupuesto`)).text();
      assert.match(home, /Presupuesto Participativo 2025/);
      assert.match(home, /Presupuesto Participativo 2026/);
      const page = await (await fetch(`${base}/presupuesto/${PAST}?q=JARDIN&${fresh()}`)).text();
      assert.match(page, /Jardín vecinal con huerto comunitario/);
      assert.match(page, /Rescate del jardín de San Miguel/);
      assert.doesNotMatch(page, /Pavimentación de la calle Río Lerma/);
      const dear = await (await fetch(`${base}/presupuesto/${PAST}?costo_min=15000000&${fresh()}`)).text();
      assert.match(dear, /Reencarpetado de la avenida principal/);
      assert.doesNotMatch(dear, /Gimnasio al aire libre/);
      assert.doesNotMatch(page, /<script>(?!<\/script>)/);
      // Not-viable decisions and their reasons are public.
      const past = await process(base, PAST);
      const nv = past.projects.find((p) => p.status === 'no_viable' && p.review.legal.ok === false);
      const pp = await (await fetch(`${base}/presupuesto/proyectos/${nv.id}`)).text();
      assert.match(pp, /propiedad privada/);
    });

    it('publishes results with reasons and anonymized ballots that recount', async () => {
      const past = await process(base, PAST);
      const zone = past.zones.find((z) => z.name === 'Cerro Gordo');
      const res = await getJson(base, `/api/v1/presupuesto/${PAST}/resultados/${zone.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.available, true);
      const html = await (await fetch(`${base}/presupuesto/${PAST}/resultados/${zone.id}`)).text();
      assert.match(html, /Presupuesto restante al llegar su turno/);
      const pb = await (await fetch(`${base}/presupuesto/${PAST}/${zone.id}.pb`)).text();
      const votes = pb.split('VOTES\n')[1].trim().split('\n').slice(1);
      assert.equal(votes.length, res.body.ballots);
      assert.deepEqual(votes.map((l) => l.split(';')[0]), votes.map((_, i) => String(i + 1)));
      // Greedy recount of the file in a few lines: approvals per project, highest first.
      const projects = pb.split('PROJECTS\n')[1].split('VOTES')[0].trim().split('\n').slice(1)
        .map((l) => { const [id, cost] = l.split(';'); return { id, cost: Number(cost), n: 0 }; });
      for (const v of votes) for (const id of v.split(';')[1].split(',')) projects.find((p) => p.id === id).n++;
      projects.sort((a, b) => b.n - a.n || a.cost - b.cost || (a.id < b.id ? -1 : 1));
      let left = res.body.budget;
      const won = [];
      // A project nobody voted for does not win, even with money left (see CountZone).
      for (const p of projects) if (p.n > 0 && p.cost <= left) { won.push(Number(p.id)); left -= p.cost; }
      assert.ok(res.body.projects.some((p) => p.votes === 0 && !p.selected), 'the demo has an unsupported project');
      assert.deepEqual(won.sort(), res.body.projects.filter((p) => p.selected).map((p) => p.id).sort());
      const csv = await fetch(`${base}/presupuesto/${PAST}/${zone.id}.csv`);
      assert.equal(csv.status, 200);
      assert.match(await csv.text(), /^\uFEFF?boleta,proyecto,costo,puntos/);
      // While voting is open nothing is published.
      assert.equal((await fetch(`${base}/presupuesto/${OPEN}/${coecillo.id}.pb`)).status, 404);
    });

    it('a resident reads the privacy notice, votes online and checks the receipt', async () => {
      const c = await loggedIn(base, USERS.ciudadania);
      const form = await (await c.get(`/presupuesto/${OPEN}/votar?zona=${coecillo.id}`)).text();
      const notice = form.indexOf('Aviso de privacidad');
      assert.ok(notice > 0, 'privacy notice shown');
      assert.ok(notice < form.indexOf('name="voter_id"'), 'notice before the form');
      const csrf = form.match(/name="_csrf" value="([^"]+)"/)[1];
      const [p1, p2] = projectsOf(coecillo);
      const before = await ballotState(base);
      const r = await c.post(`/presupuesto/${OPEN}/votar`, {
        body: { _csrf: csrf, zone_id: String(coecillo.id), [`p_${p1.id}`]: 'on', [`p_${p2.id}`]: 'on', voter_id_type: 'curp', voter_id: curp(1, 'CIUD'), privacy_accepted: 'true' },
      });
      const html = await r.text();
      assert.equal(r.status, 200, html);
      const code = html.match(/id="recibo">([A-Z2-9]{5}-[A-Z2-9]{5})</)[1];
      const after = await ballotState(base);
      assert.equal(after.zones.find(([n]) => n === 'Coecillo')[1], before.zones.find(([n]) => n === 'Coecillo')[1] + 1);
      const check = await (await fetch(`${base}/presupuesto/recibo?codigo=${code.toLowerCase()}`)).text();
      assert.match(check, /Tu boleta está registrada/);
      assert.doesNotMatch(check, new RegExp(p1.title));
      // The same account again, even with another document: refused, nothing stored.
      const again = await c.post(`/presupuesto/${OPEN}/votar`, {
        body: { _csrf: csrf, zone_id: String(coecillo.id), [`p_${p1.id}`]: 'on', voter_id_type: 'curp', voter_id: curp(2, 'CIUD'), privacy_accepted: 'true' },
      });
      assert.equal(again.status, 409);
      assert.match(await again.text(), /Ya se registró un voto/);
      assert.deepEqual(await ballotState(base), after);
    });

    it('bad ballots get a clear error and store nothing', async () => {
      const token = await apiToken(base, USERS.enlaceDPPD);
      const cit = await loggedIn(base, USERS.ciudadania);
      const [j1, j2, j3] = projectsOf(joyas);
      const [c1] = projectsOf(coecillo);
      const past = await process(base, PAST);
      const ballot = (over) => ({ process_id: open.id, zone_id: coecillo.id, projects: String(c1.id), voter_id_type: 'curp', voter_id: curp(50), privacy_accepted: true, ...over });
      // First a good booth vote for curp(51), so that a second one is a duplicate.
      const ok = await bearerAction(base, token, 'pp.vote.booth', ballot({ voter_id: curp(51) }));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.match(ok.body.result.receipt, /^[A-Z2-9]{5}-[A-Z2-9]{5}$/);
      const cases = [
        ['unknown project', ballot({ projects: '999999' }), 400, /no está en la boleta/],
        ['over-budget knapsack', ballot({ zone_id: joyas.id, projects: `${j1.id},${j2.id},${j3.id}` }), 400, /presupuesto de la zona/],
        ['second ballot of the same voter', ballot({ voter_id: curp(51) }), 409, /Ya se registró un voto/],
        ['outside the voting phase', ballot({ process_id: past.id, zone_id: past.zones[0].id, projects: String(past.projects[0].id) }), 409, /no está abierta/],
        ['zone of another process', ballot({ zone_id: past.zones[0].id }), 400, /zona/],
        ['privacy notice not accepted', ballot({ privacy_accepted: false }), 400, /aviso de privacidad/],
        ['malformed CURP', ballot({ voter_id: 'NO-ES-UNA-CURP' }), 400, /CURP/],
      ];
      for (const [what, input, status, msg] of cases) {
        const before = await ballotState(base);
        const r = await bearerAction(base, token, 'pp.vote.booth', input);
        assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
        assert.match(JSON.stringify(r.body.error), msg, what);
        assert.deepEqual(await ballotState(base), before, `${what} stored something`);
      }
      // A proposal in a zone of another process (the 2026 registration is closed, so the zone
      // check must come first and name the field).
      const before = await ballotState(base);
      const prop = await bearerAction(base, token, 'pp.proposal.create', { process_id: open.id, zone_id: past.zones[0].id, title: 'x', description: 'y', estimated_cost: 100 });
      assert.equal(prop.status, 400);
      assert.ok(prop.body.error.fields.zone_id, JSON.stringify(prop.body));
      // Forged or missing CSRF tokens on the vote form and on the API.
      const form = { zone_id: String(coecillo.id), [`p_${c1.id}`]: 'on', voter_id_type: 'curp', voter_id: curp(60), privacy_accepted: 'true' };
      for (const csrf of [undefined, 'forjado-0123456789abcdef0123456789abcdef']) {
        const body = csrf ? { ...form, _csrf: csrf } : form;
        const r = await cit.post(`/presupuesto/${OPEN}/votar`, { body });
        assert.equal(r.status, 403);
        assert.match(await r.text(), /CSRF/);
      }
      const apiForged = await cit.post('/api/v1/actions/pp.vote.cast', { json: ballot({ voter_id: curp(61) }), headers: { 'x-csrf-token': 'forjado' } });
      assert.equal(apiForged.status, 403);
      assert.deepEqual(await ballotState(base), before);
      // Anonymous visitors cannot vote.
      const anon = await fetch(`${base}/api/v1/actions/pp.vote.cast`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ballot({ voter_id: curp(62) })) });
      assert.ok([401, 403].includes(anon.status));
      assert.deepEqual(await ballotState(base), before);
    });
  });

  describe(`acknowledged votes survive a SIGKILL (${backend.name})`, () => {
    let first, second;
    after(async () => {
      await second?.stop();
      await first?.stop();
    });

    it('every receipt given before the kill is found after a restart', async () => {
      first = await startServer(backend);
      const base = first.url;
      const open = await process(base, OPEN);
      const zone = open.zones.find((z) => z.name === 'Coecillo');
      const project = open.projects.find((p) => p.zone.id === zone.id && p.status === 'viable');
      const token = await apiToken(base, USERS.enlaceDPPD);
      const receipts = [];
      // Several booths at once, then the kill right after the last answer arrives.
      const cast = (i) => bearerAction(base, token, 'pp.vote.booth', {
        process_id: open.id, zone_id: zone.id, projects: String(project.id), voter_id_type: 'curp', voter_id: curp(i, 'KILL'), privacy_accepted: true,
      });
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all([0, 1, 2, 3].map((k) => cast(round * 4 + k)));
        for (const a of answers) {
          assert.equal(a.status, 200, JSON.stringify(a.body));
          receipts.push(a.body.result.receipt);
        }
      }
      const exited = new Promise((r) => first.proc.once('exit', r));
      first.proc.kill('SIGKILL');
      await exited;
      second = await startServer(backend, { demo: false, db: first.db });
      for (const code of receipts) {
        const page = await (await fetch(`${second.url}/presupuesto/recibo?codigo=${code}`)).text();
        assert.match(page, /Tu boleta está registrada/, `receipt ${code} lost`);
      }
      const after = await process(second.url, OPEN);
      assert.equal(after.zones.find((z) => z.id === zone.id).ballots, receipts.length);
    });
  });
}
