// DatA-LEÓN over HTTP on every backend: the catalog pages, search and facets, uploads through
// the publisher's form with their ingest queue and versions, every refused file leaving the
// catalog as it was, dataset requests, Abierto's own data published and refreshed, and
// `abierto data import --dataset`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, crc32 } from 'node:zlib';
import { backends, startServer, bin, TODAY } from '../lib/abierto.mjs';
import { USERS, getJson, fresh, loggedIn, sessionAction, sessionCsrf } from '../lib/itest.mjs';

const DEMO_SET = 'proyectos-presupuesto-participativo-2025';

async function page(base, path) {
  const r = await fetch(base + path);
  return { status: r.status, html: await r.text() };
}

async function pkg(base, name, client) {
  const r = client
    ? await client.post('/api/v1/actions/datos.package.show', {
      json: { id: name }, headers: { 'x-csrf-token': await sessionCsrf(client) } })
    : await fetch(`${base}/api/v1/actions/datos.package.show?id=${encodeURIComponent(name)}&${fresh()}`);
  const j = await r.json();
  return { status: r.status, body: j.result ?? j };
}

// Posts the dataset page's resource form (multipart) as a logged-in publisher.
async function upload(client, dataset, name, filename, bytes, path = null) {
  const form = new FormData();
  form.set('_csrf', await client.csrf(`/datos/conjunto/${dataset}?${fresh()}`));
  form.set('name', name);
  form.set('file', new Blob([bytes], { type: 'text/csv' }), filename);
  return client.post(path || `/datos/conjunto/${dataset}/recursos`, { body: form });
}

