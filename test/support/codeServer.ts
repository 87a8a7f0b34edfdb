/**
 * A real VS Code for tests: code-server 4.100.3 (VS Code 1.100.3) on a free
 * loopback port, driven by Debian's headless chromium through playwright-core.
 *
 * VS Code's own download servers cannot be reached from every machine the
 * tests run on, so @vscode/test-electron cannot fetch an editor there; the
 * editor inside code-server runs the same extension-host tests unchanged.
 * The server starts an extension host only when a browser connects, which
 * is why even tests without UI open a page.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { format } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort } from './ports';

export const CODE_SERVER_VERSION = '4.100.3';

const repoRoot = path.resolve(__dirname, '..', '..');

/** Debian's chromium; LIFEBOAT_CHROMIUM overrides it. */
export const chromiumPath = process.env.LIFEBOAT_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep chromium from reaching out (updates, sync, QUIC probes) and from needing a GPU or a sandbox. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let installed: Promise<string> | undefined;

/**
 * Path of the code-server executable, installing it on first use through
 * scripts/code-server.sh (cache folder: LIFEBOAT_CODE_SERVER_DIR). The
 * script's progress goes to stderr.
 */
export function ensureCodeServer(): Promise<string> {
  installed ??= new Promise<string>((resolve, reject) => {
    const script = path.join(repoRoot, 'scripts', 'code-server.sh');
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('error', (err) => reject(new Error(`cannot run ${script}: ${err.message}`)));
    child.on('close', (code) => {
      const bin = out.trim().split('\n').pop() ?? '';
      if (code === 0 && bin) resolve(bin);
      else reject(new Error(`${script} exited with ${code}; its messages above say what is missing`));
    });
  });
  return installed;
}

/** The last lines of a stream of text, for error messages. */
class Tail {
  private lines: string[] = [];
  constructor(private readonly max: number) {}
  push(text: string): void {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

export interface CodeServerOptions {
  /** Folder to open; code-server also runs with it as its working directory. */
  workspace: string;
  /** Extensions folder (e.g. with a .vsix installed); a fresh empty one by default. */
  extensionsDir?: string;
  /** Added to code-server's environment, which its extension hosts inherit; undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** Receives code-server's own output lines; kept silent by default. */
  log?: (line: string) => void;
  /** How long to wait for /healthz (default 60 s). */
  startTimeoutMs?: number;
}

export interface CodeServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Where code-server keeps settings, logs and state for this run. */
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** The last lines code-server printed. */
  recentOutput(): string;
  /** Stops the whole process group (extension hosts and file watchers too) and removes the temporary folders. */
  stop(): Promise<void>;
}

function serverEnv(home: string, extra: CodeServerOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Variables of an editor this runs inside would make code-server talk to that editor.
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') continue;
    env[k] = v;
  }
  env.XDG_CONFIG_HOME = path.join(home, 'config');
  env.XDG_DATA_HOME = path.join(home, 'data');
  env.XDG_CACHE_HOME = path.join(home, 'cache');
  // No marketplace: tests must not depend on one, and offline its lookups only log errors.
  env.EXTENSIONS_GALLERY = '{}';
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

async function waitHealthy(url: string, child: ChildProcess, output: Tail, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited with ${child.exitCode ?? child.signalCode} before answering ${url}/healthz:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`code-server did not answer ${url}/healthz within ${timeoutMs} ms; its last output:\n${output}`);
}

/**
 * Starts a fresh code-server (installing it on first use) with its own
 * settings, state and XDG folders in a temporary folder, in a process group
 * of its own: stop() ends every process it started. Resolves once /healthz
 * answers.
 */
