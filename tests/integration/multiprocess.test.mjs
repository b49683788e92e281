// Several `abierto serve` on one PostgreSQL database: a write through one process invalidates
// the page cache of the others (they poll the shared revision).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer } from '../lib/abierto.mjs';
import { PLAN, USERS, commitmentsByCode, apiToken, bearerAction, fresh } from '../lib/itest.mjs';

const pg = backends().find((b) => b.name === 'postgresql');

describe('two processes on one PostgreSQL database', { skip: pg ? false : 'ABIERTO_TEST_PG_URL is not set' }, () => {
  let a, b;
  before(async () => {
    a = await startServer(pg); // loads the demo
    b = await startServer(pg, { demo: false, db: a.db });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('both serve the same data', async () => {
    const [ha, hb] = await Promise.all([a.url, b.url].map(async (u) => (await fetch(`${u}/healthz`)).json()));
    assert.equal(ha.db, 'postgresql');
    assert.equal(hb.db, 'postgresql');
    const [pa, pb] = await Promise.all([a.url, b.url].map(async (u) => (await fetch(`${u}/api/v1/plans/${PLAN}?${fresh()}`)).json()));
    assert.deepEqual(pb, pa);
  });

  it("a write through A shows on B's cached pages within a few poll intervals", async () => {
    const c = (await commitmentsByCode(a.url))['MB-01'];
    const pagePath = `/compromisos/${c.id}`;
    const apiPath = `/api/v1/commitments/${c.id}`;
    // Fill B's cache: the second answer comes from it.
    await (await fetch(b.url + pagePath)).text();
    const cached = await (await fetch(b.url + pagePath)).text();
    await (await fetch(b.url + apiPath)).text();
    const reason = `Calificación hecha en otro proceso ${fresh()}`;
    assert.ok(!cached.includes(reason));

    const token = await apiToken(a.url, USERS.secretariado);
    const w = await bearerAction(a.url, token, 'commitment.rate', { id: c.id, ambition: 'transformadora', ambition_reason: reason });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    // A's own cache is invalidated at once.
    assert.ok((await (await fetch(a.url + pagePath)).text()).includes(reason));

    // B learns of it by polling the revision (every 500 ms); wait for it, bounded.
    const deadline = Date.now() + 10000;
    let page, polls = 0;
    for (;;) {
      page = await (await fetch(b.url + pagePath)).text();
      polls += 1;
      if (page.includes(reason) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(page.includes(reason), `B still served the stale page after ${polls} polls`);
    const api = await (await fetch(b.url + apiPath)).json();
    assert.equal(api.ambition.rating, 'transformadora');
    assert.equal(api.ambition.reason, reason);
    const hb = await (await fetch(`${b.url}/healthz`)).json();
    const ha = await (await fetch(`${a.url}/healthz`)).json();
    assert.equal(hb.revision, ha.revision);
  });

  it('a write through B is visible on A too', async () => {
    const c = (await commitmentsByCode(b.url))['CJ-01'];
    const pagePath = `/compromisos/${c.id}`;
    await (await fetch(a.url + pagePath)).text();
    const token = await apiToken(b.url, USERS.admin);
    const reason = `Escrito en B ${fresh()}`;
    const w = await bearerAction(b.url, token, 'commitment.rate', { id: c.id, ambition: 'menor', ambition_reason: reason });
    assert.equal(w.status, 200);
    const deadline = Date.now() + 10000;
    let page;
    do {
      page = await (await fetch(a.url + pagePath)).text();
      if (!page.includes(reason)) await new Promise((r) => setTimeout(r, 100));
    } while (!page.includes(reason) && Date.now() < deadline);
    assert.ok(page.includes(reason));
  });
});
