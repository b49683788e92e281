// The command line: version, migrate, user add (password from stdin), pb count, and clear
// errors with non-zero exit codes for bad arguments.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, repoRoot, startServer, Client } from '../lib/abierto.mjs';

function run(args, input) {
  return spawnSync(bin, args, { input, encoding: 'utf8', env: { ...process.env, ABIERTO_TODAY: '2026-11-21' } });
}

describe('abierto command line', () => {
  it('prints its version', () => {
    const r = run(['version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^abierto \d+\.\d+\.\d+/);
  });

  it('refuses unknown commands and bad options with a usage message', () => {
    const r = run(['volar']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /comando desconocido/);
    const p = run(['serve', '--port', 'ochenta']);
    assert.equal(p.status, 2);
    assert.match(p.stderr, /--port/);
    const db = run(['migrate', '--db', 'mysql://x']);
    assert.notEqual(db.status, 0);
  });

  it('migrates, adds a user from stdin, and that user can log in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'abierto-cli-'));
    const db = `sqlite:${join(dir, 'cli.db')}`;
    try {
      assert.equal(run(['migrate', '--db', db]).status, 0);
      assert.equal(run(['migrate', '--db', db]).status, 0, 'migrating twice is harmless');
      const add = run(['user', 'add', '--email', 'Admin@Example.org', '--role', 'admin', '--db', db],
        'una-contraseña-larga\n');
      assert.equal(add.status, 0, add.stderr);
      assert.match(add.stdout, /Cuenta creada/);
      const dup = run(['user', 'add', '--email', 'admin@example.org', '--role', 'admin', '--db', db],
        'otra-contraseña-larga\n');
      assert.notEqual(dup.status, 0);
      assert.match(dup.stderr, /Ya existe/);
      const shortPw = run(['user', 'add', '--email', 'b@example.org', '--role', 'admin', '--db', db], 'corta\n');
      assert.notEqual(shortPw.status, 0);
      const badRole = run(['user', 'add', '--email', 'c@example.org', '--role', 'rey', '--db', db], 'una-contraseña-larga\n');
      assert.notEqual(badRole.status, 0);
      const noPw = run(['user', 'add', '--email', 'd@example.org', '--role', 'admin', '--db', db], '');
      assert.equal(noPw.status, 2);

      const srv = await startServer({ name: 'sqlite' }, { demo: false, db });
      try {
        const c = new Client(srv.url);
        await c.login('admin@example.org', 'una-contraseña-larga');
        const panel = await c.get('/panel');
        assert.equal(panel.status, 200);
      } finally {
        await srv.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts every shared Pabulib instance and refuses a malformed file', () => {
    const dataDir = join(repoRoot, '..', 'shared', 'data', 'pabulib');
    const files = readdirSync(dataDir).filter((f) => f.endsWith('.pb'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const r = run(['pb', 'count', join(dataDir, f), '--rule', 'greedy', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.rule, 'greedy');
      assert.ok(out.selected.length > 0);
    }
    const bad = run(['pb', 'count', join(repoRoot, 'README.md'), '--rule', 'mes']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /META/);
  });
});
