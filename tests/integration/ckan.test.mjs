// The CKAN Action API v3 at /api/3/action/: CKAN's envelope, parameters, errors and shapes,
// checked against real CKAN responses and the alphagov JSON schemas of CKAN responses
// (../shared/conformance/ckan/), the datastore and its SQL guard, and writes with API tokens.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { backends, startServer, repoRoot } from '../lib/abierto.mjs';
import { USERS, apiToken, revision, loggedIn, sessionCsrf } from '../lib/itest.mjs';

const CONFORMANCE = join(repoRoot, '..', 'shared', 'conformance', 'ckan');
const real = (f) => JSON.parse(readFileSync(join(CONFORMANCE, f), 'utf8'));
const PRESUPUESTO = 'proyectos-presupuesto-participativo-2025';
const SOLICITUDES = 'solicitudes-de-informacion-2025';

// The alphagov schemas, loaded as their README says: each keyed by its stem, a lenient
// date-time (CKAN timestamps have no zone), without data.gov.uk's PII rule, organization
// allowed to be null.
function loadSchemas() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv, ['uri', 'uuid', 'email']);
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/.test(s)
      && !Number.isNaN(Date.parse(/Z|[+-]\d\d:\d\d$/.test(s) ? s : `${s}Z`)),
  });
  const dir = join(CONFORMANCE, 'response-schemas-alphagov');
  for (const f of readdirSync(dir)) {
    const stem = f.replace(/\.schema\.json$/, '');
    const s = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    delete s.$id;
    if (stem === 'package_base') {
      delete s.propertyNames;
      s.properties.extras.items.properties.key = { type: 'string' };
      s.properties.organization = { anyOf: [{ $ref: 'organization_base' }, { type: 'null' }] };
    }
    ajv.addSchema(s, `http://github.com/alphagov/ckan-functional-tests/api/${stem}`);
  }
  return (stem, body) => {
    const validate = ajv.getSchema(`http://github.com/alphagov/ckan-functional-tests/api/${stem}`);
    const ok = validate(body);
    assert.ok(ok, `${stem}: ${JSON.stringify(validate.errors, null, 1)}`);
  };
}
const conforms = loadSchemas();

