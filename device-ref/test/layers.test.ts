// device-ref's layers run one way (device-ref/README.md, "Layers"): every source file says
// its layer in its first line, and imports only from its own layer and the layers below. The
// device imports nothing outside device-ref but the generated dist/ts.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';
import { findPackageRoot } from '../package-root.js';

/** Bottom to top. A file may import from its own layer and those before it. */
const LAYERS = ['base', 'platform', 'virtio', 'iommu', 'board', 'qtest', 'cli'] as const;
type Layer = (typeof LAYERS)[number];

/** The layer of a source file, by its path under device-ref/; undefined for tests. */
function layerOf(path: string): Layer | undefined {
  const [top] = path.split('/');
  if (top === 'test') return undefined;
  if (path === 'hex.ts' || path === 'package-root.ts') return 'base';
  if (path === 'cli.ts' || top === 'fuzz') return 'cli';
  const layer = LAYERS.find((name) => name === top);
  if (layer === undefined) throw new Error(`device-ref/${path}: no layer for this folder`);
  return layer;
}

const root = findPackageRoot();
const deviceRef = join(root, 'device-ref');

/** Every TypeScript source under device-ref/, as `folder/file.ts` with forward slashes. */
const sources = readdirSync(deviceRef, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.ts'))
  .map((name) => name.split(sep).join('/'))
  .sort();

interface Import {
  /** The importing file, under device-ref/. */
  from: string;
  /** The module as written. */
  specifier: string;
  /** A relative import's file from the package root (`device-ref/board/board.ts`). */
  resolved?: string;
}

function importsOf(path: string): Import[] {
  const text = readFileSync(join(deviceRef, path), 'utf8');
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName: specifier }) => {
    if (!specifier.startsWith('.')) return { from: path, specifier };
    const file = normalize(join('device-ref', dirname(path), specifier)).replace(/\.js$/, '.ts');
    return { from: path, specifier, resolved: file.split(sep).join('/') };
  });
}

const imports = sources.flatMap(importsOf);

describe('device-ref layers', () => {
  it('finds the sources and their imports', () => {
    assert.ok(sources.includes('platform/guest-ram.ts'));
    assert.ok(sources.includes('board/board.ts'));
    assert.ok(imports.length > 200, `${imports.length} imports`);
  });

  it('every source file says its layer in its first line', () => {
    const wrong = sources.flatMap((path) => {
      const layer = layerOf(path);
      if (layer === undefined) return [];
      const first = readFileSync(join(deviceRef, path), 'utf8').split('\n', 1)[0];
      return first === `// Layer: ${layer}.` ? [] : [`device-ref/${path}: "${first}"`];
    });
    assert.deepEqual(wrong, [], 'the first line should be "// Layer: <its layer>."');
  });

  it('no layer imports from a layer above it', () => {
    const upward = imports.flatMap(({ from, specifier, resolved }) => {
      const layer = layerOf(from);
      if (layer === undefined || resolved === undefined || !resolved.startsWith('device-ref/'))
        return [];
      const target = layerOf(relative('device-ref', resolved).split(sep).join('/'));
      if (target === undefined)
        return [`device-ref/${from} (${layer}) imports the tests: ${specifier}`];
      return LAYERS.indexOf(target) > LAYERS.indexOf(layer)
        ? [`device-ref/${from} (${layer}) imports ${specifier} (${target})`]
        : [];
    });
    assert.deepEqual(upward, []);
  });

  it('imports nothing outside device-ref but dist/ts', () => {
    const outside = imports.flatMap(({ from, specifier, resolved }) =>
      resolved === undefined ||
      resolved.startsWith('device-ref/') ||
      resolved.startsWith('dist/ts/')
        ? []
        : [`device-ref/${from} imports ${specifier}`],
    );
    assert.deepEqual(outside, []);
  });
});