async function waitJob(client, location) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const r = await client.get(`${location}?formato=json&${fresh()}`);
    const j = await r.json();
    if (j.status === 'lista' || j.status === 'rechazada') return j;
    if (Date.now() > deadline) throw new Error(`job did not finish: ${JSON.stringify(j)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function catalogState(base, client) {
  const rev = (await getJson(base, '/healthz')).body.revision;
  const { body } = await pkg(base, DEMO_SET, client);
  return { rev, resources: body.resources.map((r) => [r.id, r.version, r.hash]) };
}

// A minimal ZIP (deflate) with the given entries, as an XLSX would be.
function zip(entries) {
  const parts = [], central = [];
  let offset = 0;
  for (const [name, text] of entries) {
    const data = Buffer.from(text);
    const comp = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0); head.writeUInt16LE(20, 4); head.writeUInt16LE(8, 8);
    head.writeUInt32LE(crc, 14); head.writeUInt32LE(comp.length, 18); head.writeUInt32LE(data.length, 22);
    head.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0); cd.writeUInt16LE(20, 4); cd.writeUInt16LE(20, 6); cd.writeUInt16LE(8, 10);
    cd.writeUInt32LE(crc, 16); cd.writeUInt32LE(comp.length, 20); cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28); cd.writeUInt32LE(offset, 42);
    const local = Buffer.concat([head, Buffer.from(name), comp]);
    parts.push(local);
    central.push(Buffer.concat([cd, Buffer.from(name)]));
    offset += local.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBuf.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, end]);
}

for (const backend of backends()) {
  describe(`DatA-LEÓN (${backend.name})`, () => {
    let srv, base;
    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
    });
    after(async () => { await srv?.stop(); });

    it('lists, searches without accents and filters by facets', async () => {
      const home = await page(base, '/datos');
      assert.equal(home.status, 200);
      assert.match(home.html, /Solicitudes de acceso a la información 2025/);
      const q = await page(base, `/datos?q=DELEGACION&${fresh()}`);
      assert.match(q.html, /Proyectos del presupuesto participativo por delegación/);
      assert.doesNotMatch(q.html, /Trámites disponibles en línea/);
      const f = await page(base, `/datos?organization=innovacion&${fresh()}`);
      assert.match(f.html, /Trámites disponibles en línea/);
      assert.doesNotMatch(f.html, /Solicitudes de acceso/);
      // Facet links keep the other filters and show counts.
      assert.match(home.html, /href="\/datos\?res_format=CSV"[^>]*>CSV<\/a> <span class="meta">\(\d+\)/);
      for (const p of ['/datos/organizaciones', '/datos/organizaciones/unidad-de-transparencia',
        '/datos/temas', '/datos/temas/gobierno-abierto', '/datos/politica', '/datos/solicitudes']) {
        assert.equal((await page(base, p)).status, 200, p);
      }
      assert.equal((await page(base, '/datos/organizaciones/no-existe')).status, 404);
    });

    it('shows a dataset with schema.org JSON-LD, downloads and counts', async () => {
      const p1 = await page(base, `/datos/conjunto/${DEMO_SET}`);
      assert.equal(p1.status, 200);
      const ld = JSON.parse(p1.html.match(/<script type="application\/ld\+json">(.*?)<\/script>/s)[1]);
      assert.equal(ld['@type'], 'Dataset');
      const views = Number(p1.html.match(/Visitas<\/dt><dd>(\d+)/)[1]);
      const link = p1.html.match(/href="(\/datos\/conjunto\/[^"]+\/descarga\/[^"]+)"/)[1];
      const dl = await fetch(base + link);
      assert.equal(dl.status, 200);
      assert.match(dl.headers.get('content-disposition'), /attachment/);
      assert.match(await dl.text(), /^delegacion,proyectos_registrados/);
      const p2 = await page(base, `/datos/conjunto/${DEMO_SET}`);
      assert.equal(Number(p2.html.match(/Visitas<\/dt><dd>(\d+)/)[1]), views + 1);
      assert.ok(Number(p2.html.match(/Descargas<\/dt><dd>(\d+)/)[1]) >= 1);
      assert.equal((await page(base, '/datos/conjunto/no-existe')).status, 404);
    });

    it('uploads a CSV through the form, ingests it and keeps every version', async () => {
      const c = await loggedIn(base, USERS.enlaceDPPD);
      const csv1 = 'colonia,monto\nCentro,100\nLas Joyas,250\n';
      const r = await upload(c, DEMO_SET, 'Montos por colonia', 'montos.csv', csv1);
      assert.equal(r.status, 303, await r.text());
      const job = await waitJob(c, r.headers.get('location'));
      assert.equal(job.status, 'lista', job.message);
      assert.equal(job.quality.rows, 2);
      const { body } = await pkg(base, DEMO_SET, c);
      const res = body.resources.find((x) => x.name === 'Montos por colonia');
      assert.equal(res.version, 1);
      assert.equal(res.datastore_active, true);
      // A new version replaces the file; the first stays downloadable.
      const form = new FormData();
      const rpage = `/datos/conjunto/${DEMO_SET}/recurso/${res.id}`;
      form.set('_csrf', await c.csrf(`${rpage}?${fresh()}`));
      form.set('file', new Blob(['colonia,monto\nCentro,120\n']), 'montos-v2.csv');
      const r2 = await c.post(`${rpage}/version`, { body: form });
      assert.equal(r2.status, 303);
      assert.equal((await waitJob(c, r2.headers.get('location'))).status, 'lista');
      const html = await (await c.get(`${rpage}?${fresh()}`)).text();
      assert.match(html, /Reporte de calidad/);
      const v1 = html.match(/href="([^"]+\/version\/1\/montos\.csv)"/)[1];
      assert.equal(await (await fetch(base + v1)).text(), csv1);
      const cur = (await pkg(base, DEMO_SET)).body.resources.find((x) => x.id === res.id);
      assert.equal(cur.version, 2);
      assert.equal(await (await fetch(base + cur.url)).text(), 'colonia,monto\nCentro,120\n');
    });

    it('refuses bad files with a clear error and leaves the catalog as it was', async () => {
      const c = await loggedIn(base, USERS.enlaceDPPD);
      const before = await catalogState(base, c);
      // Refused at once (4xx): a fake XLSX, an unknown format, an upload over the limit.
      for (const [name, bytes, status, message] of [
        ['libro.xlsx', 'a,b\n1,2\n', 400, /no es un libro de Excel/],
        ['programa.exe', 'MZ', 400, /Formato de archivo no admitido/],
        ['grande.csv', 'a\n' + 'x'.repeat(15.5 * 1024 * 1024), 400, /archivo|MB|grande/i],
      ]) {
        const r = await upload(c, DEMO_SET, 'Malo', name, bytes);
        assert.equal(r.status, status, name);
        assert.match(await r.text(), message, name);
      }
      const huge = await upload(c, DEMO_SET, 'Enorme', 'enorme.csv', 'a\n' + 'x'.repeat(17 * 1024 * 1024));
      assert.equal(huge.status, 413);
      // Refused by the datastore (the job reports why): empty table, unbalanced quotes, a zip bomb.
      const bomb = zip([
        ['xl/workbook.xml', '<workbook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="H" sheetId="1" r:id="rId1"/></sheets></workbook>'],
        ['xl/_rels/workbook.xml.rels', '<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>'],
        ['xl/worksheets/sheet1.xml', `<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>a</t></is></c></row>${' '.repeat(64 << 20)}</sheetData></worksheet>`],
      ]);
      assert.ok(bomb.length < 200 * 1024);
      for (const [name, bytes, message] of [
        ['solo-encabezado.csv', 'a,b\n', /encabezados/],
        ['comillas.csv', 'a,b\n"1,2\n', /comilla/i],
        ['bomba.xlsx', bomb, /bomba ZIP/],
      ]) {
        const r = await upload(c, DEMO_SET, 'Rechazado', name, bytes);
        assert.equal(r.status, 303, name);
        const job = await waitJob(c, r.headers.get('location'));
        assert.equal(job.status, 'rechazada', name);
        assert.match(job.message, message, name);
        const jobPage = await (await c.get(r.headers.get('location'))).text();
        assert.match(jobPage, /quedaron como estaban/);
      }
      const afterState = await catalogState(base, c);
      assert.deepEqual(afterState.resources, before.resources);
      // Without a CSRF token nothing is even read.
      const form = new FormData();
      form.set('name', 'Sin token');
      form.set('file', new Blob(['a\n1\n']), 'x.csv');
      const r = await c.post(`/datos/conjunto/${DEMO_SET}/recursos`, { body: form });
      assert.equal(r.status, 403);
      assert.deepEqual((await catalogState(base, c)).resources, before.resources);
    });

    it('keeps names with directories from reaching the disk and other units out', async () => {
      const c = await loggedIn(base, USERS.enlaceDPPD);
      const r = await upload(c, DEMO_SET, 'Traversal', '../../../etc/passwd.json', '{"a": 1}');
      assert.equal(r.status, 303);
      const res = (await pkg(base, DEMO_SET, c)).body.resources.find((x) => x.name === 'Traversal');
      assert.match(res.url, /\/descarga\/passwd\.json$/);
      // The enlace of another unit may not publish in this organization.
      const other = await loggedIn(base, USERS.enlaceDI);
      const denied = await upload(other, DEMO_SET, 'Ajeno', 'x.csv', 'a\n1\n');
      assert.equal(denied.status, 403);
    });

    it('streams a file larger than one stored chunk, byte for byte', async () => {
      const c = await loggedIn(base, USERS.enlaceDPPD);
      // 3.5 MiB of JSON: four 1 MiB chunks in the database, not tabular (no ingest).
      const big = JSON.stringify({ datos: Array.from({ length: 70000 }, (_, i) => `registro-${i}-${'x'.repeat(40)}`) });
      assert.ok(big.length > 3 * 1024 * 1024);
      const r = await upload(c, DEMO_SET, 'Archivo grande', 'grande.json', big);
      assert.equal(r.status, 303);
      const res = (await pkg(base, DEMO_SET, c)).body.resources.find((x) => x.name === 'Archivo grande');
      const got = await fetch(base + new URL(res.url, base).pathname);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('transfer-encoding'), 'chunked');
      assert.equal(got.headers.get('content-length'), null);
      assert.match(got.headers.get('content-disposition'), /grande\.json/);
      assert.equal(await got.text(), big);
      // The version's own address streams the same bytes; a small file keeps its length.
      const v1 = await fetch(base + new URL(res.url, base).pathname.replace(/\/descarga\/.*$/, '/version/1/grande.json'));
      assert.equal(v1.status, 200, v1.url);
      assert.equal(await v1.text(), big);
      const small = (await pkg(base, DEMO_SET, c)).body.resources.find((x) => x.name === 'Traversal');
      const s = await fetch(base + new URL(small.url, base).pathname);
      assert.equal(s.headers.get('content-length'), String('{"a": 1}'.length));
      assert.equal(await s.text(), '{"a": 1}');
    });

    it('keeps drafts away from the public', async () => {
      const c = await loggedIn(base, USERS.secretariado);
      const orgs = await sessionAction(c, 'datos.organization.options', {});
      const created = await sessionAction(c, 'datos.package.create', {
        title: 'Borrador secreto', name: 'borrador-secreto', organization_id: orgs.body.result[0].id, license_id: 'cc-by-4.0',
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal((await page(base, '/datos/conjunto/borrador-secreto')).status, 404);
      assert.doesNotMatch((await page(base, `/datos?q=secreto&${fresh()}`)).html, /Borrador secreto/);
      assert.equal((await c.get('/datos/conjunto/borrador-secreto')).status, 200);
      const pub = await sessionAction(c, 'datos.package.publish', { id: created.body.result.id });
      assert.equal(pub.status, 409);
      assert.match(pub.body.error.message, /al menos un recurso/);
    });

    it('takes dataset requests from residents and shows their status', async () => {
      const anon = await page(base, '/datos/solicitudes');
      assert.match(anon.html, /Inicia sesión para solicitar/);
      const c = await loggedIn(base, USERS.ciudadania);
      const token = await c.csrf(`/datos/solicitudes?${fresh()}`);
      const r = await c.post('/datos/solicitudes', { body: { _csrf: token, title: 'Baches reportados por colonia' } });
      assert.equal(r.status, 303);
      const empty = await c.post('/datos/solicitudes', { body: { _csrf: token, title: '' } });
      assert.equal(empty.status, 400);
      const staff = await loggedIn(base, USERS.secretariado);
      const list = await sessionAction(staff, 'datos.request.list', {});
      const req = list.body.result.find((x) => x.title === 'Baches reportados por colonia');
      const noReason = await sessionAction(staff, 'datos.request.update', { id: req.id, status: 'no_disponible' });
      assert.equal(noReason.status, 400);
      const ok = await sessionAction(staff, 'datos.request.update', {
        id: req.id, status: 'no_disponible', reason: 'La información es de otra dependencia',
      });
      assert.equal(ok.status, 200);
      const html = (await page(base, `/datos/solicitudes?${fresh()}`)).html;
      assert.match(html, /Baches reportados por colonia[\s\S]*No disponible[\s\S]*otra dependencia/);
    });

    it("publishes Abierto's own data and refreshes it when it changes", async () => {
      const name = 'plan-pamga-2025-2027';
      let p;
      const deadline = Date.now() + 20000;
      while (Date.now() < deadline) {
        p = await pkg(base, name);
        if (p.status === 200 && p.body.resources.every((r) => r.version > 0) && p.body.resources.length === 2) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      assert.equal(p.status, 200);
      assert.equal(p.body.managed, true);
      const matrix = p.body.resources.find((r) => r.name === 'Matriz del plan');
      assert.equal(matrix.datastore_active, true);
      // A change in the plan becomes a new version of the matrix within seconds.
      const staff = await loggedIn(base, USERS.secretariado);
      const plan = (await getJson(base, `/api/v1/plans/pamga-2025-2027?${fresh()}`)).body;
      const commitment = plan.axes[0].commitments[0];
      const values = await sessionAction(staff, 'commitment.values', { id: commitment.id });
      assert.equal(values.status, 200);
      const input = { ...values.body.result, id: commitment.id, title: 'Compromiso para la prueba de datos abiertos' };
      for (const [k, v] of Object.entries(input)) if (v === null) delete input[k];
      const updated = await sessionAction(staff, 'commitment.update', input);
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      let v = matrix.version;
      const until = Date.now() + 20000;
      while (Date.now() < until && v === matrix.version) {
        await new Promise((res) => setTimeout(res, 200));
        v = (await pkg(base, name)).body.resources.find((r) => r.name === 'Matriz del plan').version;
      }
      assert.equal(v, matrix.version + 1);
      const csv = await (await fetch(base + (await pkg(base, name)).body.resources.find((r) => r.name === 'Matriz del plan').url)).text();
      assert.match(csv, /Compromiso para la prueba de datos abiertos/);
      // Managed datasets are not edited by hand.
      const edit = await sessionAction(staff, 'datos.package.publish', { id: (await pkg(base, name, staff)).body._id });
      assert.equal(edit.status, 409);
    });
  });
}

describe('abierto data import --dataset', () => {
  it('does what an upload does, creating the dataset as a draft', () => {
    const dir = mkdtempSync(join(tmpdir(), 'abierto-import-'));
    try {
      const db = `sqlite:${join(dir, 'i.db')}`;
      const file = join(dir, 'quejas.csv');
      writeFileSync(file, 'folio,colonia,fecha\n1,Centro,2025-01-02\n2,León I,03/02/2025\n');
      const env = { ...process.env, ABIERTO_TODAY: TODAY };
      const out = execFileSync(bin, ['data', 'import', file, '--dataset', 'quejas', '--db', db], { env }).toString();
      assert.match(out, /creado como borrador/);
      assert.match(out, /Filas cargadas: 2/);
      const again = execFileSync(bin, ['data', 'import', file, '--dataset', 'quejas', '--db', db, '--json'], { env }).toString();
      assert.equal(JSON.parse(again.trim().split('\n').pop()).rows, 2);
      writeFileSync(file, 'folio,colonia\n');
      let failed = null;
      try {
        execFileSync(bin, ['data', 'import', file, '--dataset', 'quejas', '--db', db], { env, stdio: 'pipe' });
      } catch (e) { failed = e; }
      assert.equal(failed.status, 1);
      assert.match(failed.stderr.toString(), /encabezados/);
      const versions = execFileSync('sqlite3', [join(dir, 'i.db'), 'SELECT COUNT(*) FROM datos_versions; SELECT state FROM datos_datasets']).toString();
      assert.equal(versions, '2\ndraft\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
