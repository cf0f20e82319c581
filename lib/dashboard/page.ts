// The dashboard's one HTML document: markup only; its script and styles are files of their own (no inline code, so
// that it works under `Content-Security-Policy: default-src 'self'`).
import type { Assets } from './assets.js';

/** What the page needs to know, passed through <meta> tags that its script reads. */
export interface PageSettings {
  /** Where the router is mounted (req.baseUrl), for absolute URLs that do not depend on a trailing slash. */
  readonly base: string;
  readonly token: string;
  readonly actions: boolean;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** The policy set on the page when the app has set none: the page needs nothing beyond its own origin. */
export const PAGE_POLICY =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function renderPage(assets: Assets, settings: PageSettings): string {
  const base = escapeHtml(settings.base);
  const asset = (key: keyof Assets['names']): string => `${base}/assets/${assets.names[key]}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="tasks-dashboard-base" content="${base}">
<meta name="tasks-dashboard-token" content="${escapeHtml(settings.token)}">
<meta name="tasks-dashboard-actions" content="${settings.actions}">
<title>Background tasks</title>
<link rel="icon" type="image/svg+xml" href="${asset('icon')}">
<link rel="stylesheet" href="${asset('chartStyles')}">
<link rel="stylesheet" href="${asset('styles')}">
<script defer src="${asset('chart')}"></script>
<script defer src="${asset('script')}"></script>
</head>
<body>
<header>
  <h1>Background tasks</h1>
  <span id="connection" class="connection" data-state="connecting">connecting</span>
</header>
<main>
  <section aria-labelledby="counters-title">
    <h2 id="counters-title" class="visually-hidden">Counters</h2>
    <dl id="counters" class="counters">
      <div data-counter="queued"><dt>Queued</dt><dd>-</dd></div>
      <div data-counter="running"><dt>Running</dt><dd>-</dd></div>
      <div data-counter="succeeded"><dt>Succeeded</dt><dd>-</dd></div>
      <div data-counter="failed"><dt>Failed</dt><dd>-</dd></div>
      <div data-counter="timedOut"><dt>Timed out</dt><dd>-</dd></div>
      <div data-counter="skipped"><dt>Skipped</dt><dd>-</dd></div>
    </dl>
  </section>
  <section aria-labelledby="throughput-title">
    <h2 id="throughput-title">Finished per minute, last hour</h2>
    <div id="throughput" class="chart"></div>
  </section>
  <section aria-labelledby="running-title">
    <h2 id="running-title">Running now <span id="running-count" class="count"></span></h2>
    <table id="running">
      <thead><tr><th>Task</th><th>Where</th><th>Started</th><th>Elapsed</th><th>Progress</th><th>Request</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="running-empty" class="empty">Nothing is running.</p>
  </section>
  <section aria-labelledby="names-title">
    <h2 id="names-title">By task name</h2>
    <table id="names">
      <thead><tr><th>Task</th><th>Succeeded</th><th>Failed</th><th>Timed out</th><th>Skipped</th><th>Enqueued</th><th>p50</th><th>p95</th><th>Max</th><th>Last failure</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section aria-labelledby="tasks-title">
    <h2 id="tasks-title">Tasks</h2>
    <form id="filter" class="filter">
      <label>Name <select id="filter-name" name="name"><option value="">all</option></select></label>
      <label>State <select id="filter-state" name="state">
        <option value="failures" selected>failed or timed out</option>
        <option value="running">running</option>
        <option value="succeeded">succeeded</option>
        <option value="failed">failed</option>
        <option value="timedOut">timed out</option>
        <option value="skipped">skipped</option>
        <option value="enqueued">enqueued</option>
        <option value="all">all</option>
      </select></label>
      <label>Task id <input id="filter-id" name="id" type="search" autocomplete="off" spellcheck="false" placeholder="id or its start"></label>
    </form>
    <ol id="tasks" class="tasks"></ol>
    <p id="tasks-empty" class="empty">No task matches.</p>
  </section>
  <section id="queue" aria-labelledby="queue-title" hidden>
    <h2 id="queue-title">Queue <span id="queue-name" class="count"></span></h2>
    <p id="queue-error" class="error" hidden></p>
    <dl id="queue-counts" class="counters">
      <div data-counter="waiting"><dt>Waiting</dt><dd>-</dd></div>
      <div data-counter="active"><dt>Active</dt><dd>-</dd></div>
      <div data-counter="delayed"><dt>Delayed</dt><dd>-</dd></div>
      <div data-counter="failed"><dt>Failed</dt><dd>-</dd></div>
      <div data-counter="completed"><dt>Completed</dt><dd>-</dd></div>
    </dl>
    <h3>Latest failed jobs</h3>
    <ol id="queue-failed" class="tasks"></ol>
    <p id="queue-failed-empty" class="empty">No failed job.</p>
  </section>
  <p id="notice" class="notice" role="status" hidden></p>
</main>
</body>
</html>
`;
}
