// Build step: copies the dashboard's own static files, and uPlot's (with its licence), next to the compiled dashboard.
import { cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const target = path.join(root, 'dist', 'dashboard', 'assets');
mkdirSync(path.join(target, 'vendor'), { recursive: true });
cpSync(path.join(root, 'lib', 'dashboard', 'assets'), target, { recursive: true });
const uplot = path.dirname(require.resolve('uplot/package.json'));
for (const file of ['dist/uPlot.iife.min.js', 'dist/uPlot.min.css'])
  cpSync(path.join(uplot, file), path.join(target, 'vendor', path.basename(file)));
cpSync(path.join(uplot, 'LICENSE'), path.join(target, 'vendor', 'uPlot.LICENSE'));
