// README as users read it: on the registry's page (only the tarball's files are there) and pasted into a TypeScript ESM project.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './support.js';

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const files: string[] = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).files;

it('links only to URLs, anchors, or files that are in the npm tarball', () => {
  const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
  const relative = targets.filter((target) => !/^(https?:|mailto:|#)/.test(target));
  const outside = relative.filter((target) => !files.some((entry) => target === entry || target.startsWith(`${entry}/`)));
  expect(outside).toEqual([]);
});

it("imports relative modules with their .js extension in every TypeScript snippet (nodenext's rule)", () => {
  const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
  expect(snippets.length).toBeGreaterThan(0);
  const imports = snippets.flatMap((code) => [...code.matchAll(/from '(\.{1,2}\/[^']*)'/g)].map((match) => match[1]!));
  expect(imports.filter((specifier) => !specifier.endsWith('.js'))).toEqual([]);
});

// The kit's examples (README "Testing your app") are this repository's tests: the README shows them as they are,
// with the package's import specifiers instead of the repository's relative ones.
it.each(['tasks.ts', 'thread-tasks.ts', 'app.ts', 'jest.test.ts', 'node-test.spec.ts'])(
  'README shows __tests__/kit-examples/%s as it is',
  (file) => {
    const source = readFileSync(path.join(ROOT, '__tests__/kit-examples', file), 'utf8');
    const body = source
      .replace(/^\/\/.*\n/, '') // the file's purpose line
      .replace(/^import [\s\S]*?;\n/gm, '') // import specifiers differ
      .trim();
    const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!.replace(/^import [\s\S]*?;\n/gm, ''));
    expect(snippets.some((snippet) => snippet.includes(body))).toBe(true);
  },
);
