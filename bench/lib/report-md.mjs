// Writes the results as markdown: the machine, a summary of every figure against its target, then each scenario.

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

/** `machine` is a list of [name, value] pairs; `sections` what the scenarios returned; `failures` those that crashed. */
export function renderMarkdown({ machine, sections, failures, svgName }) {
  const parts = [
    '# Benchmark results',
    '',
    '<!-- Written by `npm run bench` (bench/run.mjs); edits are overwritten by the next run. -->',
    '',
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
  sections.forEach((section, i) => {
    parts.push('', `## ${i + 1}. ${section.title}`, '', section.about, '', table(section.table.head, section.table.rows));
    for (const note of section.notes ?? []) parts.push('', note);
  });
  return `${parts.join('\n')}\n`;
}
