// The server-rendered shells of the task panel and the login form. They carry no task data: the
// page script fetches it and builds the DOM with textContent, so nothing from a task is ever
// parsed as HTML. The strict CSP (scripts from this origin only) backs that up.

export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
} as const;

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface PanelShell {
  page: 'list' | 'task' | 'schedules';
  taskId?: string;
  /** The session's CSRF token, sent back in a header on mutations. */
  csrf?: string;
  readOnly: boolean;
  /** Whether a login exists to log out of. */
  loggedIn: boolean;
  /** Whether a login would allow changes the page cannot make now (loopback without a token). */
  offerLogin?: boolean;
}

function layout(title: string, body: string, meta = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
${meta}<link rel="stylesheet" href="/assets/panel.css">
</head>
${body}
</html>
`;
}

function header(loggedIn: boolean, offerLogin: boolean): string {
  const logout = loggedIn
    ? '<form method="post" action="/logout" class="logout"><button type="submit">Log out</button></form>'
    : offerLogin
      ? '<a class="login" href="/login" title="Reading needs no login; changes do">Log in to make changes</a>'
      : '';
  return `<header class="top"><a class="brand" href="/">openclaw-agent</a><nav><a href="/">Tasks</a><a href="/schedules">Schedules</a><a href="/queues/">Queues</a><a href="/api/openapi.json">API</a></nav>${logout}</header>`;
}

export function renderPanelShell(shell: PanelShell): string {
  const meta = [
    shell.csrf ? `<meta name="oca-csrf" content="${escapeHtml(shell.csrf)}">` : '',
    `<meta name="oca-read-only" content="${shell.readOnly ? '1' : '0'}">`,
    '<script src="/assets/ansi-terminal.js" defer></script>',
    '<script src="/assets/charts.js" defer></script>',
    '<script src="/assets/panel.js" defer></script>',
    // Runs after panel.js (deferred scripts run in order), with the helpers it leaves in window.OcaPanel.
    shell.page === 'schedules' ? '<script src="/assets/schedules.js" defer></script>' : '',
  ]
    .filter(Boolean)
    .join('\n');
  const taskAttr = shell.taskId ? ` data-task-id="${escapeHtml(shell.taskId)}"` : '';
  const title =
    shell.page === 'task'
      ? `Task ${shell.taskId?.slice(0, 8) ?? ''} · openclaw-agent`
      : shell.page === 'schedules'
        ? 'Schedules · openclaw-agent'
        : 'Tasks · openclaw-agent';
  return layout(
    title,
    `<body data-page="${shell.page}"${taskAttr}>\n${header(shell.loggedIn, shell.offerLogin ?? false)}\n<main id="app"><p class="muted">Loading…</p></main>\n</body>`,
    `${meta}\n`,
  );
}

/** What the login form asks for: the dashboard token, or (without one) the local secret. */
export type LoginKind = { kind: 'token' } | { kind: 'local'; secretPath: string };

/** The login form; `problem` says why the last try failed. */
export function renderLoginPage(next: string, login: LoginKind, problem?: 'wrong' | 'spent-link'): string {
  const local = login.kind === 'local';
  const what = local ? 'the local secret' : 'the dashboard token';
  const messages = {
    wrong: `That is not ${what}.`,
    'spent-link': 'That login link was used already, or is not the one this dashboard printed at start.',
  };
  const message = problem ? `<p class="error" role="alert">${escapeHtml(messages[problem])}</p>\n` : '';
  const help = local
    ? `<p class="muted">Reading needs no login; changes do. Open the one-time link the dashboard printed when it started, or paste the contents of <code>${escapeHtml(login.secretPath)}</code>.</p>\n`
    : '';
  return layout(
    'Log in · openclaw-agent',
    `<body class="login">
<main>
<h1>openclaw-agent</h1>
${help}<form method="post" action="/login">
<label for="token">${local ? 'Local secret' : 'Dashboard token'}</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${escapeHtml(next)}">
${message}<button type="submit">Log in</button>
</form>
</main>
</body>`,
  );
}
