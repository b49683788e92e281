// The catalog in other vocabularies: /data.json (DCAT-US v1.1, non-federal), /catalog.jsonld
// (DCAT-AP 2), /dataset/{name}/datapackage.json (Frictionless Data Package v1) and the
// schema.org Dataset JSON-LD of dataset pages. Validated against the published schemas in
// the team's shared conformance folder (../shared/conformance/schemas/), on both backends, with drafts kept out.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import jsonld from 'jsonld';
import { backends, startServer, repoRoot } from '../lib/abierto.mjs';
import { USERS, apiToken, bearerAction, fresh, getJson, loggedIn } from '../lib/itest.mjs';

const CONFORMANCE = join(repoRoot, '..', 'shared', 'conformance', 'schemas');
const load = (p) => JSON.parse(readFileSync(join(CONFORMANCE, p), 'utf8'));

function ajv04() {
  // The schemas are draft-04 and use regular expressions written for non-Unicode engines
  // ("\_" in the vCard e-mail pattern), and editor hints ("format": "textarea").
  const ajv = new Ajv04({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  ajv.addFormat('textarea', true);
  return ajv;
}

const podAjv = ajv04();
podAjv.addSchema(load('dcat-us-pod-v1.1-non-federal/dataset-non-federal.json'));
const validatePod = podAjv.compile(load('dcat-us-pod-v1.1-non-federal/catalog.json'));
const validatePackage = ajv04().compile(load('frictionless-v1/data-package.json'));
const validateTabular = ajv04().compile(load('frictionless-v1/tabular-data-package.json'));

function errors(validate) {
  return JSON.stringify(validate.errors?.slice(0, 5), null, 1);
}

const DEMO_TABULAR = 'proyectos-presupuesto-participativo-2025';
const PUBLISHED = 'dcat-prueba-poblacion';
const DRAFT = 'dcat-prueba-borrador';
// A Windows-1252 CSV with ';' between fields and decimal commas, as Excel on Spanish Windows
// saves it, with an accented header.
const CSV_1252 = Buffer.from(
  'colonia;año;habitantes;densidad\r\n' +
    'Centro;2020;1200;3,5\r\n' +
    'Peñitas;2020;800;2,25\r\n' +
    'San Juan de Dios;2021;950;4,1\r\n',
  'latin1',
);
const DCAT = 'http://www.w3.org/ns/dcat#';

async function ok(base, token, name, input) {
  const { status, body } = await bearerAction(base, token, name, input);
  assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
  return body.result;
}

async function waitForJob(base, token, id) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const job = await ok(base, token, 'datos.job.show', { id });
    if (job.status === 'lista') return job;
    assert.notEqual(job.status, 'rechazada', job.message);
    assert.ok(Date.now() < deadline, `job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Abierto publishes its own data (the plan, the participatory budget) from a background worker
// once it starts, and their files go through the ingest queue: wait until every published
// dataset has all its files and the catalog has not changed for two seconds.
async function settledCatalog(base) {
  const deadline = Date.now() + 60000;
  let last = '', since = Date.now();
  for (;;) {
    const { body } = await getJson(base, `/api/v1/actions/datos.package.search?rows=1000&${fresh()}`);
    const found = body.result.results;
    const snapshot = JSON.stringify(found.map((p) => [p.name, p.resources.map((r) => [r.id, r.version])]));
    const complete = found.every((p) => p.resources.length > 0 && p.resources.every((r) => r.url));
    if (snapshot !== last || !complete) {
      last = snapshot;
      since = Date.now();
    } else if (Date.now() - since >= 2000) {
      return;
    }
    assert.ok(Date.now() < deadline, `the catalog did not settle: ${snapshot}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function ldJson(html) {
  const m = html.match(/<script type="application\/ld\+json">([\s\S]*?)<\/script>/);
  assert.ok(m, 'the page has a JSON-LD block');
  return JSON.parse(m[1]);
}

for (const backend of backends()) {
  describe(`DCAT, Data Package and schema.org exports (${backend.name})`, () => {
    let srv, base, token, publishedNames, draftId;
    const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      await settledCatalog(base);
      token = await apiToken(base, USERS.secretariado);
      const orgs = await ok(base, token, 'datos.organization.options', {});
      const org = orgs.find((o) => o.label === 'Unidad de Transparencia');
      assert.ok(org, JSON.stringify(orgs));
      // Published, without description, keywords or themes (the exports complete them), with a
      // period, a frequency and two resources: a tabular upload and a link.
      const pub = await ok(base, token, 'datos.package.create', {
        name: PUBLISHED, title: 'Población por colonia', organization_id: org.id,
        license_id: 'cc-by-4.0', frequency: 'semestral', temporal_start: '2020-01-01',
        temporal_end: '2021-12-31', spatial: 'León, Guanajuato', contact_name: 'Datos Abiertos',
        contact_email: 'datos@demo.abierto.mx',
      });
      const res = await ok(base, token, 'datos.resource.create', {
        dataset_id: pub.id, name: 'Población por colonia (2020)',
        file: { name: 'población colonias.csv', content_type: 'text/csv', data_base64: CSV_1252.toString('base64') },
      });
      assert.ok(res.job_id, JSON.stringify(res));
      await waitForJob(base, token, res.job_id);
      await ok(base, token, 'datos.resource.create', {
        dataset_id: pub.id, name: 'Informe metodológico', format: 'PDF',
        link: 'https://example.org/informes/../metodologia.pdf',
      });
      await ok(base, token, 'datos.package.publish', { id: pub.id });
      // A draft with everything but publication.
      const draft = await ok(base, token, 'datos.package.create', {
        name: DRAFT, title: 'Borrador que nadie debe ver', notes: 'Aún no se publica.',
        organization_id: org.id, license_id: 'cc-by-4.0', tags: 'secreto',
      });
      draftId = draft.id;
      await ok(base, token, 'datos.resource.create', {
        dataset_id: draft.id, name: 'Enlace', link: 'https://example.org/borrador.csv', format: 'CSV',
      });
      const list = await getJson(base, `/api/v1/actions/datos.package.list?${fresh()}`);
      publishedNames = list.body.result;
      assert.ok(publishedNames.includes(PUBLISHED) && publishedNames.includes(DEMO_TABULAR));
      assert.ok(!publishedNames.includes(DRAFT));
    });
    after(async () => { await srv?.stop(); });

    it('the validators are real: the invalid sample fails, the New York sample passes', () => {
      assert.equal(validatePod(load('examples/invalid-missing-dataset-fields.data.json')), false);
      const missing = validatePod.errors.map((e) => e.params?.missingProperty).filter(Boolean);
      for (const f of ['title', 'description', 'publisher', 'contactPoint', 'identifier', 'accessLevel'])
        assert.ok(missing.includes(f), `${f} reported missing: ${missing}`);
      assert.equal(validatePod(load('examples/ny.data.json')), true, errors(validatePod));
      assert.equal(validatePackage({ name: 'Bad Name', resources: [{ name: 'x', path: '../x.csv' }] }), false);
      assert.equal(validateTabular({ profile: 'tabular-data-package', resources: [{ name: 'x', path: 'x.csv' }] }), false);
    });

    it('GET /data.json is a valid non-federal DCAT-US v1.1 catalog of the published datasets', async () => {
      const r = await fetch(`${base}/data.json`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      const cat = await r.json();
      assert.equal(validatePod(cat), true, errors(validatePod));
      assert.equal(cat['@type'], 'dcat:Catalog');
      assert.equal(cat.conformsTo, 'https://project-open-data.cio.gov/v1.1/schema');
      assert.equal(cat['@context'], 'https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld');
      assert.ok(cat.describedBy);
      // Exactly the published datasets, each once.
      const names = cat.dataset.map((d) => d.landingPage.replace(`${base}/datos/conjunto/`, ''));
      assert.deepEqual([...names].sort(), [...publishedNames].sort());
      assert.equal(new Set(cat.dataset.map((d) => d.identifier)).size, cat.dataset.length);
      for (const d of cat.dataset) {
        assert.equal(d['@type'], 'dcat:Dataset');
        assert.equal(d.accessLevel, 'public');
        assert.ok(d.keyword.length > 0 && d.keyword.every((k) => k.length > 0), d.title);
        assert.equal(d.publisher['@type'], 'org:Organization');
        assert.equal(d.contactPoint['@type'], 'vcard:Contact');
        assert.match(d.identifier, new RegExp(`^${base}/datos/conjunto/[0-9a-f-]{36}$`));
        assert.match(d.modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        for (const x of d.distribution ?? []) {
          assert.equal(x['@type'], 'dcat:Distribution');
          const url = x.downloadURL ?? x.accessURL;
          assert.ok(/^https?:\/\//.test(url), url);
          if (x.downloadURL) {
            assert.ok(x.downloadURL.startsWith(`${base}/`), x.downloadURL);
            assert.ok(x.mediaType);
          }
        }
      }
      const byName = Object.fromEntries(cat.dataset.map((d, i) => [names[i], d]));
      assert.equal(byName['solicitudes-de-informacion-2025'].accrualPeriodicity, 'R/P1M');
      assert.equal(byName[DEMO_TABULAR].accrualPeriodicity, 'R/P1Y');
      assert.equal(byName['tramites-en-linea'].accrualPeriodicity, 'R/P3M');
      assert.deepEqual(byName[DEMO_TABULAR].theme.sort(), ['Finanzas públicas', 'Participación ciudadana']);
      assert.equal(byName[DEMO_TABULAR].license, 'https://creativecommons.org/licenses/by/4.0/');
      assert.equal(byName[DEMO_TABULAR].contactPoint.hasEmail, 'mailto:datos@demo.abierto.mx');
      const mine = byName[PUBLISHED];
      assert.equal(mine.temporal, '2020-01-01/2021-12-31');
      assert.equal(mine.accrualPeriodicity, 'R/P6M');
      assert.equal(mine.spatial, 'León, Guanajuato');
      assert.deepEqual(mine.keyword, ['Unidad de Transparencia'], 'no tags or themes: the publisher');
      assert.ok(mine.description.length >= 50 && mine.description.startsWith('Población por colonia.'));
      const [csv, link] = mine.distribution;
      assert.equal(csv.mediaType, 'text/csv');
      assert.equal(csv.format, 'CSV');
      assert.equal(csv.describedBy, `${base}/dataset/${PUBLISHED}/datapackage.json`);
      assert.match(csv.downloadURL, /\/descarga\/poblaci%C3%B3n%20colonias\.csv$/);
      const file = await fetch(csv.downloadURL);
      assert.equal(file.status, 200);
      assert.deepEqual(Buffer.from(await file.arrayBuffer()), CSV_1252);
      assert.equal(link.accessURL, 'https://example.org/informes/../metodologia.pdf');
      assert.equal(link.downloadURL, undefined);
      assert.equal((await fetch(csv.describedBy)).status, 200);
    });

    it('data.json fails the schema when a required field goes missing (the check has teeth)', async () => {
      const cat = (await getJson(base, '/data.json')).body;
      delete cat.dataset[0].contactPoint;
      assert.equal(validatePod(cat), false);
      const again = (await getJson(base, '/data.json')).body;
      again.dataset[0].distribution[0].mediaType = 'CSV file';
      assert.equal(validatePod(again), false);
    });

    it('every published dataset has a valid Data Package; tabular ones a valid Tabular Data Package', async () => {
      for (const name of publishedNames) {
        const r = await fetch(`${base}/dataset/${name}/datapackage.json`);
        assert.equal(r.status, 200, name);
        assert.match(r.headers.get('content-type'), /^application\/json/);
        const dp = await r.json();
        assert.equal(validatePackage(dp), true, `${name}: ${errors(validatePackage)}`);
        assert.equal(dp.name, name);
        assert.match(dp.id, /^[0-9a-f-]{36}$/);
        assert.ok(dp.keywords.length > 0);
        assert.equal(dp.licenses.length, 1);
        assert.ok(dp.contributors.some((c) => c.role === 'publisher'));
        const tabular = dp.resources.every((x) => x.profile === 'tabular-data-resource');
        assert.equal(dp.profile, tabular ? 'tabular-data-package' : 'data-package', name);
        assert.equal(validateTabular(dp), tabular, `${name}: ${errors(validateTabular)}`);
        assert.equal(new Set(dp.resources.map((x) => x.name)).size, dp.resources.length);
        for (const x of dp.resources) {
          assert.match(x.name, /^[a-z0-9._-]+$/);
          if (!x.hash) continue;
          // The path, size and hash describe the very bytes served.
          const f = await fetch(x.path);
          assert.equal(f.status, 200, x.path);
          const bytes = Buffer.from(await f.arrayBuffer());
          assert.equal(bytes.length, x.bytes);
          assert.equal(x.hash, `sha256:${sha256(bytes)}`);
        }
      }
    });

    it('Table Schema field types are the datastore column types', async () => {
      const dp = (await getJson(base, `/dataset/${DEMO_TABULAR}/datapackage.json`)).body;
      assert.equal(dp.profile, 'tabular-data-package');
      const [res] = dp.resources;
      assert.equal(res.name, 'proyectos-por-delegacion.csv');
      assert.equal(res.format, 'csv');
      assert.equal(res.mediatype, 'text/csv');
      assert.equal(res.encoding, 'utf-8');
      assert.deepEqual(res.dialect, { delimiter: ',', doubleQuote: true, header: true });
      const types = Object.fromEntries(res.schema.fields.map((f) => [f.name, f.type]));
      assert.deepEqual(types, {
        delegacion: 'string', proyectos_registrados: 'integer', votos: 'integer',
        monto_asignado: 'number', latitud: 'number', longitud: 'number',
      });
      // The same as the datastore reports for the resource's current version.
      const pkg = (await getJson(base, `/api/v1/actions/datos.package.show?id=${DEMO_TABULAR}&${fresh()}`)).body.result;
      const shown = (await getJson(base, `/api/v1/actions/datos.resource.show?id=${pkg.resources[0].id}&${fresh()}`)).body.result;
      const quality = shown.versions.find((v) => v.status === 'activa' && v.version === pkg.resources[0].version).quality;
      const map = { integer: 'integer', decimal: 'number', date: 'date', text: 'string' };
      assert.deepEqual(res.schema.fields.map((f) => f.type), quality.columns.map((c) => map[c.type]));

      // The uploaded Windows-1252 file: its dialect, encoding, decimal commas and headers.
      const mine = (await getJson(base, `/dataset/${PUBLISHED}/datapackage.json`)).body;
      assert.equal(mine.profile, 'data-package', 'a link resource is not tabular');
      assert.equal(mine.description.length >= 50, true);
      assert.deepEqual(mine.licenses, [{
        name: 'CC-BY-4.0', path: 'https://creativecommons.org/licenses/by/4.0/',
        title: 'Creative Commons Atribución 4.0 (CC-BY-4.0)',
      }]);
      assert.deepEqual(mine.contributors.find((c) => c.role === 'maintainer'),
        { title: 'Datos Abiertos', role: 'maintainer', email: 'datos@demo.abierto.mx' });
      const [csv, link] = mine.resources;
      assert.equal(csv.name, 'poblacion-por-colonia-2020');
      assert.equal(csv.title, 'Población por colonia (2020)');
      assert.equal(csv.profile, 'tabular-data-resource');
      assert.equal(csv.encoding, 'windows-1252');
      assert.deepEqual(csv.dialect, { delimiter: ';', doubleQuote: true, header: true });
      assert.deepEqual(csv.schema.fields, [
        { name: 'colonia', type: 'string', title: 'colonia' },
        { name: 'año', type: 'integer', title: 'año' },
        { name: 'habitantes', type: 'integer', title: 'habitantes' },
        { name: 'densidad', type: 'number', title: 'densidad', decimalChar: ',' },
      ]);
      assert.equal(link.name, 'informe-metodologico');
      assert.equal(link.format, 'pdf');
      assert.equal(link.path, 'https://example.org/informes/.%2E/metodologia.pdf', 'no ".." in a path');
      assert.equal(link.profile, undefined);
    });

    it('unknown and draft datasets have no Data Package for the public; staff see the draft', async () => {
      const unknown = await fetch(`${base}/dataset/no-existe/datapackage.json`);
      assert.equal(unknown.status, 404);
      assert.equal((await unknown.json()).error.code, 'not_found');
      assert.equal((await fetch(`${base}/dataset/${DRAFT}/datapackage.json`)).status, 404);
      const staff = await loggedIn(base, USERS.secretariado);
      const r = await staff.get(`/dataset/${DRAFT}/datapackage.json`);
      assert.equal(r.status, 200);
      const dp = await r.json();
      assert.equal(dp.name, DRAFT);
      assert.equal(validatePackage(dp), true, errors(validatePackage));
      // Not from the cache afterwards either.
      assert.equal((await fetch(`${base}/dataset/${DRAFT}/datapackage.json`)).status, 404);
    });

    it('drafts appear in no export, not even for staff', async () => {
      const staff = await loggedIn(base, USERS.secretariado);
      for (const path of ['/data.json', '/catalog.jsonld']) {
        for (const get of [(p) => fetch(base + p), (p) => staff.get(p)]) {
          const text = await (await get(path)).text();
          assert.ok(!text.includes(DRAFT) && !text.includes('Borrador que nadie debe ver'), path);
          assert.ok(text.includes(PUBLISHED), path);
        }
      }
    });

    it('GET /catalog.jsonld is DCAT-AP JSON-LD that expands to one dcat:Dataset per published dataset', async () => {
      const r = await fetch(`${base}/catalog.jsonld`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/ld\+json/);
      const doc = await r.json();
      const ctx = doc['@context'];
      assert.equal(ctx.dcat, DCAT);
      assert.equal(ctx.dct, 'http://purl.org/dc/terms/');
      assert.equal(ctx.foaf, 'http://xmlns.com/foaf/0.1/');
      assert.equal(ctx.vcard, 'http://www.w3.org/2006/vcard/ns#');
      assert.equal(ctx.spdx, 'http://spdx.org/rdf/terms#');
      assert.equal(ctx.xsd, 'http://www.w3.org/2001/XMLSchema#');
      assert.equal(doc['@type'], 'dcat:Catalog');
      assert.equal(doc['@id'], `${base}/catalog.jsonld`);
      assert.equal(doc['dct:title']['@value'], 'DatA-LEÓN');
      assert.ok(doc['dct:description']['@value']);
      assert.equal(doc['dct:publisher']['@type'], 'foaf:Organization');
      assert.equal(doc['foaf:homepage']['@id'], `${base}/datos`);
      const datasets = doc['dcat:dataset'];
      assert.equal(datasets.length, publishedNames.length);
      const isDateTime = (v) => v['@type'] === 'xsd:dateTime' && !Number.isNaN(Date.parse(v['@value']));
      for (const d of datasets) {
        assert.equal(d['@type'], 'dcat:Dataset');
        assert.match(d['@id'], new RegExp(`^${base}/datos/conjunto/`));
        assert.match(d['dct:identifier'], /^[0-9a-f-]{36}$/);
        assert.ok(d['dct:title']['@value'] && d['dct:description']['@value'].length >= 50);
        assert.ok(d['dcat:keyword'].length > 0);
        assert.equal(d['dct:publisher']['@type'], 'foaf:Organization');
        assert.ok(d['dct:publisher']['foaf:name']);
        assert.equal(d['dcat:contactPoint']['@type'], 'vcard:Organization');
        assert.ok(d['dcat:contactPoint']['vcard:fn']);
        assert.ok(isDateTime(d['dct:issued']) && isDateTime(d['dct:modified']));
        if (d['dct:accrualPeriodicity'])
          assert.match(d['dct:accrualPeriodicity']['@id'], /^http:\/\/publications\.europa\.eu\/resource\/authority\/frequency\/[A-Z_0-9]+$/);
        for (const x of d['dcat:distribution']) {
          assert.equal(x['@type'], 'dcat:Distribution');
          assert.match(x['dcat:accessURL']['@id'], /^https?:\/\//);
          if (!x['dcat:downloadURL']) continue;
          assert.ok(x['dcat:downloadURL']['@id'].startsWith(`${base}/`));
          assert.equal(x['dct:license']['@id'], 'https://creativecommons.org/licenses/by/4.0/');
          assert.match(x['dcat:mediaType']['@id'], /^http:\/\/www\.iana\.org\/assignments\/media-types\/\w+\/[\w.+-]+$/);
          assert.match(x['dct:format']['@id'], /\/file-type\/CSV$/);
          assert.equal(x['dcat:byteSize']['@type'], 'xsd:nonNegativeInteger');
          assert.match(x['dcat:byteSize']['@value'], /^\d+$/);
          const sum = x['spdx:checksum'];
          assert.equal(sum['@type'], 'spdx:Checksum');
          assert.equal(sum['spdx:algorithm']['@id'], 'spdx:checksumAlgorithm_sha256');
          assert.match(sum['spdx:checksumValue']['@value'], /^[0-9a-f]{64}$/);
        }
      }
      const mine = datasets.find((d) => d['dcat:landingPage']['@id'].endsWith(`/${PUBLISHED}`));
      assert.equal(mine['dct:accrualPeriodicity']['@id'], 'http://publications.europa.eu/resource/authority/frequency/ANNUAL_2');
      assert.deepEqual(mine['dct:temporal'], {
        '@type': 'dct:PeriodOfTime',
        'dcat:startDate': { '@value': '2020-01-01', '@type': 'xsd:date' },
        'dcat:endDate': { '@value': '2021-12-31', '@type': 'xsd:date' },
      });
      assert.equal(mine['dct:spatial']['@type'], 'dct:Location');
      assert.equal(mine['dcat:contactPoint']['vcard:hasEmail']['@id'], 'mailto:datos@demo.abierto.mx');
      const demo = datasets.find((d) => d['dcat:landingPage']['@id'].endsWith(`/${DEMO_TABULAR}`));
      assert.equal(demo['dcat:theme'].length, 2);
      assert.ok(demo['dcat:theme'].every((t) => t['@type'] === 'skos:Concept' && t['@id'].startsWith(`${base}/datos/temas/`)));

      // A JSON-LD processor agrees (the context is inline: nothing is fetched).
      const documentLoader = async (url) => { throw new Error(`no remote context expected: ${url}`); };
      const flat = await jsonld.flatten(doc, null, { documentLoader });
      const nodes = Array.isArray(flat) ? flat : flat['@graph'];
      const typed = (t) => nodes.filter((n) => (n['@type'] ?? []).includes(t));
      assert.equal(typed(`${DCAT}Dataset`).length, publishedNames.length);
      assert.equal(typed(`${DCAT}Catalog`).length, 1);
      assert.equal(typed(`${DCAT}Distribution`).length,
        datasets.reduce((n, d) => n + d['dcat:distribution'].length, 0));
      const checksums = typed('http://spdx.org/rdf/terms#Checksum');
      assert.ok(checksums.length > 0);
      for (const c of checksums)
        assert.deepEqual(c['http://spdx.org/rdf/terms#algorithm'], [{ '@id': 'http://spdx.org/rdf/terms#checksumAlgorithm_sha256' }]);
      const nquads = await jsonld.toRDF(doc, { format: 'application/n-quads', documentLoader });
      const datasetTriples = nquads.split('\n').filter((l) => l.includes(`<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <${DCAT}Dataset>`));
      assert.equal(datasetTriples.length, publishedNames.length);
      assert.ok(nquads.includes('"2020-01-01"^^<http://www.w3.org/2001/XMLSchema#date>'));
    });

    it('each dataset page carries schema.org Dataset JSON-LD that meets Google\'s guidelines', async () => {
      for (const name of publishedNames) {
        const html = await (await fetch(`${base}/datos/conjunto/${name}`)).text();
        const d = ldJson(html);
        assert.equal(d['@context'], 'https://schema.org/');
        assert.equal(d['@type'], 'Dataset');
        assert.equal(d.url, `${base}/datos/conjunto/${name}`);
        assert.ok(d.name);
        assert.ok(d.description.length >= 50 && d.description.length <= 5000, `${name}: ${d.description}`);
        assert.ok(d.identifier.length > 0);
        assert.ok(d.keywords.length > 0);
        assert.match(d.license, /^https:\/\//);
        for (const who of [d.creator, d.publisher]) {
          assert.equal(who['@type'], 'Organization');
          assert.ok(who.name);
          assert.match(who.url, new RegExp(`^${base}/datos/organizaciones/`));
        }
        assert.match(d.dateModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(d.isAccessibleForFree, true);
        assert.deepEqual(d.includedInDataCatalog, { '@type': 'DataCatalog', name: 'DatA-LEÓN', url: `${base}/datos` });
        if (d.spatialCoverage) assert.equal(d.spatialCoverage['@type'], 'Place');
        assert.ok(d.distribution.length > 0);
        for (const x of d.distribution) {
          assert.equal(x['@type'], 'DataDownload');
          assert.match(x.contentUrl, /^https?:\/\//);
          assert.ok(x.encodingFormat);
        }
      }
      const demo = ldJson(await (await fetch(`${base}/datos/conjunto/${DEMO_TABULAR}`)).text());
      assert.deepEqual(demo.spatialCoverage, { '@type': 'Place', name: 'León, Guanajuato' });
      assert.deepEqual(demo.keywords, ['delegaciones', 'presupuesto participativo', 'votación']);
      assert.equal(demo.license, 'https://creativecommons.org/licenses/by/4.0/');
      const d = ldJson(await (await fetch(`${base}/datos/conjunto/${PUBLISHED}`)).text());
      assert.equal(d.temporalCoverage, '2020-01-01/2021-12-31');
      assert.equal(d.spatialCoverage.name, 'León, Guanajuato');
      assert.ok(d.description.startsWith('Población por colonia. Conjunto de datos abiertos publicado por Unidad de Transparencia'));
      assert.deepEqual(d.distribution.map((x) => x.encodingFormat), ['text/csv', 'PDF']);
    });

    it('the catalog pages link to the exports', async () => {
      const home = await (await fetch(`${base}/datos`)).text();
      assert.ok(home.includes('href="/data.json"'));
      assert.ok(home.includes('href="/catalog.jsonld"'));
      const page = await (await fetch(`${base}/datos/conjunto/${DEMO_TABULAR}`)).text();
      assert.ok(page.includes(`href="/dataset/${DEMO_TABULAR}/datapackage.json"`));
    });

    it('publishing a draft shows it in the cached exports at once', async () => {
      const before = (await getJson(base, '/data.json')).body;
      assert.equal((await getJson(base, '/data.json')).body.dataset.length, before.dataset.length);
      await ok(base, token, 'datos.package.publish', { id: draftId });
      const after = (await getJson(base, '/data.json')).body;
      assert.equal(after.dataset.length, before.dataset.length + 1);
      assert.ok(after.dataset.some((d) => d.landingPage.endsWith(`/${DRAFT}`)));
      assert.equal(validatePod(after), true, errors(validatePod));
      assert.equal((await fetch(`${base}/dataset/${DRAFT}/datapackage.json`)).status, 200);
      const ld = (await getJson(base, '/catalog.jsonld')).body;
      assert.equal(ld['dcat:dataset'].length, before.dataset.length + 1);
    });
  });
}
