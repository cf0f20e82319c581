// The page's static files (its script, styles and icon, and uPlot's): read and hashed once per router, served under
// long-cache names that change with their content.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';

/** Our own files: next to this module in lib/ and in the build (the build copies them, and uPlot's, to dist/). */
const OWN = path.join(__dirname, 'assets');

/** The files, by the key the page uses: [file name, content type, where it comes from]. */
const FILES = {
  script: ['dashboard.js', 'text/javascript; charset=utf-8', 'own'],
  styles: ['dashboard.css', 'text/css; charset=utf-8', 'own'],
  icon: ['icon.svg', 'image/svg+xml', 'own'],
  chart: ['uPlot.iife.min.js', 'text/javascript; charset=utf-8', 'uplot'],
  chartStyles: ['uPlot.min.css', 'text/css; charset=utf-8', 'uplot'],
} as const;

export type AssetKey = keyof typeof FILES;

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** Where uPlot's file is: copied into the build's assets/vendor, or (running from lib/) in node_modules. */
function uplotFile(name: string): string {
  const copied = path.join(OWN, 'vendor', name);
  return existsSync(copied) ? copied : require.resolve(`uplot/dist/${name}`);
}

export class Assets {
  /** The URL name of each file (`dashboard.3f2a9c1b0d4e.js`), by key. */
  readonly names: Readonly<Record<AssetKey, string>>;
  readonly #byName = new Map<string, Asset>();

  constructor() {
    const names = {} as Record<AssetKey, string>;
    for (const [key, [file, type, from]] of Object.entries(FILES) as Array<[AssetKey, (typeof FILES)[AssetKey]]>) {
      const body = readFileSync(from === 'own' ? path.join(OWN, file) : uplotFile(file));
      const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
      const dot = file.indexOf('.');
      const name = `${file.slice(0, dot)}.${hash}${file.slice(dot)}`;
      names[key] = name;
      this.#byName.set(name, { body, type });
    }
    this.names = names;
  }

  /** Answers a request for `name`; false when there is no such file. */
  serve(name: string, res: ServerResponse): boolean {
    const asset = this.#byName.get(name);
    if (asset === undefined) return false;
    res.statusCode = 200;
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Content-Length', asset.body.length);
    // The name changes with the content: cache for a year, in the browser only (they are served behind authorize()).
    res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.end(asset.body);
    return true;
  }
}

let loaded: Assets | undefined;

/** The files, read at the first router made and shared by every router after it. */
export function loadAssets(): Assets {
  loaded ??= new Assets();
  return loaded;
}
