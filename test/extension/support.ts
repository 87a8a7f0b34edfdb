import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import pkg from '../../package.json';
import type { Host } from '../../src/extension/host';
import type { SnapshotTreeNode } from '../../src/extension/views/snapshots';

/** What the extension-host tests share: the extension's id, kubectl on the sandbox, waiting, scripted prompts. */

export const extensionId = `${pkg.publisher}.${pkg.name}`;

/** kubectl against sandbox-prod (KUBECONFIG comes from the test runner); stdout as bytes. */
export function kubectlBytes(args: string[], timeoutMs = 120_000): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    execFile(
      'kubectl',
      ['--context', 'sandbox-prod', ...args],
      { env: process.env, timeout: timeoutMs, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr.toString() || err.message}`)) : resolve(stdout)),
    ),
  );
}

export async function kubectl(...args: string[]): Promise<string> {
  return (await kubectlBytes(args)).toString('utf8');
}

/** Polls until the probe gives a value; the error names what was awaited and, when given, what was last seen. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, seen: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen() ? `; ${seen()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What a scripted host answers: quick picks by label in order, input boxes by title (else the passphrase), confirmations, open dialogs. */
export interface ScriptedAnswers {
  picks: RegExp[];
  passphrase: string;
  /** Input boxes whose title or prompt matches, in order of the list; the first match answers. */
  inputs?: Array<[RegExp, string]>;
  /** What modal confirmations answer (default: declined). */
  confirm?: boolean;
  /** What open dialogs return. */
  open?: vscode.Uri[];
}

/** Answers prompts as scripted (see ScriptedAnswers); keeps every message shown, confirmations as "confirm: …", prefilled inputs as "input: TITLE = VALUE". */
export function scriptedHost(answers: ScriptedAnswers): Host & { messages: string[] } {
  const messages: string[] = [];
  const picks = [...answers.picks];
  return {
    messages,
    showInformationMessage: async (m) => (messages.push(m), undefined),
    showWarningMessage: async (m) => (messages.push(m), undefined),
    showErrorMessage: async (m) => (messages.push(`error: ${m}`), undefined),
    showQuickPick: async (items, options) => {
      const pattern = picks.shift();
      const list = await items;
      const item = list.find((i) => pattern?.test(i.label));
      assert.ok(item, `no answer for "${options.title}" among ${list.map((i) => i.label).join(', ')}`);
      return item;
    },
    showInputBox: async (options) => {
      // Prefilled values are never secrets in Lifeboat's prompts: recorded so a test can check them.
      if (options.value) messages.push(`input: ${options.title ?? ''} = ${options.value}`);
      const asked = `${options.title ?? ''}\n${options.prompt ?? ''}`;
      const answer = answers.inputs?.find(([pattern]) => pattern.test(asked));
      return answer ? answer[1] : answers.passphrase;
    },
    withProgress: (options, task) => vscode.window.withProgress(options, task),
    confirm: async (message, detail) => (messages.push(`confirm: ${message} ${detail}`), answers.confirm ?? false),
    showOpenDialog: async () => answers.open,
  };
}

/** A snapshot's node in the Snapshots view (repository → cluster → day → snapshot), found by id prefix; fails the test when absent. */
export async function findSnapshotNode(
  children: (node?: SnapshotTreeNode) => Promise<SnapshotTreeNode[]>,
  snapshotId: string,
): Promise<Extract<SnapshotTreeNode, { type: 'snapshot' }>> {
  for (const repo of await children()) {
    for (const cluster of await children(repo)) {
      for (const day of await children(cluster)) {
        for (const snap of await children(day)) {
          if (snap.type === 'snapshot' && snap.snapshot.id.startsWith(snapshotId)) return snap;
        }
      }
    }
  }
  assert.fail(`snapshot ${snapshotId} is not in the tree`);
}
