/**
 * The demo script end to end: `bash scripts/demo.sh` starts the sandbox
 * clusters, captures shop, hydrates it into the dev cluster as shop-dev
 * (plan, restore, listing), serves VS Code with the extension on the port
 * asked for, and Ctrl-C (SIGINT to its process group, as a terminal sends
 * it) stops everything it started. It uses the repository's
 * .lifeboat-sandbox folder, as a person running the demo does.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { repoRoot } from '../support/proc';
import { freePort } from '../support/ports';

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
}

/** Every process on the machine, from /proc (Linux). */
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name, in parentheses, may hold spaces: the fields after it are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      out.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]) });
    } catch {
      // Gone while listing.
    }
  }
  return out;
}

/** The process and all its descendants. */
function tree(root: number): Proc[] {
  const all = processes();
  const found = all.filter((p) => p.pid === root);
  for (let i = 0; i < found.length; i++) found.push(...all.filter((p) => p.ppid === found[i].pid));
  return found;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('the demo script (scripts/demo.sh)', function () {
  // First run: Debian and npm packages, code-server (about a minute), packaging.
  this.timeout(20 * 60_000);
  let demo: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let port: number;
  const groups = new Set<number>();
  const pids = new Set<number>();

  const waitForOutput = async (what: string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = output.match(pattern);
      if (m) return m;
      if (demo.exitCode !== null || demo.signalCode !== null) {
        throw new Error(`the demo exited (${demo.exitCode ?? demo.signalCode}) before ${what}; its output:\n${output.slice(-6000)}`);
      }
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s; the demo's output:\n${output.slice(-6000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  before(async () => {
    port = await freePort();
    // detached: a process group of its own, which a terminal's Ctrl-C reaches as a whole.
    demo = spawn('bash', ['scripts/demo.sh'], {
      cwd: repoRoot,
      // Without LIFEBOAT_PASSWORD the demo uses the passphrase file it names.
      env: { ...process.env, LIFEBOAT_DEMO_PORT: String(port), LIFEBOAT_PASSWORD: '' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
    demo.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
    exited = new Promise((resolve) => demo.once('close', (code) => resolve(code)));
  });

  after(async () => {
    // Whatever a failed test left: the demo and the groups it started.
    for (const g of [demo.pid!, ...groups]) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it('prints "sandbox ready" once the clusters are up, then captures shop and shows the snapshot', async () => {
    await waitForOutput('"sandbox ready"', /^sandbox ready/m, 15 * 60_000);
    await waitForOutput('the capture and its snapshot', /^volumes \(1\):\n\s+shop\/data-db-0 /m, 5 * 60_000);
    assert.match(output, /== lifeboat capture --context sandbox-prod -n shop/);
    assert.match(output, /StatefulSet\s+db/);
    assert.ok(output.indexOf('sandbox ready') < output.indexOf('== lifeboat capture'), 'capture output before "sandbox ready"');
  });

  it('plans the hydration of shop into sandbox-dev as shop-dev with the dev profile, restores it, and lists what runs there', async () => {
    await waitForOutput('the hydrated namespace listing', /== kubectl --context sandbox-dev get all,pvc -n shop-dev\n[\s\S]*?persistentvolumeclaim\/data-db-0\s+Bound/, 5 * 60_000);
    const plan = output.slice(output.indexOf('== lifeboat plan latest --to sandbox-dev --profile dev --namespace-mapping shop:shop-dev -n shop'));
    assert.ok(plan.length > 0, 'the plan step is announced');
    assert.match(plan, /^target: context sandbox-dev \(cluster sandbox-dev, https:\/\/127\.0\.0\.1:\d+\)$/m);
    assert.match(plan, /^profile: dev, existing objects: update$/m);
    assert.match(plan, /^create\s+Namespace\s+shop-dev\b/m);
    assert.match(plan, /^create\s+StatefulSet\s+shop-dev\/db\b/m);
    assert.match(plan, /^ {2}write\s+shop-dev\/data-db-0\s+\d+ file\(s\)/m);
    const restore = output.slice(output.indexOf('== lifeboat restore latest'));
    assert.match(restore, /^restore into sandbox-dev complete$/m);
    const listing = output.slice(output.indexOf('== kubectl --context sandbox-dev get all,pvc -n shop-dev'));
    assert.match(listing, /^pod\/db-0\s+\S+\s+Running/m);
    assert.match(listing, /^statefulset\.apps\/db\s/m);
  });

  it('prints the address of VS Code on the port asked for, which answers /healthz and serves the editor page', async () => {
    const m = await waitForOutput('the editor address', /Open (http:\/\/127\.0\.0\.1:(\d+)\/) — Lifeboat is in the activity bar/, 5 * 60_000);
    assert.equal(Number(m[2]), port);
    assert.ok(output.indexOf('== lifeboat restore latest') < output.indexOf('Open http://'), 'the hydration comes before the editor');
    assert.match(output, /passphrase: it is in \S+\.lifeboat-sandbox\/passphrase/);
    const passphrase = readFileSync(path.join(repoRoot, '.lifeboat-sandbox', 'passphrase'), 'utf8').trim();
    assert.ok(!output.includes(passphrase), 'the demo printed the passphrase');

    const health = await fetch(`${m[1]}healthz`);
    assert.equal(health.status, 200);
    const page = await fetch(m[1]);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /workbench/i);
  });

  it('stops the editor and the clusters on Ctrl-C, leaving no process behind and the port closed', async () => {
    for (const p of tree(demo.pid!)) {
      pids.add(p.pid);
      if (p.pgid !== demo.pid) groups.add(p.pgid);
    }
    assert.ok(groups.size >= 2, `expected the sandbox and code-server in groups of their own, found groups ${[...groups].join(', ')}`);
    process.kill(-demo.pid!, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the demo did not stop within 60 s of SIGINT:\n${output.slice(-3000)}`)), 60_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(code, 0, output.slice(-3000));
    assert.match(output, /^sandbox stopped$/m);
    assert.match(output, /^demo stopped$/m);
    const left = processes().filter((p) => pids.has(p.pid) || groups.has(p.pgid) || p.pgid === demo.pid);
    assert.deepEqual(left, [], 'processes of the demo still running');
    assert.equal(await portOpen(port), false, `port ${port} is still open`);
    assert.equal(existsSync(path.join(repoRoot, '.lifeboat-sandbox', 'kubeconfig')), false, 'the sandbox kubeconfig is still there');
  });
});
