// The three programs wired together for the browser tests: crm-service,
// erp-service and the bridge between them, each on free loopback ports in
// its own folder of one temporary directory, exactly as the black-box tests
// start them (tests/blackbox/conftest.py and bridge_helpers.py).
//
//   const sys = await startSystem();               // once per test file
//   const rep = await sys.crm.addUser('rita', 'sales_rep');
//   await signIn(page, sys.crm, rep);              // the sign-in form
//   const c = await sys.crm.post('/customers', { name: 'Acme' });  // admin API
//   ...
//   await sys.stop();                              // fails on a crash
//
// BIN_DIR (default <repo>/bin) says where the binaries are. WEB_DIR, when
// set (to the repository root), is passed as --web-dir so that the pages
// are served from a checkout instead of those built into the binaries.
// BROWSER_READY_TIMEOUT (seconds, default 15) bounds the wait for /readyz.

import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN_DIR = resolve(process.env.BIN_DIR || join(REPO, 'bin'));
export const WEB_DIR = process.env.WEB_DIR ? resolve(process.env.WEB_DIR) : null;
const READY_TIMEOUT = Number(process.env.BROWSER_READY_TIMEOUT || 15) * 1000;
const STOP_TIMEOUT = 10000;
const HOST = '127.0.0.1';

//  What a sanitizer or a crash leaves in stderr.
const CRASH_MARKERS = ['AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'ThreadSanitizer'];

//  Flags that keep the bridge's recovery quick (as bridge_helpers.py).
const BRIDGE_TUNING = ['--command-timeout-ms', '2000', '--retry-max-ms', '2000'];

//  How long a flow through the bridge may take in these tests.
export const FLOW_TIMEOUT = 15000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// n distinct free TCP ports on the loopback, held open together while
// choosing so that none is handed out twice.
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise((ok, fail) => { s.once('error', fail); s.listen(0, HOST, ok); });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  }
}

// A real SMTP server on loopback (Debian's aiosmtpd, its debugging handler
// printing every mail it receives): {port, args (crm-service's --smtp-*),
// received() (all it printed so far), stop()}. Waits until it listens.
// refuse: addresses the server answers "550 5.1.1 mailbox unknown here".
const REFUSING_SMTP = `
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Debugging
refuse = set(sys.argv[3:])
class Handler(Debugging):
    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in refuse:
            return '550 5.1.1 mailbox unknown here'
        envelope.rcpt_tos.append(address)
        return '250 OK'
Controller(Handler(), hostname=sys.argv[1], port=int(sys.argv[2])).start()
while True:
    time.sleep(3600)
`;

export async function startSmtp(from = 'sales@nordlicht.example', { refuse = [] } = {}) {
  const [port] = await freePorts(1);
  let out = '';
  const argv = refuse.length ? ['-u', '-c', REFUSING_SMTP, HOST, String(port), ...refuse]
    : ['-m', 'aiosmtpd', '-n', '-c', 'aiosmtpd.handlers.Debugging', '-l', `${HOST}:${port}`];
  const proc = spawn('/usr/bin/python3', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => { out += d.toString(); });
  await waitUntil(() => new Promise((ok) => {
    const c = createConnection({ host: HOST, port }, () => { c.end(); ok(true); });
    c.on('error', () => ok(false));
  }), { timeout: 10000, what: 'the SMTP server listening' });
  return { port, args: ['--smtp-url', `smtp://${HOST}:${port}`, '--smtp-from', from], received: () => out, stop: () => proc.kill() };
}

// Call fn until it returns something truthy and return that; a thrown error
// counts as "not yet". On timeout, throw with the last value or error.
export async function waitUntil(fn, { timeout = FLOW_TIMEOUT, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last = 'never ran';
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = `returned ${JSON.stringify(v)}`;
    } catch (e) {
      last = `${e && e.name}: ${String(e && e.message).slice(0, 1000)}`;
    }
    if (Date.now() >= deadline) throw new Error(`waited ${timeout / 1000} s for ${what}; last: ${last}`);
    await sleep(interval);
  }
}

function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

// An answer of the API that was not what the caller expected.
export class HttpError extends Error {
  constructor(method, path, status, body) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    super(`${method} ${path}: ${status} ${String(text).slice(0, 500)}`);
    this.status = status;
    this.body = body;
  }
}

