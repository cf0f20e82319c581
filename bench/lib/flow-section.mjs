// The "Flow control: a rate limit of 100/s" section of results.md, drawn from bench/results-flow.json (bench/flow-rate.mjs).

const BEGIN = '<!-- flow-rate: written by bench/flow-rate.mjs -->';
const END = '<!-- /flow-rate -->';

/** The section for one flow-rate run. */
export function flowSection(run) {
  const rows = run.rows.map((row) => {
    const most = `${row.mostInWindow} (${((row.mostInWindow / run.limit) * 100).toFixed(1)}% of the limit)`;
    const rate = `${row.steadyPerSecond}/s (${((row.steadyPerSecond / run.limit) * 100).toFixed(1)}%)`;
    const workers = row.perWorker === undefined ? '-' : row.perWorker.join(' + ');
    const atRedis = row.mostInWindowAtRedis === undefined ? '-' : `${row.mostInWindowAtRedis}; ${row.shortestSpanAtRedis} ms`;
    return `| ${row.label} | ${row.started} | ${most}; ${row.shortestSpan} ms | ${atRedis} | ${rate} | ${workers} |`;
  });
  return [
    BEGIN,
    '',
    `## Flow control: a rate limit of ${run.limit} starts per ${run.per} ms`,
    '',
    `\`node bench/flow-rate.mjs\` on ${run.date} (commit ${run.commit}, ${run.node}, load average ${run.loadAverage}: the machine was shared and loaded).`,
    `More tasks than the limit lets through are added at once; every task records its start. Over the first ${run.seconds} s from the first start:`,
    "how many started; the most starts in any window of the limit's length (sliding, on the recorded starts: the limit holds when it is at most",
    'the limit) and the shortest time in which limit + 1 starts happened (at least the window when the limit holds); the steady rate after the',
    'first window (the limit holds within 5% when it is 95% to 100% of the limit).',
    '',
    `| where | started | most starts in any ${run.per} ms; shortest span of ${run.limit + 1} starts (the tasks' clocks) | the same as Redis granted them | steady rate | starts per worker |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...(run.notes ?? []).flatMap((note) => [note, '']),
    END,
  ].join('\n');
}

/** results.md with the flow section in place of the previous one (or appended). */
export function spliceFlowSection(markdown, section) {
  const begin = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (begin === -1 || end === -1) return `${markdown.trimEnd()}\n\n${section}\n`;
  return `${markdown.slice(0, begin)}${section}${markdown.slice(end + END.length)}`;
}
