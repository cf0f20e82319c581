// Writes the results as markdown: the machine, a summary of every figure against its target, then each scenario.
// With runs on several Node versions (one saved run per major: bench/results-node<major>.json), they sit side by side:
// one machine column and one summary column per Node, then each Node's scenarios.

function row(cells) {
  return `| ${cells.map((cell) => String(cell).replaceAll('|', '\\|')).join(' | ')} |`;
}

function table(head, rows) {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
}

function verdict(figure) {
  if (figure.met === undefined) return figure.target === undefined ? 'reported' : 'not measured';
  return figure.met ? 'met' : '**missed**';
}

const HEADER = [
  '# Benchmark results',
  '',
  '<!-- Written by `npm run bench` (bench/run.mjs); edits are overwritten by the next run. -->',
  '',
];

function sectionParts(sections, heading) {
  const parts = [];
  sections.forEach((section, i) => {
    parts.push('', `${heading} ${i + 1}. ${section.title}`, '', section.about, '', table(section.table.head, section.table.rows));
    for (const note of section.notes ?? []) parts.push('', note);
  });
  return parts;
}

/** One run: `machine` is a list of [name, value] pairs; `sections` what the scenarios returned; `failures` those that crashed. */
export function renderMarkdown({ machine, sections, failures, svgName }) {
  const parts = [
    ...HEADER,
    table(['machine and run', ''], machine),
    '',
    '## Summary',
    '',
    table(
      ['figure', 'result', 'target', ''],
      sections.flatMap((section) => section.figures.map((f) => [f.label, f.display, f.target?.display ?? '-', verdict(f)])),
    ),
    '',
    `![Ratios, drawn by the bench](${svgName})`,
  ];
  for (const failure of failures) parts.push('', `**${failure.id} crashed**: \`${failure.message}\``);
  parts.push(...sectionParts(sections, '##'));
  return `${parts.join('\n')}\n`;
}

/** Several runs, each `{ node, machine, sections, failures }` (`node`: the servers' Node major), side by side. */
export function renderRuns(runs, { svgName }) {
  if (runs.length === 1) return renderMarkdown({ ...runs[0], svgName });
  const names = runs.map((run) => `Node ${run.node}`);
  const machineNames = [...new Set(runs.flatMap((run) => run.machine.map(([name]) => name)))];
  const machineRows = machineNames.map((name) => [name, ...runs.map((run) => run.machine.find(([n]) => n === name)?.[1] ?? '-')]);
  const labels = [...new Set(runs.flatMap((run) => run.sections.flatMap((section) => section.figures.map((f) => f.label))))];
  const summaryRows = labels.map((label) => {
    let target = '-';
    const cells = runs.map((run) => {
      const f = run.sections.flatMap((section) => section.figures).find((figure) => figure.label === label);
      if (f === undefined) return '-';
      target = f.target?.display ?? target;
      return f.target === undefined ? f.display : `${f.display} (${verdict(f)})`;
    });
    return [label, ...cells, target];
  });
  const parts = [
    ...HEADER,
    `Runs on ${names.join(' and ')}: each column is a full run of its own (\`npm run bench\`, \`npm run bench -- --node=24\`) ` +
      'with the servers on that Node; each gives its date and commit.',
    '',
    table(['machine and run', ...names], machineRows),
    '',
    '## Summary',
    '',
    table(['figure', ...names, 'target'], summaryRows),
    '',
    `![Ratios, drawn by the bench](${svgName})`,
  ];
  for (const [i, run] of runs.entries()) {
    for (const failure of run.failures) parts.push('', `**${names[i]}: ${failure.id} crashed**: \`${failure.message}\``);
  }
  for (const [i, run] of runs.entries()) {
    parts.push('', `## ${names[i]}`);
    parts.push(...sectionParts(run.sections, '###'));
  }
  return `${parts.join('\n')}\n`;
}