// One program: a process with its folder, ports and admin token.
export class Service {
  // key: 'crm', 'erp' or 'bridge'; program: the binary's name; sockets:
  // the ZeroMQ endpoints it binds (pub, cmd), none for the bridge.
  constructor(key, program, workdir, { sockets = ['pub', 'cmd'], args = [] } = {}) {
    this.key = key;
    this.program = program;
    this.binary = join(BIN_DIR, program);
    this.workdir = workdir;
    this.dataDir = join(workdir, 'data');
    mkdirSync(this.dataDir, { recursive: true });
    this.stderrPath = join(workdir, `${program}.stderr`);
    this.stdoutPath = join(workdir, `${program}.stdout`);
    this.sockets = sockets;
    this.args = args;
    this.proc = null;
    this.exits = [];
    this._token = null;
  }

  async pickPorts() {
    const ports = await freePorts(1 + this.sockets.length);
    this.port = ports[0];
    this.http = `${HOST}:${ports[0]}`;
    this.url = `http://${this.http}`;
    this.endpoints = {};
    this.sockets.forEach((name, i) => { this.endpoints[name] = `tcp://${HOST}:${ports[i + 1]}`; });
    this.pub = this.endpoints.pub || null;
    this.cmd = this.endpoints.cmd || null;
  }

  argv() {
    const a = ['--data-dir', this.dataDir, '--http', this.http];
    for (const name of this.sockets) a.push(`--${name}`, this.endpoints[name]);
    a.push('--sync', 'normal', '--log-level', 'debug');
    if (WEB_DIR) a.push('--web-dir', WEB_DIR);
    return a.concat(typeof this.args === 'function' ? this.args() : this.args);
  }

  running() {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  // Start (or restart on the same folder and ports) and wait for /readyz.
  async start() {
    if (this.running()) throw new Error(`${this.program} is already running`);
    if (!existsSync(this.binary)) throw new Error(`${this.binary} not found (BIN_DIR=${BIN_DIR}); run make first`);
    if (!this.url) await this.pickPorts();
    const out = openSync(this.stdoutPath, 'a');
    const err = openSync(this.stderrPath, 'a');
    const proc = spawn(this.binary, this.argv(), { cwd: this.workdir, stdio: ['ignore', out, err] });
    closeSync(out);
    closeSync(err);
    this.proc = proc;
    proc.exited = new Promise((ok) => proc.once('exit', (code, signal) => {
      this.exits.push({ code, signal, expected: proc.stopping === true });
      ok();
    }));
    const deadline = Date.now() + READY_TIMEOUT;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running()) break;
      try {
        const r = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return this;
        last = `/readyz answered ${r.status}`;
      } catch (e) {
        last = String(e && e.cause ? e.cause.code || e.cause : e);
      }
      await sleep(50);
    }
    if (this.running()) await this.stop();
    throw new Error(`${this.program} did not become ready (${last})\n--- argv: ${this.argv().join(' ')}\n`
      + `--- stderr (tail):\n${tail(this.stderr())}`);
  }

  // SIGTERM, then SIGKILL after a while; resolves when the process is gone.
  async stop() {
    const proc = this.proc;
    if (!proc || !this.running()) return;
    proc.stopping = true;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => { proc.hung = true; proc.kill('SIGKILL'); }, STOP_TIMEOUT);
    await proc.exited;
    clearTimeout(timer);
    if (proc.hung) this.exits.push({ code: null, signal: 'SIGKILL', expected: false, hung: true });
  }

  async restart(args) {
    await this.stop();
    if (args) this.args = args;
    return this.start();
  }

  stderr() {
    try { return readFileSync(this.stderrPath, 'utf8'); } catch { return ''; }
  }

  // Why this program's runs count as a failure ([] when they don't): a
  // crash, an unclean exit after SIGTERM, a hang on stop, a sanitizer.
  problems() {
    const out = [];
    for (const e of this.exits) {
      if (e.hung) out.push(`${this.program}: did not stop within ${STOP_TIMEOUT / 1000} s`);
      else if (!e.expected) out.push(`${this.program}: exited on its own (code ${e.code}, signal ${e.signal})`);
      else if (e.code !== 0) out.push(`${this.program}: exit code ${e.code} (signal ${e.signal}) after SIGTERM`);
    }
    const text = this.stderr();
    for (const m of CRASH_MARKERS) if (text.includes(m)) out.push(`${this.program}: stderr contains '${m}'`);
    return out;
  }

  // --- users and tokens ------------------------------------------------

  get token() {
    if (this._token === null) this._token = readFileSync(join(this.dataDir, 'admin.token'), 'utf8').trim();
    return this._token;
  }

  // Run the binary's admin command line on this program's data folder.
  async cli(...args) {
    try {
      return await run(this.binary, ['--data-dir', this.dataDir, ...args], { cwd: this.workdir, timeout: 20000 });
    } catch (e) {
      throw new Error(`${this.program} ${args.join(' ')} failed (${e.code}): ${e.stderr || e.message}`);
    }
  }

  // `<program> user add NAME ROLE` (with --email when given): returns
  // {name, role, email, id, token, password, mustChange}. The first
  // password is printed once; it must be changed at the first sign-in
  // (signIn does it and remembers the new one in .password).
  async addUser(name, role, { email } = {}) {
    const extra = email ? ['--email', email] : [];
    const { stdout, stderr } = await this.cli(...extra, 'user', 'add', name, role);
    return { name, role, email: email || null, mustChange: true, ...parseUserAdd(stdout, stderr) };
  }

  // --- HTTP --------------------------------------------------------------

  // One request; {status, headers, body} (body parsed when JSON). opts:
  // body (JSON), query, token (default the admin token; null sends none),
  // headers, ifMatch.
  async api(method, path, { body, query, token, headers = {}, ifMatch } = {}) {
    const raw = path.startsWith('/api/') || /^\/(readyz|livez|metrics)\b/.test(path);
    let u = `${this.url}${raw ? '' : '/api/v1'}${path}`;
    if (query) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) p.append(k, String(v));
      if ([...p].length) u += (u.includes('?') ? '&' : '?') + p;
    }
    const h = { Accept: 'application/json', ...headers };
    const tok = token === undefined ? this.token : token;
    if (tok) h.Authorization = `Bearer ${tok}`;
    if (ifMatch !== undefined && ifMatch !== null) h['If-Match'] = `"${ifMatch}"`;
    let payload;
    if (body !== undefined) {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const r = await fetch(u, { method, headers: h, body: payload });
    const text = await r.text();
    let parsed = text;
    if ((r.headers.get('content-type') || '').includes('json')) {
      try { parsed = JSON.parse(text); } catch { parsed = text; }
    }
    return { status: r.status, headers: r.headers, body: parsed };
  }

  async _ok(method, path, opts, want) {
    const r = await this.api(method, path, opts);
    if (!(want ? r.status === want : r.status >= 200 && r.status < 300)) {
      throw new HttpError(method, path, r.status, r.body);
    }
    return r.body;
  }

  get(path, query, opts = {}) { return this._ok('GET', path, { ...opts, query }); }
  post(path, body = {}, opts = {}) { return this._ok('POST', path, { ...opts, body }); }
  patch(path, body, opts = {}) { return this._ok('PATCH', path, { ...opts, body }); }
  del(path, opts = {}) { return this._ok('DELETE', path, opts); }

  // Every item of a list, following next_cursor.
  async all(path, query = {}, opts = {}) {
    const items = [];
    let cursor = null;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await this.get(path, { ...query, limit: 500, cursor }, opts);
      items.push(...page.items);
      cursor = page.next_cursor;
      if (!cursor) return items;
    }
    throw new Error(`cursor loop on ${path}`);
  }
}

