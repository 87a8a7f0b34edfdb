import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/**
 * The page of a Lifeboat webview panel: one bundled script
 * (dist/webviews/NAME.js) and the panels' stylesheet (media/panels.css),
 * under a Content Security Policy that runs only that script (by nonce) and
 * loads nothing but the extension's own files. The panels render their
 * data with DOM APIs, never as HTML strings, so nothing a snapshot holds
 * (names, YAML) can become markup.
 */

/** Webview options every panel uses: scripts on, resources only from the extension's dist/ and media/. */
export function panelOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    retainContextWhenHidden: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** A fresh random nonce: 128 bits, base64. */
export function nonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The Content-Security-Policy of a panel. The elements library styles its
 * components through constructable stylesheets (adoptedStyleSheets), which
 * `style-src` does not govern, so no 'unsafe-inline' is needed.
 */
export function contentSecurityPolicy(cspSource: string, scriptNonce: string): string {
  return [`default-src 'none'`, `script-src 'nonce-${scriptNonce}'`, `style-src ${cspSource}`, `img-src ${cspSource} data:`, `font-src ${cspSource}`].join('; ');
}

export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, name: string, title: string): string {
  const n = nonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webviews', `${name}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panels.css'));
  const escape = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(webview.cspSource, n)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>${escape(title)}</title>
</head>
<body>
<main id="root" aria-busy="true"></main>
<script nonce="${n}" src="${script.toString()}"></script>
</body>
</html>`;
}
