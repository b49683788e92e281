// Open-data exports of the plan: CSV, XLSX, JSON and the Atom feed of validated progress.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer } from '../lib/abierto.mjs';
import { PLAN, USERS, planJson, apiToken, bearerAction, count, parseCsv } from '../lib/itest.mjs';

async function download(base, path) {
  const r = await fetch(base + path);
  return { status: r.status, type: r.headers.get('content-type'), disp: r.headers.get('content-disposition'), buf: Buffer.from(await r.arrayBuffer()) };
}

for (const backend of backends()) {
  describe(`exports (${backend.name})`, () => {
    let srv, base, plan, actions;
    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      plan = await planJson(base);
      actions = plan.axes.flatMap((a) => a.commitments.flatMap((c) => c.actions));
    });
    after(async () => { await srv?.stop(); });

    it('matriz.csv: UTF-8 BOM, header row, one row per action', async () => {
      const d = await download(base, `/planes/${PLAN}/matriz.csv`);
      assert.equal(d.status, 200);
      assert.match(d.type, /^text\/csv/);
      assert.match(d.disp, /attachment; filename="pamga-2025-2027-matriz\.csv"/);
      assert.deepEqual([...d.buf.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      const rows = parseCsv(d.buf.subarray(3).toString('utf8')).filter((r) => r.length > 1);
      assert.deepEqual(rows[0].slice(0, 6), ['eje', 'compromiso_codigo', 'compromiso', 'unidad_responsable', 'objetivo', 'accion']);
      assert.ok(rows[0].includes('semaforo') && rows[0].includes('avance_validado'));
      assert.equal(rows.length - 1, actions.length);
      const width = rows[0].length;
      for (const r of rows) assert.equal(r.length, width);
      const iAction = rows[0].indexOf('accion');
      assert.deepEqual(rows.slice(1).map((r) => r[iAction]).sort(), actions.map((a) => a.action).sort());
      assert.ok(rows.some((r) => r[2] === 'Portal DatA-LEÓN y política de datos abiertos (ejemplo)'), 'accents survive');
    });

    it('matriz.xlsx is a ZIP (OOXML) and matriz.json an array of rows', async () => {
      const x = await download(base, `/planes/${PLAN}/matriz.xlsx`);
      assert.equal(x.status, 200);
      assert.match(x.type, /spreadsheetml/);
      assert.equal(x.buf.subarray(0, 2).toString('latin1'), 'PK');
      assert.ok(x.buf.includes(Buffer.from('xl/worksheets/')), 'has a worksheet part');
      const j = await download(base, `/planes/${PLAN}/matriz.json`);
      assert.equal(j.status, 200);
      assert.match(j.type, /^application\/json/);
      const arr = JSON.parse(j.buf.toString('utf8'));
      assert.ok(Array.isArray(arr));
      assert.equal(arr.length, actions.length);
      assert.equal(typeof arr[0].compromiso_codigo, 'string');
      assert.ok(arr.every((r) => 'semaforo' in r && 'accion' in r));
      const av = await download(base, `/planes/${PLAN}/avances.csv`);
      assert.equal(av.status, 200);
      const rows = parseCsv(av.buf.subarray(3).toString('utf8')).filter((r) => r.length > 1);
      assert.equal(rows.length - 1, plan.counters.validated_reports);
    });

    it('avances.atom is an Atom feed with one entry per validated report', async () => {
      const d = await download(base, `/planes/${PLAN}/avances.atom`);
      assert.equal(d.status, 200);
      assert.match(d.type, /^application\/atom\+xml/);
      const xml = d.buf.toString('utf8');
      assert.match(xml, /^<\?xml version="1\.0" encoding="utf-8"\?>/i);
      assert.match(xml, /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom"/);
      assert.equal(count(xml, '<entry>'), plan.counters.validated_reports);
      assert.equal(count(xml, '<entry>'), count(xml, '</entry>'));
      assert.match(xml, /<entry>[\s\S]*?<id>tag:abierto,2025:avance\/\d+<\/id>[\s\S]*?<\/entry>/);
      assert.match(xml, /27 conjuntos publicados \(ejemplo\)\./);
      assert.match(xml, /<\/feed>\s*$/);
    });

    it('formula-like titles are neutralized with a leading apostrophe in CSV', async () => {
      const token = await apiToken(base, USERS.admin);
      const axis = plan.axes[0];
      const unit = axis.commitments[0].unit.id;
      for (const [code, title] of [['FX-01', '=1+1'], ['FX-02', '@SUM(A1)'], ['FX-03', '+cmd|calc'], ['FX-04', '-2+3']]) {
        const c = await bearerAction(base, token, 'commitment.create', {
          axis_id: axis.id, code, title, unit_id: unit, start_date: '2026-01-01', end_date: '2026-12-31',
        });
        assert.equal(c.status, 200, JSON.stringify(c.body));
        const a = await bearerAction(base, token, 'action.create', {
          commitment_id: c.body.result.id, description: title, responsible: 'Área de prueba', goal_value: 1,
          goal_unit: 'documento', indicator_name: 'Documento', indicator_target: 1, frequency: 'unica',
          verification: 'Liga', due_date: '2026-06-30',
        });
        assert.equal(a.status, 200, JSON.stringify(a.body));
      }
      const d = await download(base, `/planes/${PLAN}/matriz.csv`);
      const rows = parseCsv(d.buf.subarray(3).toString('utf8')).filter((r) => r.length > 1);
      const byCode = Object.fromEntries(rows.slice(1).map((r) => [r[1], r]));
      const iAction = rows[0].indexOf('accion');
      assert.equal(byCode['FX-01'][2], "'=1+1");
      assert.equal(byCode['FX-02'][2], "'@SUM(A1)");
      assert.equal(byCode['FX-03'][2], "'+cmd|calc");
      assert.equal(byCode['FX-04'][2], "'-2+3");
      assert.equal(byCode['FX-01'][iAction], "'=1+1");
      // The stored value and the API keep the title literally; only the spreadsheet export escapes.
      const p = await planJson(base);
      assert.ok(p.axes[0].commitments.some((c) => c.title === '=1+1'));
      // The new rows show up in every format (the export cache was invalidated).
      const j = JSON.parse((await download(base, `/planes/${PLAN}/matriz.json`)).buf.toString('utf8'));
      assert.equal(j.length, actions.length + 4);
    });
  });
}