// The output of `user add`: key=value lines (id, token, password...) or,
// from the bridge, the bare token; the first password may be named in
// stdout or stderr ("password=..." or "password: ...").
export function parseUserAdd(stdout, stderr = '') {
  const out = { id: null, token: null, password: null };
  for (const line of `${stdout}\n${stderr}`.split('\n')) {
    const s = line.trim();
    if (!s) continue;
    const kv = s.match(/^([a-z_ ]+?)\s*[=:]\s*(\S+)$/i);
    if (kv) {
      const key = kv[1].toLowerCase().replace(/\s+/g, '_');
      if (key.includes('password')) out.password = out.password || kv[2];
      else if (key === 'token') out.token = kv[2];
      else if (key === 'user_id' || key === 'id') out.id = kv[2];
      continue;
    }
    const pw = s.match(/password\S*\s*(?:is|[=:])?\s*["']?([^\s"']{8,})["']?\s*$/i);
    if (pw) { out.password = out.password || pw[1]; continue; }
  }
  //  The bridge prints only the token, on the first line of stdout.
  const first = stdout.split('\n').map((l) => l.trim()).find((l) => l) || '';
  if (!out.token && /^[A-Za-z0-9_-]{20,}$/.test(first)) out.token = first;
  return out;
}

// The three programs, running. .crm, .erp, .bridge (Services), .dir, .stop().
export class System {
  constructor(dir) {
    this.dir = dir;
    this.services = [];
  }

