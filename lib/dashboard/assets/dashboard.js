// The dashboard page's script: renders the snapshots its one Server-Sent Events stream brings, the task list, the
// chart (uPlot), and sends the actions. No framework; every text goes in through textContent, never as HTML.
'use strict';

(() => {
  const meta = (name) => document.querySelector(`meta[name="tasks-dashboard-${name}"]`)?.getAttribute('content') ?? '';
  const base = meta('base');
  const token = meta('token');
  const $ = (id) => document.getElementById(id);

  const OUTCOMES = ['succeeded', 'failed', 'timedOut', 'skipped', 'enqueued'];
  const LABELS = {
    succeeded: 'succeeded',
    failed: 'failed',
    timedOut: 'timed out',
    skipped: 'skipped',
    enqueued: 'enqueued',
    running: 'running',
    queued: 'queued',
  };
  const COLORS = { succeeded: '#2da44e', failed: '#cf222e', timedOut: '#bf8700', skipped: '#8c959f', enqueued: '#1f6feb' };

  /** The server's clock minus ours, so that elapsed times do not depend on this machine's clock. */
  let clockOffset = 0;
  let latest;
  let chart;
  let listVersion;

  // ---------------------------------------------------------------------------------------------------------------
  // Small helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function cell(row, text, className) {
    const td = el('td', className, text);
    row.append(td);
    return td;
  }

  function formatMs(ms) {
    if (ms === undefined || ms === null) return '-';
    if (ms < 1) return `${Math.round(ms * 1000)} µs`;
    if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    const minutes = Math.floor(ms / 60_000);
    return minutes < 60 ? `${minutes} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function formatTime(at) {
    return at === undefined || at === null ? '-' : new Date(at).toLocaleTimeString();
  }

  function formatWhen(at) {
    return at === undefined || at === null ? '-' : new Date(at).toLocaleString();
  }

  function now() {
    return Date.now() + clockOffset;
  }

  function notice(text, isError) {
    const node = $('notice');
    node.textContent = text;
    node.hidden = false;
    node.classList.toggle('error', Boolean(isError));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Actions: POST, with the page's token in a header (a cross-site form can set neither)

  async function act(url, done) {
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'x-tasks-dashboard-token': token }, credentials: 'same-origin' });
      const body = await response.json().catch(() => ({}));
      if (response.ok) notice(done, false);
      else notice(body.error ?? `refused (${response.status})`, true);
    } catch (error) {
      notice(`the request failed: ${error.message}`, true);
    }
  }

  function actionButton(label, url, done) {
    const button = el('button', 'action', label);
    button.type = 'button';
    button.addEventListener('click', () => {
      button.disabled = true;
      act(url, done).finally(() => {
        button.disabled = false;
      });
    });
    return button;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Rendering a snapshot

  function renderCounters(container, counts) {
    for (const item of container.querySelectorAll('[data-counter]')) {
      const value = counts?.[item.dataset.counter];
      item.querySelector('dd').textContent = value === undefined ? '-' : String(value);
    }
  }

  function renderChart(minutes) {
    const xs = minutes.counts.map((_, i) => (minutes.from + i * 60_000) / 1000);
    const data = [xs, ...OUTCOMES.map((_, k) => minutes.counts.map((counts) => counts[k]))];
    const container = $('throughput');
    if (chart === undefined) {
      if (typeof window.uPlot !== 'function') return;
      chart = new window.uPlot(
        {
          width: Math.max(300, container.clientWidth),
          height: 220,
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, max)] } },
          series: [
            {},
            ...OUTCOMES.map((outcome) => ({ label: LABELS[outcome], stroke: COLORS[outcome], width: 2, points: { show: false } })),
          ],
          axes: [{}, { label: 'tasks / minute' }],
        },
        data,
        container,
      );
      window.addEventListener('resize', () => chart.setSize({ width: Math.max(300, container.clientWidth), height: 220 }));
    } else {
      chart.setData(data);
    }
  }

  function progressCell(row, task) {
    const td = cell(row, undefined, 'progress');
    if (task.progress !== undefined) {
      const bar = el('progress');
      bar.max = 1;
      bar.value = task.progress;
      td.append(bar, el('span', 'percent', `${Math.round(task.progress * 100)}%`));
    }
    if (task.message !== undefined) td.append(el('span', 'message', task.message));
    if (task.progress === undefined && task.message === undefined) td.textContent = '-';
  }

  function renderRunning(snapshot) {
    const body = $('running').querySelector('tbody');
    body.replaceChildren();
    for (const task of snapshot.running) {
      const row = el('tr');
      row.dataset.id = task.id;
      const name = cell(row, undefined, 'name');
      name.append(el('span', undefined, task.name), el('code', 'id', task.id.slice(0, 8)));
      cell(row, task.where);
      cell(row, formatTime(task.startedAt));
      const elapsed = cell(row, '', 'elapsed');
      elapsed.dataset.since = String(task.startedAt ?? '');
      progressCell(row, task);
      cell(row, `${task.method} ${task.path}`, 'request');
      const actions = cell(row, undefined, 'actions');
      if (snapshot.actions && task.where !== 'queue') {
        actions.append(actionButton('Abort', `${base}/tasks/${encodeURIComponent(task.id)}/abort`, `asked task ${task.name} to stop`));
      }
      body.append(row);
    }
    const more = snapshot.runningCount - snapshot.running.length;
    $('running-count').textContent =
      snapshot.runningCount > 0 ? `(${snapshot.runningCount}${more > 0 ? `, the first ${snapshot.running.length} shown` : ''})` : '';
    $('running-empty').hidden = snapshot.runningCount > 0;
    tickElapsed();
  }

  function tickElapsed() {
    for (const node of document.querySelectorAll('[data-since]')) {
      const since = Number(node.dataset.since);
      node.textContent = since > 0 ? formatMs(Math.max(0, now() - since)) : '-';
    }
  }

  function renderNames(names) {
    const body = $('names').querySelector('tbody');
    body.replaceChildren();
    for (const figures of names) {
      const row = el('tr');
      row.dataset.name = figures.name;
      cell(row, figures.name, 'name');
      for (const outcome of OUTCOMES) cell(row, String(figures.counts[outcome]), `number ${outcome}`);
      cell(row, formatMs(figures.p50), 'number');
      cell(row, formatMs(figures.p95), 'number');
      cell(row, formatMs(figures.max), 'number');
      cell(row, formatWhen(figures.lastFailureAt));
      body.append(row);
    }
    // The name filter offers every name seen, and keeps its choice.
    const select = $('filter-name');
    const have = new Set([...select.options].map((option) => option.value));
    for (const figures of names) {
      if (have.has(figures.name)) continue;
      const option = el('option', undefined, figures.name);
      option.value = figures.name;
      select.append(option);
    }
  }

  function errorBlock(error) {
    const block = el('div', 'error-detail');
    block.append(el('strong', 'error-name', error.name), el('span', 'error-message', `: ${error.message}`));
    if (error.stack) {
      const details = el('details', 'stack');
      details.append(el('summary', undefined, 'stack'), el('pre', undefined, error.stack));
      block.append(details);
    }
    return block;
  }

  function renderQueue(queue) {
    const section = $('queue');
    section.hidden = queue === null;
    if (queue === null) return;
    renderCounters($('queue-counts'), queue.counts);
    const error = $('queue-error');
    error.hidden = queue.error === undefined;
    error.textContent = queue.error === undefined ? '' : `The queue could not be read: ${queue.error}`;
    const list = $('queue-failed');
    list.replaceChildren();
    for (const job of queue.failed) {
      const item = el('li', 'task failed');
      item.dataset.jobId = job.id;
      const head = el('div', 'task-head');
      head.append(
        el('span', 'state', 'failed'),
        el('span', 'name', job.name),
        el('code', 'id', job.id),
        el('span', 'when', formatWhen(job.failedAt)),
        el('span', 'attempts', `${job.attempts} attempt${job.attempts === 1 ? '' : 's'}`),
      );
      if (latest?.actions && queue.canRetry) {
        head.append(
          actionButton('Retry', `${base}/queue/jobs/${encodeURIComponent(job.id)}/retry`, `job ${job.id} is waiting to run again`),
        );
      }
      item.append(head, errorBlock({ name: 'Error', message: job.reason, stack: job.stack }));
      list.append(item);
    }
    $('queue-failed-empty').hidden = queue.failed.length > 0;
  }

  function render(snapshot) {
    clockOffset = snapshot.now - Date.now();
    latest = snapshot;
    renderCounters($('counters'), snapshot.counters);
    renderChart(snapshot.minutes);
    renderRunning(snapshot);
    renderNames(snapshot.names);
    renderQueue(snapshot.queue);
    // The list follows what it shows: failures move it only when one is kept; other states on every finish.
    const state = $('filter-state').value;
    const version =
      state === 'failures' || state === 'failed' || state === 'timedOut' ? snapshot.versions.failures : snapshot.versions.finished;
    const key = `${version}/${state === 'running' || state === 'all' ? snapshot.runningCount : ''}/${state === 'running' || state === 'all' ? JSON.stringify(snapshot.running.map((task) => [task.id, task.progress, task.message])) : ''}`;
    if (key !== listVersion) {
      listVersion = key;
      void loadTasks();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The task list: asked of the server with the filter, again when what it shows has moved

  let listRequest = 0;

  async function loadTasks() {
    const request = ++listRequest;
    const params = new URLSearchParams({ state: $('filter-state').value, name: $('filter-name').value, id: $('filter-id').value.trim() });
    let body;
    try {
      const response = await fetch(`${base}/tasks?${params}`, { credentials: 'same-origin' });
      if (!response.ok) throw new Error(`status ${response.status}`);
      body = await response.json();
    } catch (error) {
      if (request === listRequest) notice(`The task list could not be loaded: ${error.message}`, true);
      return;
    }
    if (request !== listRequest) return; // a newer filter's answer is on its way
    renderTasks(body.tasks);
  }

  function renderTasks(tasks) {
    const list = $('tasks');
    list.replaceChildren();
    for (const task of tasks) {
      const item = el('li', `task ${task.state}`);
      item.dataset.id = task.id;
      item.dataset.state = task.state;
      const head = el('div', 'task-head');
      head.append(
        el('span', 'state', LABELS[task.state] ?? task.state),
        el('span', 'name', task.name),
        el('code', 'id', task.id),
        el('span', 'where', task.where),
        el('span', 'when', formatWhen(task.finishedAt ?? task.startedAt ?? task.addedAt)),
        el('span', 'attempts', `${task.attempts} attempt${task.attempts === 1 ? '' : 's'}`),
        el('span', 'request', `${task.method} ${task.path}`),
      );
      if (task.durationMs !== undefined) head.append(el('span', 'duration', formatMs(task.durationMs)));
      if (task.state === 'running' && task.progress !== undefined)
        head.append(el('span', 'percent', `${Math.round(task.progress * 100)}%`));
      if (task.state === 'running' && latest?.actions && task.where !== 'queue') {
        head.append(actionButton('Abort', `${base}/tasks/${encodeURIComponent(task.id)}/abort`, `asked task ${task.name} to stop`));
      }
      item.append(head);
      if (task.error !== undefined) item.append(errorBlock(task.error));
      list.append(item);
    }
    $('tasks-empty').hidden = tasks.length > 0;
  }

  let typing;
  $('filter').addEventListener('submit', (event) => event.preventDefault());
  $('filter-name').addEventListener('change', () => void loadTasks());
  $('filter-state').addEventListener('change', () => void loadTasks());
  $('filter-id').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => void loadTasks(), 150);
  });

  // ---------------------------------------------------------------------------------------------------------------
  // The stream: one per page; the browser reconnects by itself, and the server sends a whole snapshot each time

  const connection = $('connection');
  const source = new EventSource(`${base}/events`);
  source.addEventListener('open', () => {
    connection.dataset.state = 'live';
    connection.textContent = 'live';
  });
  source.addEventListener('error', () => {
    const closed = source.readyState === EventSource.CLOSED;
    connection.dataset.state = closed ? 'closed' : 'connecting';
    connection.textContent = closed ? 'disconnected (reload the page)' : 'reconnecting';
  });
  source.addEventListener('snapshot', (event) => render(JSON.parse(event.data)));
  setInterval(tickElapsed, 1000);
})();