export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const bin = await ensureCodeServer();
  const home = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-code-server-'));
  const userDataDir = path.join(home, 'user-data');
  const extensionsDir = options.extensionsDir ?? path.join(home, 'extensions');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    options.workspace,
  ];
  const output = new Tail(60);
  // detached: the child calls setsid(), so its pid is the id of a group holding everything it spawns.
  const child = spawn(bin, args, {
    cwd: options.workspace,
    env: serverEnv(home, options.env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onData = (s: string) => {
    output.push(s);
    if (options.log) for (const line of s.split('\n')) if (line.trim()) options.log(line);
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // A test process that ends without stop() must not leave the server behind.
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', onExit);
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      // The parent may exit before its extension hosts do.
      killGroup(child, 'SIGKILL');
      await rm(home, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };

  try {
    await waitHealthy(url, child, output, options.startTimeoutMs ?? 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, userDataDir, extensionsDir, recentOutput: () => output.toString(), stop };
}

/** Headless Debian chromium with a fresh profile. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  try {
    return await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  } catch (err) {
    throw new Error(
      `cannot start chromium at ${chromiumPath} (install Debian's chromium, or set LIFEBOAT_CHROMIUM): ${(err as Error).message}`,
    );
  }
}

/** Workbench address that opens `folder`, with launch arguments (`payload`) for the extension host. */
export function workbenchUrl(server: Pick<CodeServer, 'url' | 'port'>, folder: string, payload: [string, string][] = []): string {
  const query = [`folder=${encodeURIComponent(folder)}`];
  if (payload.length) query.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  return `${server.url}/?${query.join('&')}`;
}

/** vscode-remote URI of a path on the server, as the browser workbench addresses it. */
export function remoteUri(server: Pick<CodeServer, 'port'>, absPath: string): string {
  return `vscode-remote://127.0.0.1:${server.port}${absPath}`;
}

export interface ExtensionTestOptions {
  /** Folder holding the extension's package.json. */
  extensionDevelopmentPath: string;
  /** Compiled module exporting run(): Promise<void>, as for @vscode/test-electron. */
  extensionTestsPath: string;
  /** Folder the editor opens. */
  workspace: string;
  /** Added to the environment of code-server and so of the extension host. */
  env?: Record<string, string | undefined>;
  /** The whole run, from starting code-server to the tests' exit (default 10 min). */
  timeoutMs?: number;
  /** Receives each line of test output; stdout by default. */
  output?: (line: string) => void;
  /**
   * Hold back output until a line equal to this arrives (the line itself is
   * dropped): the workbench logs its start-up through the same channel as
   * the tests. Held-back lines are shown when the run fails before it.
   */
  quietUntil?: string;
  /** Where to save a screenshot of the editor when the run times out or the page fails. */
  artifactsDir?: string;
}

/** The extension host forwards console calls unformatted (mocha's reporter passes printf-style patterns). */
function formatLogArgs(args: unknown): string {
  const list = Array.isArray(args) ? args : [args];
  return format(...list);
}

/**
 * Runs extension tests in a fresh code-server: opens the workbench in
 * headless chromium with the extension under development and the tests
 * module, streams the tests' output, and resolves with the exit code the
 * tests reported (0 when all passed). Rejects, with the last output seen,
 * when the run does not finish in time or the page dies.
 */
export async function runExtensionTests(options: ExtensionTestOptions): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const deadline = Date.now() + timeoutMs;
  const print = options.output ?? ((line: string) => process.stdout.write(line + '\n'));
  const seen = new Tail(40);
  const server = await startCodeServer({ workspace: options.workspace, env: options.env });
  let browser: Browser | undefined;
  let page: Page | undefined;
  try {
    browser = await launchChromium();
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();

    let settle!: { resolve: (code: number) => void; reject: (err: Error) => void };
    const finished = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));

    let quiet = options.quietUntil !== undefined;
    const heldBack: string[] = [];
    await page.exposeFunction('codeAutomationLog', (_type: string, args: unknown) => {
      const text = formatLogArgs(args).replace(/\n$/, '');
      seen.push(text);
      if (quiet) {
        if (text === options.quietUntil) quiet = false;
        else heldBack.push(text);
        return;
      }
      for (const line of text.split('\n')) print(line);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => {
      if (quiet && Number(code) !== 0) for (const text of heldBack) for (const line of text.split('\n')) print(line);
      settle.resolve(Number(code));
    });
    page.on('crash', () => settle.reject(new Error('the editor page crashed')));
    page.on('pageerror', (err) => seen.push(`[page error] ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') seen.push(`[browser console] ${msg.text()}`);
    });

    const payload: [string, string][] = [
      ['extensionDevelopmentPath', remoteUri(server, path.resolve(options.extensionDevelopmentPath))],
      ['extensionTestsPath', remoteUri(server, path.resolve(options.extensionTestsPath))],
      ['skipWelcome', 'true'],
    ];
    await page.goto(workbenchUrl(server, path.resolve(options.workspace), payload), { waitUntil: 'domcontentloaded' });

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`extension tests did not finish within ${timeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      return await Promise.race([finished, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    let shot = '';
    if (page && options.artifactsDir) {
      const file = path.join(options.artifactsDir, `extension-tests-${Date.now()}.png`);
      try {
        await page.screenshot({ path: file, timeout: 10_000 });
        shot = `\nscreenshot of the editor: ${file}`;
      } catch {
        // The page is gone; the output below has to do.
      }
    }
    throw new Error(
      `${(err as Error).message}\n--- last test and browser output ---\n${seen}` +
        `\n--- last code-server output ---\n${server.recentOutput()}${shot}`,
    );
  } finally {
    await browser?.close().catch(() => undefined);
    await server.stop();
  }
}

export interface EditorOptions {
  /** Folder to open. */
  folder: string;
  /** Load this extension under development (its folder holding package.json). */
  extensionDevelopmentPath?: string;
  viewport?: { width: number; height: number };
}

export interface Editor {
  readonly browser: Browser;
  readonly page: Page;
  /** Closes the browser; the server is the caller's to stop. */
  close(): Promise<void>;
}

/**
 * The workbench of `server` in headless chromium, ready for UI tests: the
 * page has loaded and the activity bar is drawn. Extensions activate on
 * their own events after that, so wait for what a test looks for.
 */
export async function openEditor(server: CodeServer, options: EditorOptions): Promise<Editor> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 900 } });
    const page = await context.newPage();
    const payload: [string, string][] = [['skipWelcome', 'true']];
    if (options.extensionDevelopmentPath) {
      payload.unshift(['extensionDevelopmentPath', remoteUri(server, path.resolve(options.extensionDevelopmentPath))]);
    }
    await page.goto(workbenchUrl(server, path.resolve(options.folder), payload), { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench .activitybar').waitFor({ state: 'visible', timeout: 60_000 });
    return { browser, page, close: () => browser.close() };
  } catch (err) {
    await browser.close().catch(() => undefined);
    throw err;
  }
}