  // Stop everything (bridge first), then throw if any program misbehaved.
  // The folder is removed unless something failed or KEEP_TMP is set.
  async stop() {
    for (const s of [...this.services].reverse()) await s.stop();
    const problems = [];
    for (const s of this.services) {
      const p = s.problems();
      if (p.length) problems.push(`${p.join('\n')}\n--- ${s.program} stderr (tail):\n${tail(s.stderr())}`);
    }
    if (problems.length) throw new Error(`programs misbehaved (folder kept: ${this.dir}):\n${problems.join('\n\n')}`);
    if (!process.env.KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
  }
}

// Start crm-service, erp-service and the bridge between them (or only some
// of them: only: ['crm']). Extra flags per program: crmArgs, erpArgs,
// bridgeArgs (e.g. ['--session-idle', '3']).
export async function startSystem({ only = ['crm', 'erp', 'bridge'], crmArgs = [], erpArgs = [], bridgeArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'browser-'));
  const sys = new System(dir);
  try {
    if (only.includes('crm')) {
      sys.crm = new Service('crm', 'crm-service', join(dir, 'crm'), { args: crmArgs });
      sys.services.push(sys.crm);
      await sys.crm.start();
    }
    if (only.includes('erp')) {
      sys.erp = new Service('erp', 'erp-service', join(dir, 'erp'), { args: erpArgs });
      sys.services.push(sys.erp);
      await sys.erp.start();
    }
    if (only.includes('bridge')) {
      if (!sys.crm || !sys.erp) throw new Error('the bridge needs crm and erp');
      const { crm, erp } = sys;
      sys.bridge = new Service('bridge', 'bridge', join(dir, 'bridge'), {
        sockets: [],
        args: () => ['--crm-pub', crm.pub, '--crm-cmd', crm.cmd, '--erp-pub', erp.pub, '--erp-cmd', erp.cmd,
          ...BRIDGE_TUNING, ...bridgeArgs],
      });
      sys.services.push(sys.bridge);
      await sys.bridge.start();
    }
  } catch (e) {
    await sys.stop().catch(() => {});
    throw e;
  }
  return sys;
}

// --- signing in through the page --------------------------------------

let s_pwCounter = 0;

// A product of ERP's catalogue (body: sku, name, prices...) with quantity
// of it received into the warehouse wh; resolves to the product.
export async function stockedProduct(erp, wh, body, quantity) {
  const product = await erp.post('/products', body);
  await erp.post('/stock/receipts', { product_id: product.id, warehouse_id: wh.id, quantity });
  return product;
}

// The end of a test file: closes the browser, then stops the system;
// either may be missing (a `before` that failed half-way).
export async function stopAll(browser, sys) {
  await browser?.close();
  await sys?.stop();
}

// Sign in on svc's page as user (from addUser): the sign-in form (labels
// "Name or e-mail", "Password", button "Sign in") and, on a first sign-in,
// the password change form ("New password", "Repeat new password", button
// "Change password"); the new password is kept in user.password. Resolves
// once the application shows its navigation. opts.path: the page to open
// (default '/'); opts.login: what to type as name (default user.name);
// opts.newPassword: the password to choose on a first sign-in.
export async function signIn(page, svc, user, { path = '/', login, newPassword } = {}) {
  await page.goto(svc.url + path);
  await fillSignIn(page, login || user.name, user.password);
  if (user.mustChange) {
    const np = newPassword || `${user.name}-Secret-${process.pid}-${++s_pwCounter}!`;
    await page.getByLabel('New password', { exact: true }).fill(np);
    await page.getByLabel('Repeat new password', { exact: true }).fill(np);
    await page.getByRole('button', { name: 'Change password' }).click();
    user.password = np;
    user.mustChange = false;
    await waitSignedIn(page);
    // The "password changed" note is for the person, not for the screenshots
    // the test takes next.
    await page.evaluate(() => document.querySelectorAll('.toasts .toast').forEach((el) => el.remove()));
    return;
  }
  await waitSignedIn(page);
}

// Fill and submit the sign-in form, nothing more (for wrong passwords).
export async function fillSignIn(page, login, password) {
  await page.getByLabel('Name or e-mail', { exact: true }).fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

// Resolves once no sign-in or password form is left and the app's main
// navigation is there.
export async function waitSignedIn(page, timeout = 10000) {
  await page.locator('input[type=password]').first().waitFor({ state: 'detached', timeout });
  // attached, not visible: on a phone the menu is folded behind a button
  await page.locator('header nav').first().waitFor({ state: 'attached', timeout });
}
