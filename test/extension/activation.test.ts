import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import pkg from '../../package.json';

const extensionId = `${pkg.publisher}.${pkg.name}`;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Lifeboat in the editor', () => {
  it(`is installed as ${extensionId} and activates`, async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension, `extension ${extensionId} is not loaded; is extensionDevelopmentPath the repository root?`);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it('writes its version to the Lifeboat output channel when it activates', async () => {
    await vscode.extensions.getExtension(extensionId)!.activate();
    // The workbench registers a "show" command per output channel; showing it opens the channel as a document.
    const show = `workbench.action.output.show.${extensionId}.Lifeboat`;
    await until(`the Lifeboat output channel (command ${show})`, async () =>
      (await vscode.commands.getCommands(true)).includes(show) ? true : undefined,
    );
    await vscode.commands.executeCommand(show);
    const text = await until('the Lifeboat output channel to show its activation line', () => {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output' && d.uri.path.includes(extensionId));
      return doc?.getText().includes(`Lifeboat ${pkg.version}`) ? doc.getText() : undefined;
    });
    assert.match(text, new RegExp(`Lifeboat ${pkg.version.replace(/\./g, '\\.')} activated`));
  });

  it('runs with the sandbox clusters in its kubeconfig', function () {
    if (!process.env.KUBECONFIG) this.skip();
    const kubeconfig = parse(readFileSync(process.env.KUBECONFIG!, 'utf8')) as { contexts: { name: string }[] };
    assert.deepEqual(
      kubeconfig.contexts.map((c) => c.name).sort(),
      ['sandbox-dev', 'sandbox-dev-restricted', 'sandbox-prod', 'sandbox-prod-restricted'],
    );
  });
});
