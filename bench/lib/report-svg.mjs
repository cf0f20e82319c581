// Draws the charted ratios as a horizontal bar chart in plain SVG, by hand: one bar per ratio, its target ticked.

const WIDTH = 980;
const LABEL_WIDTH = 440;
const PLOT_LEFT = LABEL_WIDTH + 10;
const PLOT_WIDTH = 360;
const VALUE_LEFT = PLOT_LEFT + PLOT_WIDTH + 12;
const ROW = 30;
const BAR = 16;
const TOP = 62;

const COLOURS = { met: '#2e7d32', missed: '#c62828', none: '#78909c' };

function xml(text) {
  return String(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll("'", '&apos;')
    .replaceAll('"', '&quot;');
}

/** `figures` are ratios (1.0 = the same as the reference); `subtitle` says where they were measured. */
export function renderSvg({ figures, subtitle }) {
  const values = figures.flatMap((f) => [f.value, f.target?.value]).filter(Number.isFinite);
  // Ratios sit near 1.0: the axis starts below the smallest one (at a multiple of 0.1, said on the axis) so differences show.
  const max = Math.max(1.2, Math.ceil(Math.max(...values, 0) * 10) / 10 + 0.1);
  const min = Math.max(0, Math.min(0.8, Math.floor(Math.min(...values, 1) * 10) / 10 - 0.1));
  const x = (value) => PLOT_LEFT + ((Math.min(Math.max(min, value), max) - min) / (max - min)) * PLOT_WIDTH;
  const bottom = TOP + figures.length * ROW;
  const height = bottom + 80;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12" role="img" aria-labelledby="title">`,
    `<title id="title">${xml(`Benchmark ratios: ${figures.map((f) => `${f.label} ${f.display}`).join('; ')}`)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">express-background-tasks: ratios to the reference (1.0 = the same)</text>`,
    `<text x="16" y="44" fill="#555555">${xml(subtitle)}</text>`,
  ];
  for (let tenths = Math.round(min * 10); tenths <= Math.round(max * 10); tenths++) {
    const tx = x(tenths / 10).toFixed(1);
    out.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${bottom}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${tx}" y="${bottom + 16}" text-anchor="middle" fill="#555555">${(tenths / 10).toFixed(1)}</text>`);
  }
  if (min > 0) out.push(`<text x="${PLOT_LEFT}" y="${bottom + 32}" fill="#555555">(the axis starts at ${min.toFixed(1)})</text>`);
  const parity = x(1).toFixed(1);
  out.push(`<line x1="${parity}" y1="${TOP - 6}" x2="${parity}" y2="${bottom}" stroke="#424242" stroke-dasharray="4 3"/>`);
  figures.forEach((figure, i) => {
    const y = TOP + i * ROW;
    const colour = figure.met === undefined ? COLOURS.none : figure.met ? COLOURS.met : COLOURS.missed;
    const end = x(Number.isFinite(figure.value) ? figure.value : 0);
    out.push(`<text x="${LABEL_WIDTH}" y="${y + BAR - 3}" text-anchor="end">${xml(figure.label)}</text>`);
    out.push(`<rect x="${PLOT_LEFT}" y="${y}" width="${(end - PLOT_LEFT).toFixed(1)}" height="${BAR}" fill="${colour}"/>`);
    const target = figure.target === undefined ? '' : `  (target ${figure.target.display})`;
    out.push(`<text x="${VALUE_LEFT}" y="${y + BAR - 3}">${xml(figure.display + target)}</text>`);
    if (figure.target !== undefined) {
      const tx = x(figure.target.value).toFixed(1);
      out.push(`<line x1="${tx}" y1="${y - 3}" x2="${tx}" y2="${y + BAR + 3}" stroke="#000000" stroke-width="2.5"/>`);
    }
  });
  const legend = bottom + 56;
  const swatches = [
    [COLOURS.met, 'target met'],
    [COLOURS.missed, 'target missed'],
    [COLOURS.none, 'reported, no target'],
  ];
  swatches.forEach(([colour, text], i) => {
    const lx = 16 + i * 170;
    out.push(`<rect x="${lx}" y="${legend - 10}" width="12" height="12" fill="${colour}"/>`);
    out.push(`<text x="${lx + 18}" y="${legend}">${xml(text)}</text>`);
  });
  out.push(`<line x1="526" y1="${legend - 11}" x2="526" y2="${legend + 3}" stroke="#000000" stroke-width="2.5"/>`);
  out.push(`<text x="534" y="${legend}">target</text>`);
  out.push(`<line x1="600" y1="${legend - 4}" x2="624" y2="${legend - 4}" stroke="#424242" stroke-dasharray="4 3"/>`);
  out.push(`<text x="630" y="${legend}">1.0</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
