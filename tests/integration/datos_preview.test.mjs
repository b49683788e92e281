// The datastore preview of a resource page, its CSV download of the filtered rows and the points
// for a map, against the real binary on both backends: filters, accent-insensitive search,
// sorting, paging, the chart, bad parameters, formula neutralization in the CSV (on a file a
// publisher uploads through the resource form) and an export longer than one piece.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startServer, Client } from '../lib/abierto.mjs';
import { USERS, count, fresh, parseCsv } from '../lib/itest.mjs';

const DATASET = 'proyectos-presupuesto-participativo-2025';
const DELEGACIONES = ['Cerro Gordo', 'Coecillo', 'Del Carmen', 'Las Joyas', 'San Juan Bosco', 'San Miguel', 'Cerrito de Jerez'];

function decodeHtml(s) {
  return s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

// The preview's table: header labels, row ids and the cells of each row.
function table(html) {
  const start = html.indexOf('<table>', html.indexOf('class="scroll pv-table"'));
  if (start < 0) return null;
  const t = html.slice(start, html.indexOf('</table>', start));
  const headers = [...t.matchAll(/data-col="([^"]+)"/g)].map((m) => m[1]);
  const rows = [...t.matchAll(/<tr><th scope="row">(\d+)<\/th>(.*?)<\/tr>/g)].map((m) => ({
    id: Number(m[1]),
    cells: [...m[2].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => decodeHtml(c[1])),
  }));
  return { headers, rows, names: rows.map((r) => r.cells[0]) };
}

function alert(html) {
  const m = html.match(/<div class="alert" role="alert" id="pv-error">(.*?)<\/div>/s);
  return m ? decodeHtml(m[1].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()) : null;
}

function range(html) {
  const m = html.match(/id="pv-range"[^>]*>([^<]*)</);
  return m ? m[1] : null;
}

for (const backend of backends()) {
  describe(`datastore preview (${backend.name})`, () => {
    let srv, base, page;
    const get = async (query = '') => {
      const r = await fetch(`${base}${page}${query ? `?${query}` : ''}`);
      return { status: r.status, html: await r.text() };
    };

    before(async () => {
      srv = await startServer(backend);
      base = srv.url;
      const p = await (await fetch(`${base}/api/v1/actions/datos.package.show?id=${DATASET}`)).json();
      const res = p.result.resources.find((r) => r.name === 'proyectos-por-delegacion.csv');
      page = `/datos/conjunto/${DATASET}/recurso/${res.id}`;
    });
    after(async () => { await srv?.stop(); });

    it('shows the first page of rows with typed, sortable, labelled columns', async () => {
      const { status, html } = await get(fresh());
      assert.equal(status, 200);
      const t = table(html);
      assert.deepEqual(t.headers, ['delegacion', 'proyectos_registrados', 'votos', 'monto_asignado', 'latitud', 'longitud']);
      assert.deepEqual(t.names, DELEGACIONES);
      assert.deepEqual(t.rows[5].cells, ['San Miguel', '40', '8560', '32000000', '21.108', '-101.676']);
      assert.equal(range(html), 'filas 1–7 de 7');
      assert.match(html, /<caption id="pv-caption" class="vh">Datos del recurso: filas 1–7 de 7<\/caption>/);
      assert.match(html, /<th scope="col" aria-sort="ascending">#<\/th>/);
      assert.match(html, /<span class="col-type">entero<\/span>/);
      assert.match(html, /<span class="col-type">decimal<\/span>/);
      // The quality report names the types in the page's language too.
      assert.match(html, /<th scope="row">votos<\/th><td>entero<\/td>/);
      assert.match(html, /<th scope="row">delegacion<\/th><td>texto<\/td>/);
      // One labelled filter per column, typed like the column.
      assert.match(html, /<label for="pv-f-delegacion">delegacion <span class="meta">\(texto\)<\/span><\/label><input id="pv-f-delegacion" name="f\.delegacion" type="text"/);
      assert.match(html, /<input id="pv-f-votos" name="f\.votos" type="number" step="1"/);
      assert.match(html, /<input id="pv-f-latitud" name="f\.latitud" type="number" step="any"/);
      assert.match(html, /<label for="pv-q">/);
      assert.match(html, /<div class="scroll pv-table" role="region" aria-labelledby="pv-caption" tabindex="0">/);
      assert.match(html, /<form method="get" action="[^"]+#vista-previa" class="preview-form"/);
      assert.doesNotMatch(html, /rel="next"|rel="prev"/);
    });

    it('is cached for anonymous visitors without handing them one shared cookie', async () => {
      const query = fresh();
      const first = await fetch(`${base}${page}?${query}`);
      const second = await fetch(`${base}${page}?${query}`);
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.deepEqual(first.headers.getSetCookie(), []);
      assert.deepEqual(second.headers.getSetCookie(), []);
      assert.equal(await first.text(), await second.text());
    });

    it('filters by column value, typed by the column', async () => {
      assert.deepEqual(table((await get('f.delegacion=Coecillo')).html).names, ['Coecillo']);
      assert.deepEqual(table((await get('f.votos=8120')).html).names, ['Cerro Gordo']);
      assert.deepEqual(table((await get('f.monto_asignado=32000000')).html).names, ['San Miguel']);
      assert.deepEqual(table((await get('f.proyectos_registrados=38')).html).names, ['Coecillo', 'Cerrito de Jerez']);
      const both = await get('f.proyectos_registrados=38&f.delegacion=Coecillo');
      assert.deepEqual(table(both.html).names, ['Coecillo']);
      // The filter stays in its input, and blank filters are ignored.
      assert.match(both.html, /name="f\.delegacion" type="text" value="Coecillo"/);
      assert.equal(table((await get('f.delegacion=&f.votos=')).html).rows.length, 7);
      const none = await get('f.delegacion=Nadie');
      assert.equal(none.status, 200);
      assert.equal(table(none.html).rows.length, 0);
      assert.match(none.html, /Ninguna fila cumple la búsqueda y los filtros/);
    });

    it('searches the text without regard to case or accents', async () => {
      for (const q of ['Jerez', 'jerez', 'JÉREZ', 'cerrito jerez']) {
        const { status, html } = await get(`q=${encodeURIComponent(q)}`);
        assert.equal(status, 200, q);
        assert.deepEqual(table(html).names, ['Cerrito de Jerez'], q);
        assert.equal(range(html), 'filas 1–1 de 1');
      }
      assert.deepEqual(table((await get('q=san')).html).names, ['San Juan Bosco', 'San Miguel']);
      assert.deepEqual(table((await get('q=san&f.votos=8560')).html).names, ['San Miguel']);
    });

    it('sorts by a column both ways, with aria-sort and links that flip the order', async () => {
      const desc = await get('orden=votos&dir=desc');
      assert.deepEqual(table(desc.html).names, ['Las Joyas', 'Del Carmen', 'San Miguel', 'Cerro Gordo', 'Coecillo', 'Cerrito de Jerez', 'San Juan Bosco']);
      assert.match(desc.html, /<th scope="col" aria-sort="descending" class="num"><a href="[^"]*orden=votos&amp;dir=asc#vista-previa" data-col="votos">votos<span aria-hidden="true"> ▼<\/span><span class="vh"> \(ordenar de menor a mayor\)<\/span><\/a>/);
      assert.equal(count(desc.html, 'aria-sort='), 1);
      const asc = await get('orden=delegacion');
      assert.deepEqual(table(asc.html).names, [...DELEGACIONES].sort());
      assert.match(asc.html, /aria-sort="ascending"><a href="[^"]*orden=delegacion&amp;dir=desc#vista-previa"/);
      // Sorting keeps the filters; the form keeps the sort.
      const kept = await get('orden=votos&dir=asc&q=san');
      assert.deepEqual(table(kept.html).names, ['San Juan Bosco', 'San Miguel']);
      assert.match(kept.html, /<input type="hidden" name="orden" value="votos"><input type="hidden" name="dir" value="asc">/);
      assert.match(kept.html, /href="[^"]*\?q=san&amp;orden=delegacion&amp;dir=asc#vista-previa"/);
    });

    it('pages through the rows with previous and next links', async () => {
      const first = await get('filas=3&orden=votos&dir=desc');
      assert.equal(range(first.html), 'filas 1–3 de 7');
      assert.deepEqual(table(first.html).names, ['Las Joyas', 'Del Carmen', 'San Miguel']);
      const next = first.html.match(/<a href="([^"]+)" rel="next">/);
      assert.ok(next, 'a next link');
      assert.doesNotMatch(first.html, /rel="prev"/);
      const second = await fetch(base + decodeHtml(next[1]));
      const html2 = await second.text();
      assert.equal(range(html2), 'filas 4–6 de 7');
      assert.deepEqual(table(html2).names, ['Cerro Gordo', 'Coecillo', 'Cerrito de Jerez']);
      const last = await get('filas=3&orden=votos&dir=desc&pagina=3');
      assert.equal(range(last.html), 'filas 7–7 de 7');
      assert.deepEqual(table(last.html).names, ['San Juan Bosco']);
      assert.match(last.html, /rel="prev"/);
      assert.doesNotMatch(last.html, /rel="next"/);
      // The form keeps the page size asked for, though it is not one of those offered.
      assert.match(last.html, /<option value="3" selected>3<\/option><option value="10">10<\/option>/);
      // Past the end: no rows, and "previous" leads back to the last page with rows.
      const beyond = await get('pagina=5');
      assert.equal(beyond.status, 200);
      assert.equal(range(beyond.html), 'ninguna fila en esta página (hay 7 en total)');
      assert.ok(beyond.html.includes(`<a href="${page}#vista-previa" rel="prev">`));
    });

    it('draws a bar chart of the filtered rows as accessible inline SVG, with its numbers as a table', async () => {
      const { status, html } = await get('grafica=barras&x=delegacion&y=votos&agregado=suma');
      assert.equal(status, 200);
      const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + 6);
      assert.equal(count(svg, '<rect class="bar"'), 7);
      assert.match(svg, /role="img" aria-labelledby="pv-grafica-t pv-grafica-d"/);
      assert.match(svg, /<title id="pv-grafica-t">Suma de votos por delegacion<\/title>/);
      assert.match(svg, /Cerrito de Jerez: 7,420; Cerro Gordo: 8,120;/);
      assert.doesNotMatch(svg, /style|<script/);
      const data = html.slice(html.indexOf('<details class="pv-chart-data">'), html.indexOf('</details>', html.indexOf('<details class="pv-chart-data">')));
      assert.equal(count(data, '<tr><th scope="row">'), 7);
      assert.match(data, /<tr><th scope="row">Las Joyas<\/th><td class="num">10,230<\/td><\/tr>/);
      // The chart and the table read the same rows: filters and q apply to both.
      const filtered = await get('grafica=barras&x=delegacion&y=votos&agregado=suma&f.proyectos_registrados=38');
      assert.equal(count(filtered.html, '<rect class="bar"'), 2);
      assert.deepEqual(table(filtered.html).names, ['Coecillo', 'Cerrito de Jerez']);
      const avg = await get('grafica=barras&x=proyectos_registrados&y=votos&agregado=promedio');
      assert.equal(count(avg.html, '<rect class="bar"'), 6);
      assert.match(avg.html, /<title>38: 7,435<\/title>/);
      const line = await get('grafica=lineas&x=proyectos_registrados&agregado=conteo');
      assert.equal(count(line.html, '<circle class="point"'), 6);
      assert.match(line.html, /Número de filas por proyectos_registrados/);
      // The form remembers the choices.
      assert.match(line.html, /<option value="lineas" selected>/);
      assert.match(line.html, /<option value="conteo" selected>/);
      assert.doesNotMatch((await get()).html, /<svg/);
    });

    it('answers bad parameters with a clear message on the page and a 400, never a 500', async () => {
      const cases = [
        ['orden=nope', /La columna «nope» no existe en este recurso/],
        ['f.votos=muchos', /El valor «muchos» no es válido para la columna «votos»/],
        ['f.nope=1', /La columna «nope» no existe en este recurso/],
        ['f.latitud=norte', /no es válido para la columna «latitud»/],
        ['dir=arriba&orden=votos', /Dirección del orden: Opción no válida/],
        ['pagina=0', /La página debe ser un número entero a partir de 1/],
        ['pagina=dos', /La página debe ser un número entero a partir de 1/],
        ['filas=1000', /Las filas por página deben ser un número entero de 1 a 100/],
        ['grafica=pastel', /El tipo de gráfica debe ser barras o líneas/],
        ['grafica=barras&x=votos&y=delegacion&agregado=suma', /La columna «delegacion» no es numérica/],
        ['grafica=barras&x=nada&agregado=conteo', /La columna «nada» no existe en este recurso/],
        ['grafica=barras&x=delegacion&agregado=maximo', /Agregación: Opción no válida/],
        [`q=${encodeURIComponent('a'.repeat(300))}`, /Búsqueda: Máximo 200 caracteres/],
      ];
      for (const [query, message] of cases) {
        const { status, html } = await get(query);
        assert.equal(status, 400, query);
        assert.match(alert(html) ?? '', message, query);
        // The form is still there to correct the query.
        assert.match(html, /class="preview-form"/, query);
      }
    });

    it('serves the points of the filtered rows for a map, and the map reads them', async () => {
      const { html } = await get('q=san');
      const hook = html.match(/<div class="map" id="mapa-datos"[^>]* data-map data-map-src="([^"]+)"/);
      assert.ok(hook, 'the map element');
      assert.equal(decodeHtml(hook[1]), `${page}/puntos.json?q=san`);
      const r = await fetch(base + decodeHtml(hook[1]));
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      const body = await r.json();
      assert.equal(body.lat_column, 'latitud');
      assert.equal(body.lon_column, 'longitud');
      assert.equal(body.total, 2);
      assert.equal(body.truncated, false);
      assert.deepEqual(body.points.map((p) => p.label), ['San Juan Bosco', 'San Miguel']);
      assert.deepEqual(body.points[1], { id: 6, lat: 21.108, lon: -101.676, label: 'San Miguel' });
      const all = await (await fetch(`${base}${page}/puntos.json`)).json();
      assert.equal(all.points.length, 7);
      assert.equal(all.count, 7);
      for (const p of all.points) {
        assert.ok(p.lat > 21 && p.lat < 21.2 && p.lon > -101.8 && p.lon < -101.6, JSON.stringify(p));
      }
      const one = await (await fetch(`${base}${page}/puntos.json?f.delegacion=Las%20Joyas`)).json();
      assert.deepEqual(one.points.map((p) => p.id), [4]);
      // Errors are JSON too.
      const bad = await fetch(`${base}${page}/puntos.json?f.votos=x`);
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, 'invalid_argument');
      const missing = await fetch(`${base}/datos/conjunto/${DATASET}/recurso/no-existe/puntos.json`);
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).error.code, 'not_found');
      // A table without coordinates has no map and no points.
      const p = await (await fetch(`${base}/api/v1/actions/datos.package.show?id=solicitudes-de-informacion-2025`)).json();
      const other = `/datos/conjunto/solicitudes-de-informacion-2025/recurso/${p.result.resources[0].id}`;
      const otherPage = await (await fetch(base + other)).text();
      assert.ok(table(otherPage).rows.length > 0);
      assert.doesNotMatch(otherPage, /id="mapa"/);
      assert.equal((await fetch(`${base}${other}/puntos.json`)).status, 404);
      // The resource must belong to the dataset of the address.
      assert.equal((await fetch(`${base}/datos/conjunto/solicitudes-de-informacion-2025/recurso/${page.split('/').pop()}/puntos.json`)).status, 404);
    });

    it('downloads the filtered, sorted rows as CSV, streamed', async () => {
      const { html } = await get('q=san&orden=votos&dir=desc&filas=10&pagina=1&grafica=barras&x=delegacion&y=votos');
      const link = html.match(/<a class="button secondary" href="([^"]+)" download>/);
      assert.ok(link);
      // The download carries the search and the order, not the paging or the chart.
      assert.equal(decodeHtml(link[1]), `${page}/filas.csv?q=san&orden=votos&dir=desc`);
      const r = await fetch(base + decodeHtml(link[1]));
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^text\/csv/);
      assert.equal(r.headers.get('transfer-encoding'), 'chunked');
      assert.match(r.headers.get('content-disposition'), new RegExp(`attachment; filename="${DATASET}-filas\\.csv"`));
      const buf = Buffer.from(await r.arrayBuffer());
      assert.deepEqual([...buf.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      assert.deepEqual(parseCsv(buf.subarray(3).toString('utf8')), [
        ['_id', 'delegacion', 'proyectos_registrados', 'votos', 'monto_asignado', 'latitud', 'longitud'],
        ['6', 'San Miguel', '40', '8560', '32000000', '21.108', '-101.676'],
        ['5', 'San Juan Bosco', '36', '6880', '28400000', '21.114', '-101.697'],
      ]);
      const all = parseCsv((await (await fetch(`${base}${page}/filas.csv`)).text()).replace(/^\uFEFF/, ''));
      assert.equal(all.length, 8);
      const bad = await fetch(`${base}${page}/filas.csv?orden=nope`);
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /La columna «nope» no existe en este recurso/);
    });

    it('neutralizes formulas in the CSV of a file a publisher uploaded, across several pieces', async () => {
      const admin = new Client(base);
      await admin.login(USERS.admin);
      const token = await admin.csrf(`/datos/conjunto/${DATASET}`);
      // 4,500 rows: more than one piece of the streamed download. Text cells that a spreadsheet
      // would run as formulas, and negative numbers that must stay numbers.
      const lines = ['clave,nota,monto'];
      const notes = ['=1+1', '+SUM(A1:A9)', '-2+3', '@cmd', '=HYPERLINK("http://x.example","clic")', 'normal'];
      for (let i = 1; i <= 4500; i++) lines.push(`${i},"${notes[i % notes.length].replace(/"/g, '""')}",${i % 7 === 0 ? -i : i}`);
      const form = new FormData();
      form.set('_csrf', token);
      form.set('name', 'formulas.csv');
      form.set('description', 'Celdas que parecen fórmulas');
      form.set('file', new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }), 'formulas.csv');
      const created = await admin.post(`/datos/conjunto/${DATASET}/recursos`, { body: form });
      assert.equal(created.status, 303, await created.text());
      const job = created.headers.get('location');
      assert.match(job, /^\/datos\/trabajos\/\d+$/);
      let status;
      for (let i = 0; i < 300; i++) {
        status = await (await admin.get(`${job}?formato=json`)).json();
        if (status.status === 'lista' || status.status === 'rechazada') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status.status, 'lista', JSON.stringify(status));
      const rid = status.resource_id;
      const csvPath = `/datos/conjunto/${DATASET}/recurso/${rid}/filas.csv`;

      const text = await (await fetch(`${base}${csvPath}?orden=monto&dir=desc`)).text();
      const rows = parseCsv(text.replace(/^\uFEFF/, ''));
      assert.deepEqual(rows[0], ['_id', 'clave', 'nota', 'monto']);
      assert.equal(rows.length, 4501);
      assert.equal(new Set(rows.slice(1).map((r) => r[0])).size, 4500, 'every row once');
      const montos = rows.slice(1).map((r) => Number(r[3]));
      for (let i = 1; i < montos.length; i++) assert.ok(montos[i - 1] >= montos[i], `sorted at ${i}`);
      assert.ok(montos.includes(-4494), 'negative numbers stay numbers');
      const notesOut = new Set(rows.slice(1).map((r) => r[2]));
      assert.deepEqual([...notesOut].sort(), ["'+SUM(A1:A9)", "'-2+3", "'=1+1", "'=HYPERLINK(\"http://x.example\",\"clic\")", "'@cmd", 'normal'].sort());
      // Filtered: only the rows asked for.
      const filtered = parseCsv((await (await fetch(`${base}${csvPath}?f.clave=6`)).text()).replace(/^\uFEFF/, ''));
      assert.deepEqual(filtered, [['_id', 'clave', 'nota', 'monto'], ['6', '6', "'=1+1", '6']]);
      // The page shows the cell as stored, escaped, never as a formula or markup.
      const pageHtml = await (await fetch(`${base}/datos/conjunto/${DATASET}/recurso/${rid}?f.clave=4`)).text();
      assert.deepEqual(table(pageHtml).rows[0].cells, ['4', '=HYPERLINK("http://x.example","clic")', '4']);
    });
  });
}