// Keys of a real CKAN dict that every CKAN client may read (revision_id went away in CKAN 2.9).
const coreKeys = (o) => Object.keys(o).filter((k) => k !== 'revision_id');
function hasKeys(ours, theirs, where) {
  const missing = theirs.filter((k) => !(k in ours));
  assert.deepEqual(missing, [], `${where}: keys of real CKAN missing`);
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) q.append(k, typeof v === 'string' ? v : JSON.stringify(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// One call: GET with the parameters in the query string, or POST with a JSON body.
async function ckan(base, action, { get, post, token, bearer, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = bearer ? `Bearer ${token}` : token;
  let r;
  if (post !== undefined || raw !== undefined) {
    if (raw === undefined) h['content-type'] = 'application/json';
    r = await fetch(`${base}/api/3/action/${action}`, {
      method: 'POST', headers: h, body: raw !== undefined ? raw : JSON.stringify(post),
    });
  } else {
    r = await fetch(`${base}/api/3/action/${action}${query(get)}`, { headers: h });
  }
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body, headers: r.headers, text };
}

async function ok(base, action, opts) {
  const r = await ckan(base, action, opts);
  assert.equal(r.status, 200, `${action}: ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.success, true);
  return r.body.result;
}

function expectError(r, status, type, where) {
  assert.equal(r.status, status, `${where}: ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.success, false, where);
  assert.equal(r.body.error.__type, type, where);
  assert.equal(typeof r.body.error.message, 'string', where);
  assert.match(r.body.help, /\/api\/3\/action\/help_show\?name=/, where);
}

async function waitFor(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

for (const backend of backends()) {
  describe(`CKAN Action API v3 (${backend.name})`, () => {
    let srv, base;
    const tokens = {};
    let presupuesto; // the demo dataset with a datastore resource of 7 rows
    let rid;         // that resource's id

    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      for (const [k, email] of Object.entries({ admin: USERS.admin, ut: USERS.enlaceUT, dppd: USERS.enlaceDPPD, ciudadania: USERS.ciudadania }))
        tokens[k] = await apiToken(base, email);
      presupuesto = await ok(base, 'package_show', { get: { id: PRESUPUESTO } });
      rid = presupuesto.resources[0].id;
      // Background work at start-up (ingest jobs, datasets the platform publishes by itself)
      // must be over before "nothing changed" can be checked by the data revision.
      let last = await revision(base), stableSince = Date.now();
      await waitFor('a quiet data revision', async () => {
        const now = await revision(base);
        if (now !== last) { last = now; stableSince = Date.now(); }
        return Date.now() - stableSince > 1500;
      }, 60000);
    });
    after(async () => { await srv?.stop(); });

    // What an observer could see change: the data revision, the published names and the rows
    // of the demo's datastore resource.
    async function snapshot() {
      const [rev, names, rows] = await Promise.all([
        revision(base),
        ok(base, 'package_list', { post: {} }),
        ok(base, 'datastore_search', { post: { resource_id: rid, limit: 1000 } }),
      ]);
      return { rev, names, rows: rows.records };
    }

    it('answers in CKAN\'s envelope: help, success, result; status_show, help_show, /api/3', async () => {
      const r = await ckan(base, 'status_show');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.deepEqual(Object.keys(r.body), ['help', 'success', 'result']);
      assert.equal(r.body.help, `${base}/api/3/action/help_show?name=status_show`);
      conforms('action_response_base', r.body);
      assert.deepEqual(Object.keys(r.body.result).sort(),
        ['ckan_version', 'error_emails_to', 'extensions', 'locale_default', 'site_description', 'site_title', 'site_url']);
      assert.equal(r.body.result.ckan_version, '2.10.0');
      assert.equal(r.body.result.site_url, base);
      assert.ok(r.body.result.extensions.includes('datastore'));
      const help = await ok(base, 'help_show', { get: { name: 'datastore_search' } });
      assert.match(help, /resource_id/);
      expectError(await ckan(base, 'help_show', { get: { name: 'nada' } }), 404, 'Not Found Error', 'help_show');
      assert.deepEqual(await (await fetch(`${base}/api/3`)).json(), { version: 3 });
      // CKAN's unversioned path is the same API.
      const plain = await (await fetch(`${base}/api/action/package_list`)).json();
      assert.deepEqual(plain.result, await ok(base, 'package_list'));
    });

    it('refuses unknown actions, GETs of writes and bad bodies as CKAN does (400, a JSON string)', async () => {
      let r = await ckan(base, 'no_such_action');
      assert.equal(r.status, 400);
      assert.equal(r.body, 'Bad request - Action name not known: no_such_action');
      r = await ckan(base, 'package_create', { get: { name: 'x' }, token: tokens.admin });
      assert.equal(r.status, 400);
      assert.equal(r.body, 'Bad request - JSON Error: Invalid request. Please use POST method for your request');
      r = await ckan(base, 'package_show', { raw: '{"id": ', headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 400);
      assert.match(r.body, /^Bad request - JSON Error/);
      r = await ckan(base, 'package_show', { raw: '["x"]', headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 400);
      assert.match(r.body, /^Bad request - Bad request data: .*needs to be a dictionary/);
      // curl -d '{"id": ...}' sends JSON as a form; CKAN reads it as JSON.
      const form = await ckan(base, 'package_show', {
        raw: JSON.stringify({ id: PRESUPUESTO }), headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(form.status, 200);
      assert.equal(form.body.result.name, PRESUPUESTO);
    });

    it('package_list: published names, sorted, with limit and offset (GET and POST)', async () => {
      const names = await ok(base, 'package_list');
      conforms('package_list', { help: `${base}/x`, success: true, result: names });
      for (const n of [PRESUPUESTO, SOLICITUDES, 'tramites-en-linea']) assert.ok(names.includes(n), n);
      assert.deepEqual(names, [...names].sort());
      assert.deepEqual(await ok(base, 'package_list', { get: { limit: '1', offset: '1' } }), names.slice(1, 2));
      assert.deepEqual(await ok(base, 'package_list', { post: { limit: 2 } }), names.slice(0, 2));
      const bad = await ckan(base, 'package_list', { get: { limit: 'muchos' } });
      expectError(bad, 409, 'Validation Error', 'limit');
      assert.ok(Array.isArray(bad.body.error.limit), 'field errors are lists');
    });

    it('package_show: by name or id, CKAN\'s keys, schema, absolute resource URLs, no internal ids', async () => {
      const r = await ckan(base, 'package_show', { get: { id: PRESUPUESTO } });
      assert.equal(r.status, 200);
      conforms('package_show', r.body);
      const p = r.body.result;
      assert.deepEqual(await ok(base, 'package_show', { get: { id: p.id } }), p);
      assert.deepEqual(await ok(base, 'package_show', { post: { id: p.id } }), p);
      const demo = real('package_show.demo-ckan-org-2017.json').result;
      const uk = real('package_show.data-gov-uk.json').result;
      hasKeys(p, coreKeys(demo), 'package');
      hasKeys(p.resources[0], coreKeys(demo.resources[0]), 'resource');
      hasKeys(p.tags[0], coreKeys(demo.tags[0]), 'tag');
      hasKeys(p.organization, coreKeys(uk.organization), 'organization');
      assert.equal(p._id, undefined);
      assert.equal(p.state, 'active');
      assert.equal(p.organization.name, 'presupuesto-participativo');
      assert.deepEqual(p.groups.map((g) => g.name).sort(), ['finanzas-publicas', 'participacion-ciudadana']);
      assert.equal(p.resources[0].datastore_active, true);
      for (const res of p.resources) {
        assert.ok(res.url.startsWith(`${base}/datos/conjunto/${PRESUPUESTO}/recurso/${res.id}/`), res.url);
        const file = await fetch(res.url);
        assert.equal(file.status, 200, 'the absolute URL downloads the file');
        assert.match(await file.text(), /delegacion,proyectos_registrados/);
      }
      expectError(await ckan(base, 'package_show', { get: { id: 'no-existe' } }), 404, 'Not Found Error', 'unknown');
      const missing = await ckan(base, 'package_show');
      expectError(missing, 409, 'Validation Error', 'missing id');
      assert.ok(Array.isArray(missing.body.error.id));
    });

    it('package_search: CKAN\'s result, paging, sort, facets, fq, q and the rows cap', async () => {
      const r = await ckan(base, 'package_search');
      conforms('package_search', r.body);
      const all = r.body.result;
      const demo = real('package_search.demo-ckan-org-2017.json').result;
      assert.deepEqual(Object.keys(all).sort(), Object.keys(demo).sort());
      hasKeys(all.results[0], coreKeys(demo.results[0]), 'search result');
      assert.ok(all.count >= 3);
      assert.deepEqual(all.facets, {}, 'no facets unless facet.field asks');
      assert.deepEqual(all.search_facets, {});
      assert.ok(all.results.every((p) => p._id === undefined && p.state === 'active'));

      const byName = await ok(base, 'package_search', { get: { sort: 'name asc', rows: '100' } });
      const names = byName.results.map((p) => p.name);
      assert.deepEqual(names, [...names].sort());
      const page = await ok(base, 'package_search', { get: { sort: 'name asc', rows: '1', start: '1' } });
      assert.equal(page.results.length, 1);
      assert.equal(page.results[0].name, names[1]);
      assert.equal(page.count, byName.count);

      const faceted = await ok(base, 'package_search', {
        get: { 'facet.field': ['organization', 'tags', 'res_format'], rows: '0' },
      });
      assert.equal(faceted.results.length, 0);
      assert.ok(faceted.facets.organization['presupuesto-participativo'] >= 1);
      assert.equal(Object.values(faceted.facets.organization).reduce((a, b) => a + b, 0), faceted.count,
        'every dataset has one organization');
      assert.ok(Object.keys(faceted.facets.tags).length > 2);
      const limited = await ok(base, 'package_search', { get: { 'facet.field': '["tags"]', 'facet.limit': '2', rows: '0' } });
      assert.equal(Object.keys(limited.facets.tags).length, 2, 'facet.limit');
      assert.deepEqual(Object.keys(limited.facets), ['tags']);
      assert.equal(faceted.search_facets.res_format.items.find((i) => i.name === 'CSV').count, faceted.count);
      conforms('package_search', { help: `${base}/x`, success: true, result: faceted });
      const post = await ok(base, 'package_search', { post: { 'facet.field': ['groups'], rows: 0 } });
      assert.ok(post.facets.groups['participacion-ciudadana'] >= 1);

      const fq = await ok(base, 'package_search', { get: { fq: 'organization:unidad-de-transparencia', rows: '1000' } });
      assert.ok(fq.results.some((p) => p.name === SOLICITUDES));
      assert.ok(fq.results.every((p) => p.organization.name === 'unidad-de-transparencia'));
      assert.ok(fq.count < all.count);
      const q = await ok(base, 'package_search', { get: { q: 'delegación' } });
      assert.ok(q.results.some((p) => p.name === PRESUPUESTO));
      assert.ok(!q.results.some((p) => p.name === 'tramites-en-linea'));
      // CKAN lowers rows above ckan.search.rows_max (1000) instead of failing.
      const capped = await ok(base, 'package_search', { get: { rows: '5000' } });
      assert.equal(capped.results.length, capped.count);
      expectError(await ckan(base, 'package_search', { get: { rows: '-1' } }), 409, 'Validation Error', 'rows');
      expectError(await ckan(base, 'package_search', { get: { sort: 'secreto desc' } }), 409, 'Validation Error', 'sort');
    });

    it('organization_list/show, group_list/show, tag_list, resource_show, license_list', async () => {
      const orgs = await ok(base, 'organization_list');
      for (const n of ['innovacion', 'presupuesto-participativo', 'unidad-de-transparencia']) assert.ok(orgs.includes(n), n);
      // CKAN's default order: by title.
      const byTitle = await ok(base, 'organization_list', { get: { all_fields: 'true' } });
      assert.deepEqual(byTitle.map((o) => o.name), orgs);
      const titles = byTitle.map((o) => o.title.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase());
      assert.deepEqual(titles, [...titles].sort());
      const full = await ckan(base, 'organization_list', { get: { all_fields: 'True', sort: 'name desc' } });
      conforms('organization_list', full.body);
      const fullNames = full.body.result.map((o) => o.name);
      assert.deepEqual(fullNames, [...fullNames].sort().reverse());
      assert.ok(full.body.result.every((o) => typeof o.package_count === 'number' && o._id === undefined));
      assert.deepEqual(await ok(base, 'organization_list', { get: { sort: 'name asc', limit: '1', offset: '1' } }),
        [...fullNames].sort().slice(1, 2));

      const org = await ckan(base, 'organization_show', { get: { id: 'presupuesto-participativo', include_datasets: 'true' } });
      conforms('organization_show', org.body);
      assert.equal(org.body.result._id, undefined);
      const ofOrg = await ok(base, 'package_search', { get: { fq: 'organization:presupuesto-participativo', rows: '0' } });
      assert.equal(org.body.result.package_count, ofOrg.count);
      assert.equal(org.body.result.packages.length, ofOrg.count);
      const listed = org.body.result.packages.find((p) => p.name === PRESUPUESTO);
      assert.ok(listed.resources[0].url.startsWith(base));
      const byId = await ok(base, 'organization_show', { get: { id: org.body.result.id } });
      assert.equal(byId.name, 'presupuesto-participativo');
      assert.equal(byId.packages, undefined, 'include_datasets defaults to false, as in CKAN 2.10');
      expectError(await ckan(base, 'organization_show', { get: { id: 'nadie' } }), 404, 'Not Found Error', 'org');

      const groups = await ok(base, 'group_list');
      assert.ok(groups.includes('participacion-ciudadana'));
      const g = await ok(base, 'group_show', { get: { id: 'participacion-ciudadana', include_datasets: 'true' } });
      assert.equal(g.is_organization, false);
      assert.equal(g.type, 'group');
      assert.ok(g.packages.some((p) => p.name === PRESUPUESTO));
      const gAll = await ok(base, 'group_list', { get: { all_fields: 'true' } });
      assert.ok(gAll.every((x) => x.type === 'group' && typeof x.package_count === 'number'));

      const tags = await ok(base, 'tag_list');
      assert.ok(tags.includes('transparencia'));
      const some = await ok(base, 'tag_list', { get: { query: 'PRESUP' } });
      assert.ok(some.includes('presupuesto participativo'));
      assert.ok(some.every((t) => t.includes('presup')));
      assert.ok(!some.includes('transparencia'));
      const tagDicts = await ok(base, 'tag_list', { get: { all_fields: 'true' } });
      for (const t of tagDicts) conforms('tag', t);

      const res = await ok(base, 'resource_show', { get: { id: rid } });
      hasKeys(res, coreKeys(real('package_show.demo-ckan-org-2017.json').result.resources[0]), 'resource_show');
      assert.equal(res.package_id, presupuesto.id);
      assert.ok(res.url.startsWith(base));
      assert.ok(res.versions.every((v) => v.url.startsWith(base)));
      expectError(await ckan(base, 'resource_show', { get: { id: 'no-existe' } }), 404, 'Not Found Error', 'resource');

      const licenses = await ok(base, 'license_list');
      const cc = licenses.find((l) => l.id === 'cc-by-4.0');
      for (const k of ['id', 'title', 'url', 'status', 'maintainer', 'family', 'od_conformance', 'osd_conformance',
        'domain_content', 'domain_data', 'domain_software', 'is_okd_compliant', 'is_osi_compliant'])
        assert.ok(k in cc, k);
      assert.equal(cc.od_conformance, 'approved');
      assert.equal(cc.status, 'active');
      assert.equal(presupuesto.license_id, 'cc-by-4.0');
    });

    it('datastore_search: CKAN\'s shape, filters, q, fields, sort, limit, offset, include_total, _links', async () => {
      const r = await ckan(base, 'datastore_search', { get: { resource_id: rid } });
      assert.equal(r.status, 200);
      conforms('action_response_base', r.body);
      const d = r.body.result;
      const odaa = real('datastore_search.odaa-dk-2017.json').result;
      hasKeys(d, Object.keys(odaa), 'datastore_search');
      for (const f of d.fields) hasKeys(f, Object.keys(odaa.fields[0]), 'field');
      for (const k of ['limit', 'offset', 'include_total', 'records_format', 'total_was_estimated']) assert.ok(k in d, k);
      assert.deepEqual(d.fields.map((f) => [f.id, f.type]), [
        ['_id', 'int'], ['delegacion', 'text'], ['proyectos_registrados', 'int'], ['votos', 'int'],
        ['monto_asignado', 'numeric'], ['latitud', 'numeric'], ['longitud', 'numeric']]);
      assert.equal(d.total, 7);
      assert.equal(d.records.length, 7);
      assert.equal(d.limit, 100);
      assert.equal(d.offset, 0);
      assert.equal(d.include_total, true);
      assert.equal(d.resource_id, rid);
      for (const rec of d.records) assert.deepEqual(Object.keys(rec).sort(), d.fields.map((f) => f.id).sort());
      assert.deepEqual(d.records[0], { _id: 1, delegacion: 'Cerro Gordo', proyectos_registrados: 41, votos: 8120,
        monto_asignado: 31500000, latitud: 21.1617, longitud: -101.652 });
      // Decimals as CKAN writes them, not in exponent form (2.11617E1).
      assert.match(r.text, /"monto_asignado":31500000\.0,"latitud":21\.1617,"longitud":-101\.652\}/);
      assert.doesNotMatch(r.text, /[:,[]-?\d+(\.\d+)?[eE][+-]?\d/);
      assert.equal(d._links.start, `/api/3/action/datastore_search?resource_id=${rid}`);
      assert.equal(d._links.next, `/api/3/action/datastore_search?resource_id=${rid}&offset=100`);

      // filters: a JSON object in a POST, a JSON string in a GET.
      const f1 = await ok(base, 'datastore_search', { post: { resource_id: rid, filters: { delegacion: 'Las Joyas' } } });
      assert.deepEqual(f1.records.map((x) => x.votos), [10230]);
      assert.equal(f1.total, 1);
      assert.deepEqual(f1.filters, { delegacion: 'Las Joyas' });
      const f2 = await ok(base, 'datastore_search', { get: { resource_id: rid, filters: { votos: 7420 } } });
      assert.deepEqual(f2.records.map((x) => x.delegacion), ['Cerrito de Jerez']);
      // q: full text over the text columns, accents and case aside.
      const q = await ok(base, 'datastore_search', { get: { resource_id: rid, q: 'JOYAS' } });
      assert.deepEqual(q.records.map((x) => x.delegacion), ['Las Joyas']);
      // fields as a comma list or a JSON list.
      const fl = await ok(base, 'datastore_search', { get: { resource_id: rid, fields: 'delegacion, votos', limit: '1' } });
      assert.deepEqual(fl.fields.map((f) => f.id), ['delegacion', 'votos']);
      assert.deepEqual(Object.keys(fl.records[0]), ['delegacion', 'votos']);
      const fj = await ok(base, 'datastore_search', { post: { resource_id: rid, fields: ['votos'], limit: 1 } });
      assert.deepEqual(Object.keys(fj.records[0]), ['votos']);
      // sort, limit, offset and the next link.
      const top = await ok(base, 'datastore_search', { get: { resource_id: rid, sort: 'votos desc', limit: '2' } });
      assert.deepEqual(top.records.map((x) => x.delegacion), ['Las Joyas', 'Del Carmen']);
      const page = await ok(base, 'datastore_search', { get: { resource_id: rid, limit: '2', offset: '2' } });
      assert.deepEqual(page.records.map((x) => x._id), [3, 4]);
      assert.equal(page._links.next, `/api/3/action/datastore_search?resource_id=${rid}&limit=2&offset=4`);
      assert.equal(page._links.start, `/api/3/action/datastore_search?resource_id=${rid}&limit=2`);
      const noTotal = await ok(base, 'datastore_search', { get: { resource_id: rid, include_total: 'false' } });
      assert.equal('total' in noTotal, false);
      assert.equal(noTotal.include_total, false);
      // CKAN lowers a limit above rows_max (32000).
      assert.equal((await ok(base, 'datastore_search', { get: { resource_id: rid, limit: '50000' } })).limit, 32000);
      // Errors in CKAN's shapes.
      const badCol = await ckan(base, 'datastore_search', { post: { resource_id: rid, filters: { secreto: 1 } } });
      expectError(badCol, 409, 'Validation Error', 'unknown column');
      assert.ok(Array.isArray(badCol.body.error.filters));
      expectError(await ckan(base, 'datastore_search', { get: { resource_id: rid, sort: 'votos sideways' } }), 409, 'Validation Error', 'sort');
      expectError(await ckan(base, 'datastore_search', { get: { resource_id: rid, limit: '-5' } }), 409, 'Validation Error', 'limit');
      expectError(await ckan(base, 'datastore_search', { get: { resource_id: 'no-existe' } }), 404, 'Not Found Error', 'resource');
      expectError(await ckan(base, 'datastore_search', { get: { resource_id: rid, records_format: 'csv' } }), 409, 'Validation Error', 'records_format');
    });

    it('datastore_search_sql: a SELECT over published resources by id, with fields and records', async () => {
      const sql = `SELECT delegacion, votos FROM "${rid}" WHERE votos > 8000 ORDER BY votos DESC`;
      const r = await ok(base, 'datastore_search_sql', { get: { sql } });
      assert.equal(r.sql, sql);
      assert.deepEqual(r.fields, [{ id: 'delegacion', type: 'text' }, { id: 'votos', type: 'int' }]);
      assert.deepEqual(r.records.map((x) => x.delegacion), ['Las Joyas', 'Del Carmen', 'San Miguel', 'Cerro Gordo']);
      assert.equal('records_truncated' in r, false);
      // Several resources in one query, an aggregate, a CTE; POST works as GET.
      const sol = (await ok(base, 'package_show', { get: { id: SOLICITUDES } })).resources[0].id;
      const joined = await ok(base, 'datastore_search_sql', {
        post: { sql: `WITH v AS (SELECT sum(votos) AS n FROM "${rid}") SELECT (SELECT n FROM v) AS votos, `
          + `(SELECT count(*) FROM "${sol}") AS solicitudes, lower('LEON') AS l` },
      });
      assert.deepEqual(joined.records, [{ votos: 57670, solicitudes: 6, l: 'leon' }]);
      const all = await ok(base, 'datastore_search_sql', { get: { sql: `SELECT * FROM "${rid}" ORDER BY _id` } });
      assert.deepEqual(all.fields.map((f) => f.id), ['_id', 'delegacion', 'proyectos_registrados', 'votos', 'monto_asignado', 'latitud', 'longitud']);
      assert.equal(all.records.length, 7);
    });

    it('datastore_search_sql refuses writes, several statements and anything outside the datastore, changing nothing', async () => {
      const before = await snapshot();
      const t = `"${rid}"`;
      const writes = [
        `INSERT INTO ${t} (delegacion) VALUES ('x')`, `UPDATE ${t} SET votos = 0`, `DELETE FROM ${t}`,
        `DROP TABLE ${t}`, 'CREATE TABLE x (a int)', "ATTACH DATABASE '/tmp/x.db' AS x", 'PRAGMA query_only = 0',
        "COPY users TO '/tmp/users.csv'", 'SET statement_timeout = 0', `WITH x AS (SELECT 1) DELETE FROM ${t}`,
      ];
      for (const sql of writes) {
        const r = await ckan(base, 'datastore_search_sql', { post: { sql } });
        expectError(r, 403, 'Authorization Error', sql);
      }
      for (const sql of [`SELECT 1; DROP TABLE ${t}`, `SELECT * FROM ${t}; DELETE FROM ${t}`]) {
        const r = await ckan(base, 'datastore_search_sql', { post: { sql } });
        expectError(r, 409, 'Validation Error', sql);
        assert.ok(Array.isArray(r.body.error.sql), sql);
      }
      const outside = ['SELECT * FROM users', 'SELECT token_hash FROM api_tokens', 'SELECT * FROM sessions',
        'SELECT count(*) FROM audit_log', `SELECT * FROM ${t} WHERE delegacion IN (SELECT email FROM users)`,
        'SELECT * FROM datastore_tables', 'SELECT * FROM datos_datasets',
        backend.name === 'sqlite' ? 'SELECT sql FROM sqlite_master' : 'SELECT relname FROM pg_catalog.pg_class',
        backend.name === 'sqlite' ? 'SELECT sqlite_version()' : "SELECT pg_read_file('/etc/passwd')",
        backend.name === 'sqlite' ? "SELECT * FROM pragma_table_info('users')" : 'SELECT * FROM information_schema.tables'];
      for (const sql of outside) {
        const r = await ckan(base, 'datastore_search_sql', { get: { sql } });
        expectError(r, 403, 'Authorization Error', sql);
      }
      expectError(await ckan(base, 'datastore_search_sql', { get: { sql: 'SELECT * FROM "no-existe"' } }), 409, 'Validation Error', 'unknown table');
      expectError(await ckan(base, 'datastore_search_sql', { get: { sql: 'SELEC 1' } }), 403, 'Authorization Error', 'not a select');
      expectError(await ckan(base, 'datastore_search_sql', { get: { sql: `SELECT nada FROM ${t}` } }), 409, 'Validation Error', 'bad column');
      expectError(await ckan(base, 'datastore_search_sql', {}), 409, 'Validation Error', 'missing sql');
      assert.deepEqual(await snapshot(), before);
    });

    it('datastore_search_sql stops at the time limit and truncates at 32000 rows', async () => {
      const before = await snapshot();
      const t0 = Date.now();
      const slow = await ckan(base, 'datastore_search_sql', {
        post: { sql: 'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000000000) SELECT count(*) FROM n' },
      });
      const took = Date.now() - t0;
      expectError(slow, 409, 'Validation Error', 'slow query');
      assert.match(slow.body.error.message, /tiempo/);
      assert.ok(took >= 4000 && took < 20000, `took ${took} ms`);
      const many = await ok(base, 'datastore_search_sql', {
        post: { sql: 'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 40000) SELECT x FROM n' },
      });
      assert.equal(many.records.length, 32000);
      assert.equal(many.records_truncated, true);
      assert.equal(many.records[31999].x, 32000);
      assert.deepEqual(await snapshot(), before);
    });

    it('writes need a publisher\'s API token: none, a citizen\'s or another unit\'s are refused, writing nothing', async () => {
      const pkg = {
        name: 'refusal-test', title: 'No debe existir', owner_org: 'presupuesto-participativo', license_id: 'cc-by-4.0',
        resources: [{ url: 'https://example.org/datos.csv', name: 'datos', format: 'CSV' }],
      };
      const before = await snapshot();
      expectError(await ckan(base, 'package_create', { post: pkg }), 403, 'Authorization Error', 'anonymous');
      expectError(await ckan(base, 'package_create', { post: pkg, token: tokens.ciudadania }), 403, 'Authorization Error', 'citizen');
      expectError(await ckan(base, 'package_create', { post: pkg, token: tokens.ut }), 403, 'Authorization Error', 'another unit');
      expectError(await ckan(base, 'package_create', { post: pkg, token: 'ab_no-es-un-token' }), 403, 'Authorization Error', 'bad token');
      expectError(await ckan(base, 'organization_create', { post: { name: 'nueva-org' }, token: tokens.ut }), 403, 'Authorization Error', 'enlace org');
      expectError(await ckan(base, 'resource_create', { post: { package_id: PRESUPUESTO, url: 'https://example.org/x.csv' }, token: tokens.ut }),
        403, 'Authorization Error', 'resource of another unit');
      expectError(await ckan(base, 'package_patch', { post: { id: PRESUPUESTO, title: 'X' }, token: tokens.ciudadania }),
        403, 'Authorization Error', 'citizen patch');
      // Bad input: nothing is written either, not even the dataset before a bad resource.
      const bad = [
        [{ ...pkg, owner_org: undefined }, 'owner_org'],
        [{ ...pkg, owner_org: 'no-existe' }, 'owner_org'],
        [{ ...pkg, license_id: 'propietaria' }, 'license_id'],
        [{ ...pkg, resources: [{ name: 'sin url' }] }, 'resources'],
        [{ ...pkg, resources: [{ url: 'ftp://example.org/x' }] }, 'resources'],
        [{ ...pkg, name: PRESUPUESTO }, 'message'],
        [{ ...pkg, extras: [{ key: 'frequency', value: 'a veces' }] }, 'frequency'],
        [{ ...pkg, state: 'borrado' }, 'state'],
      ];
      for (const [body, field] of bad) {
        const r = await ckan(base, 'package_create', { post: body, token: tokens.dppd });
        expectError(r, 409, 'Validation Error', field);
        assert.ok(field in r.body.error, `${field}: ${JSON.stringify(r.body.error)}`);
      }
      assert.deepEqual(await snapshot(), before);
      expectError(await ckan(base, 'package_show', { get: { id: 'refusal-test' }, token: tokens.admin }), 404, 'Not Found Error', 'not created');
    });

    it('package_create / patch / update and resource_create with a token (bare or Bearer), as CKAN clients send them', async () => {
      const created = await ok(base, 'package_create', {
        token: tokens.dppd,
        post: {
          name: 'obras-por-delegacion', title: 'Obras por delegación', notes: 'Obras **públicas**.',
          owner_org: 'presupuesto-participativo', license_id: 'cc-by-4.0',
          tags: [{ name: 'obras' }, { name: 'delegaciones' }], groups: [{ name: 'finanzas-publicas' }],
          extras: [{ key: 'frequency', value: 'anual' }, { key: 'otro', value: 'ignorado' }],
          maintainer: 'Dirección de Obra Pública', maintainer_email: 'obras@example.mx',
          resources: [{ url: 'https://example.org/obras.csv', name: 'obras.csv', format: 'CSV' }],
        },
      });
      conforms('package_show', { help: `${base}/x`, success: true, result: created });
      assert.equal(created.state, 'active');
      assert.equal(created.organization.name, 'presupuesto-participativo');
      assert.deepEqual(created.tags.map((t) => t.name).sort(), ['delegaciones', 'obras']);
      assert.deepEqual(created.groups.map((g) => g.name), ['finanzas-publicas']);
      assert.deepEqual(created.extras, [{ key: 'frequency', value: 'anual' }]);
      assert.equal(created.maintainer_email, 'obras@example.mx');
      assert.equal(created.resources[0].url, 'https://example.org/obras.csv');
      assert.equal((await ok(base, 'package_show', { get: { id: 'obras-por-delegacion' } })).id, created.id, 'public now');

      // package_patch changes only what it names; "Bearer" works as well as the bare token.
      const patched = await ok(base, 'package_patch', { token: tokens.dppd, bearer: true, post: { id: created.id, title: 'Obras 2025' } });
      assert.equal(patched.title, 'Obras 2025');
      assert.equal(patched.notes, created.notes);
      assert.deepEqual(patched.tags.map((t) => t.name).sort(), ['delegaciones', 'obras']);
      assert.deepEqual(patched.extras, created.extras);
      const scheming = await ok(base, 'package_patch', { token: tokens.dppd, post: { id: created.id, frequency: 'mensual' } });
      assert.equal(scheming.frequency, 'mensual');
      // state: draft withdraws it from the public, active publishes it again.
      await ok(base, 'package_patch', { token: tokens.dppd, post: { id: created.id, state: 'draft' } });
      expectError(await ckan(base, 'package_show', { get: { id: created.id } }), 404, 'Not Found Error', 'draft hidden');
      assert.ok(!(await ok(base, 'package_list', { post: {} })).includes('obras-por-delegacion'));
      assert.equal((await ok(base, 'package_search', { get: { q: 'obras' } })).count, 0);
      assert.equal((await ok(base, 'package_show', { get: { id: created.id }, token: tokens.dppd })).state, 'draft');
      assert.equal((await ok(base, 'package_search', { get: { q: 'obras', include_drafts: 'true' }, token: tokens.dppd })).count, 1);
      // Older CKAN clients send the token as X-CKAN-API-Key: the same permissions, and what it
      // reads (a draft) is never cached for the anonymous request that follows.
      const viaKey = { 'x-ckan-api-key': tokens.dppd };
      const draftRead = `/api/3/action/package_show?id=${created.id}`;
      const keyed = await fetch(base + draftRead, { headers: viaKey });
      assert.equal(keyed.status, 200);
      assert.equal((await keyed.json()).result.state, 'draft');
      assert.equal((await fetch(base + draftRead)).status, 404);
      const keyedPatch = await ckan(base, 'package_patch', { post: { id: created.id, notes: 'Obras **públicas** 2025.' }, headers: viaKey });
      assert.equal(keyedPatch.status, 200, JSON.stringify(keyedPatch.body));
      // A resident's key does not even see the draft.
      expectError(await ckan(base, 'package_patch', { post: { id: created.id, notes: 'x' }, headers: { 'x-ckan-api-key': tokens.ciudadania } }),
        404, 'Not Found Error', 'citizen key');
      expectError(await ckan(base, 'package_patch', { post: { id: created.id, notes: 'x' }, headers: { 'x-ckan-api-key': 'ab_falso' } }),
        403, 'Authorization Error', 'bad key');
      // Outside /api/3 the header is refused rather than ignored.
      const elsewhere = await fetch(`${base}/api/v1/actions/datos.package.show?id=${created.id}`, { headers: viaKey });
      assert.equal(elsewhere.status, 401);
      await ok(base, 'package_patch', { token: tokens.dppd, post: { id: created.id, state: 'active', notes: created.notes } });

      // package_update replaces the metadata: what it leaves out is emptied.
      const updated = await ok(base, 'package_update', {
        token: tokens.dppd,
        post: { id: created.id, title: 'Obras por delegación', resources: [{ id: created.resources[0].id, name: 'obras (enlace)', url: 'https://example.org/obras-v2.csv' }] },
      });
      assert.equal(updated.notes, '');
      assert.deepEqual(updated.tags, []);
      assert.deepEqual(updated.groups, []);
      assert.deepEqual(updated.extras, []);
      assert.equal(updated.owner_org, created.owner_org, 'kept: DatA-LEÓN needs one');
      assert.equal(updated.resources[0].name, 'obras (enlace)');
      assert.equal(updated.resources[0].url, 'https://example.org/obras-v2.csv');

      // What package_show gives, package_update takes back unchanged (the CKAN client idiom).
      const roundTrip = await ok(base, 'package_update', { token: tokens.dppd, post: scheming });
      for (const k of ['name', 'title', 'notes', 'owner_org', 'license_id', 'state', 'maintainer', 'maintainer_email', 'frequency'])
        assert.deepEqual(roundTrip[k], scheming[k], k);
      assert.deepEqual(roundTrip.tags.map((t) => t.name).sort(), scheming.tags.map((t) => t.name).sort());
      assert.deepEqual(roundTrip.groups.map((g) => g.name), scheming.groups.map((g) => g.name));
      assert.deepEqual(roundTrip.resources.map((r) => [r.id, r.name, r.url]), scheming.resources.map((r) => [r.id, r.name, r.url]));

      // A bad resource refuses the whole update, before anything is written.
      const rev = await revision(base);
      for (const resources of [[{ id: 'no-es-de-este-conjunto', name: 'x' }], [{ id: created.resources[0].id, url: 'no es url' }], [{ name: 'sin url' }]]) {
        const r = await ckan(base, 'package_update', { token: tokens.dppd, post: { id: created.id, title: 'Cambiado', resources } });
        expectError(r, 409, 'Validation Error', JSON.stringify(resources));
        assert.ok(Array.isArray(r.body.error.resources));
      }
      assert.equal(await revision(base), rev);
      assert.equal((await ok(base, 'package_show', { get: { id: created.id } })).title, roundTrip.title);

      // resource_create: a link, then a CSV uploaded as multipart ("upload", as ckanapi sends it).
      const link = await ok(base, 'resource_create', {
        token: tokens.dppd, post: { package_id: 'obras-por-delegacion', url: 'https://example.org/mapa.geojson', format: 'GeoJSON' },
      });
      assert.equal(link.name, 'mapa.geojson');
      assert.equal(link.url, 'https://example.org/mapa.geojson');
      const fd = new FormData();
      fd.append('package_id', 'obras-por-delegacion');
      fd.append('name', 'Obras por delegación (CSV)');
      fd.append('url', 'obras.csv');
      fd.append('upload', new Blob(['delegacion,obras,monto\nCentro,12,1500000.50\nLas Joyas,30,4200000\nCoecillo,7,950000\n'], { type: 'text/csv' }), 'obras.csv');
      const up = await fetch(`${base}/api/3/action/resource_create`, { method: 'POST', headers: { authorization: tokens.dppd }, body: fd });
      const upBody = await up.json();
      assert.equal(up.status, 200, JSON.stringify(upBody));
      const uploaded = upBody.result;
      assert.equal(uploaded.url_type, 'upload');
      const ready = await waitFor('the ingest of the upload', async () => {
        const x = await ok(base, 'resource_show', { get: { id: uploaded.id } });
        return x.datastore_active ? x : null;
      });
      assert.ok(ready.url.startsWith(`${base}/datos/conjunto/obras-por-delegacion/recurso/${uploaded.id}/`), ready.url);
      const rows = await ok(base, 'datastore_search', { get: { resource_id: uploaded.id, sort: 'obras desc' } });
      assert.deepEqual(rows.records.map((x) => x.delegacion), ['Las Joyas', 'Centro', 'Coecillo']);
      const sum = await ok(base, 'datastore_search_sql', { get: { sql: `SELECT sum(obras) AS n FROM "${uploaded.id}"` } });
      assert.equal(sum.records[0].n, 49);
      const pkg = await ok(base, 'package_show', { get: { id: 'obras-por-delegacion' } });
      assert.equal(pkg.num_resources, 3);
    });

    it('a draft\'s datastore is invisible to anonymous callers, also through SQL', async () => {
      await ok(base, 'package_create', {
        token: tokens.ut,
        post: { name: 'borrador-privado', title: 'Borrador', owner_org: 'unidad-de-transparencia', license_id: 'cc-by-4.0', state: 'draft' },
      });
      // Nothing to download yet: publishing is refused before anything is written.
      const rev = await revision(base);
      const early = await ckan(base, 'package_patch', { token: tokens.ut, post: { id: 'borrador-privado', title: 'Otro', state: 'active' } });
      expectError(early, 409, 'Validation Error', 'publish without resources');
      assert.ok(Array.isArray(early.body.error.state));
      assert.equal(await revision(base), rev);
      assert.equal((await ok(base, 'package_show', { get: { id: 'borrador-privado' }, token: tokens.ut })).title, 'Borrador');
      const fd = new FormData();
      fd.append('package_id', 'borrador-privado');
      fd.append('upload', new Blob(['clave,valor\na,1\nb,2\n'], { type: 'text/csv' }), 'privado.csv');
      const up = await fetch(`${base}/api/3/action/resource_create`, { method: 'POST', headers: { authorization: `Bearer ${tokens.ut}` }, body: fd });
      assert.equal(up.status, 200);
      const res = (await up.json()).result;
      await waitFor('the draft\'s ingest', async () => (await ok(base, 'resource_show', { get: { id: res.id }, token: tokens.ut })).datastore_active);
      expectError(await ckan(base, 'package_show', { get: { id: 'borrador-privado' } }), 404, 'Not Found Error', 'show');
      expectError(await ckan(base, 'resource_show', { get: { id: res.id } }), 404, 'Not Found Error', 'resource');
      expectError(await ckan(base, 'datastore_search', { get: { resource_id: res.id } }), 404, 'Not Found Error', 'datastore');
      expectError(await ckan(base, 'datastore_search_sql', { get: { sql: `SELECT * FROM "${res.id}"` } }), 409, 'Validation Error', 'sql by id');
      // Staff see their drafts, as in the catalog.
      assert.equal((await ok(base, 'datastore_search', { get: { resource_id: res.id }, token: tokens.ut })).total, 2);
      const staff = await ok(base, 'datastore_search_sql', { get: { sql: `SELECT sum(valor) AS s FROM "${res.id}"` }, token: tokens.ut });
      assert.equal(staff.records[0].s, 3);
    });

    it('organization_create by an administrator; a browser session needs its CSRF token', async () => {
      const o = await ckan(base, 'organization_create', { token: tokens.admin, post: { name: 'proteccion-civil', title: 'Protección Civil', description: 'Riesgos.' } });
      assert.equal(o.status, 200, JSON.stringify(o.body));
      conforms('organization_show', o.body);
      assert.equal(o.body.result.name, 'proteccion-civil');
      assert.ok((await ok(base, 'organization_list')).includes('proteccion-civil'));
      const c = await loggedIn(base, USERS.admin);
      const rev = await revision(base);
      const noCsrf = await c.post('/api/3/action/organization_create', { json: { name: 'sin-csrf' } });
      assert.equal(noCsrf.status, 403);
      assert.equal((await noCsrf.json()).error.__type, 'Authorization Error');
      assert.equal(await revision(base), rev);
      const csrf = await sessionCsrf(c);
      const withCsrf = await c.post('/api/3/action/organization_create', { json: { name: 'con-csrf' }, headers: { 'x-csrf-token': csrf } });
      assert.equal(withCsrf.status, 200);
      // A session reads without any CSRF token.
      const read = await c.post('/api/3/action/package_show', { json: { id: PRESUPUESTO } });
      assert.equal(read.status, 200);
    });
  });
}
