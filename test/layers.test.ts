/**
 * The layers of src/ point one way (docs/architecture.md, "Layers"): each folder imports only
 * the folders its row of LAYERS names, so no two folders import each other; the Bun side
 * (worker, launcher, compiler) stands alone; and no module imports itself through a cycle.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { findCycles, importGraph, importsInto, isUnder } from './helpers/import-graph.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = `${ROOT}src`;
const graph = importGraph(SRC);
const tsconfig = (name: string): { include?: string[]; exclude?: string[] } =>
  ts.readConfigFile(`${ROOT}${name}`, (path) => ts.sys.readFile(path)).config as never;
// The Bun side: the one list is tsconfig.bun.json's `include`.
const BUN_FILES = tsconfig('tsconfig.bun.json').include ?? [];
const BUN_SIDE = BUN_FILES.filter((path) => path.startsWith('src/')).map((path) => path.slice(4));
// What the Bun side shares with Node code: the messages it exchanges with the manager (types).
const SHARED = ['runtime/worker/protocol.ts', 'bundling/compiler-protocol.ts'];
const edges = [...graph.entries()].flatMap(([file, imports]) =>
  imports.map((target) => ({ file, target })),
);
const show = ({ file, target }: { file: string; target: string }): string => `${file} → ${target}`;

/** The layer table of docs/architecture.md: what each folder (or top-level file) may import. */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  network: ['errors'],
  sandbox: ['errors', 'network'],
  bundling: ['errors', 'sandbox'],
  telemetry: ['errors'],
  metrics: ['errors', 'telemetry'],
  tracing: ['errors', 'telemetry'],
  runtime: ['errors', 'network', 'sandbox', 'bundling', 'metrics', 'tracing'],
  engine: ['errors', 'telemetry'],
  temporal: ['errors', 'sandbox', 'runtime', 'telemetry'],
  'tool-types': [],
  index: ['errors', 'network', 'sandbox', 'runtime', 'tool-types'],
  cli: ['errors', 'network', 'sandbox', 'bundling', 'runtime', 'telemetry', 'temporal'],
  demo: ['errors', 'sandbox', 'runtime', 'cli'],
};
const areaOf = (file: string): string => file.split('/')[0]!.replace(/\.ts$/, '');

test('tsconfig.json leaves out exactly the Bun side, which tsconfig.bun.json checks with Bun’s types', () => {
  expect(BUN_SIDE.length).toBeGreaterThan(0);
  expect(tsconfig('tsconfig.json').exclude).toEqual(BUN_FILES);
});

describe('the layers of src/', () => {
  test('each folder imports only what its row of the layer table names', () => {
    const areas = new Set([...graph.keys()].map(areaOf));
    expect([...areas].filter((area) => LAYERS[area] === undefined)).toEqual([]);
    const wrong = edges.filter((e) => {
      const [from, to] = [areaOf(e.file), areaOf(e.target)];
      return from !== to && !(LAYERS[from] ?? []).includes(to);
    });
    expect(wrong.map(show)).toEqual([]);
  });

  test('the table itself points one way: no two folders may import each other', () => {
    const both = Object.entries(LAYERS).flatMap(([from, tos]) =>
      tos.filter((to) => (LAYERS[to] ?? []).includes(from)).map((to) => `${from} ↔ ${to}`),
    );
    expect(both).toEqual([]);
  });

  test('the graph is read (a rule over an empty graph would pass for nothing)', () => {
    expect(graph.get('runtime/run-process.ts')).toContain('runtime/classify.ts');
    expect(graph.get('runtime/worker/main.ts')).toContain('runtime/worker/run.ts');
    expect(graph.get('runtime/worker/run.ts')).toContain('runtime/worker/protocol.ts');
    expect(graph.size).toBeGreaterThan(40);
  });

  test('no import cycle', () => {
    expect(findCycles(graph).map((cycle) => cycle.join(' → '))).toEqual([]);
  });

  test('src/errors imports only src/errors (the layer below everything)', () => {
    const outside = edges.filter((e) => isUnder(e.file, 'errors') && !isUnder(e.target, 'errors'));
    expect(outside.map(show)).toEqual([]);
  });

  test('src/sandbox knows nothing of the runtime, telemetry or the CLI', () => {
    expect(importsInto(graph, 'sandbox', ['runtime', 'telemetry', 'cli'])).toEqual([]);
  });

  test('src/network knows nothing of the sandbox, the runtime, telemetry or the CLI', () => {
    expect(importsInto(graph, 'network', ['sandbox', 'runtime', 'telemetry', 'cli'])).toEqual([]);
  });

  test('the Bun side imports only itself and its protocols, and Node code only the protocols', () => {
    const bunSide = (file: string): boolean => BUN_SIDE.some((dir) => isUnder(file, dir));
    const shared = (file: string): boolean => SHARED.includes(file);
    expect(
      edges.filter((e) => bunSide(e.file) && !bunSide(e.target) && !shared(e.target)).map(show),
    ).toEqual([]);
    expect(
      edges.filter((e) => !bunSide(e.file) && bunSide(e.target) && !shared(e.target)).map(show),
    ).toEqual([]);
  });
});

describe('the rules can fail', () => {
  test('a cycle is found, with its path', () => {
    const cyclic = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(findCycles(cyclic)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(
      findCycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  test('an import into a forbidden layer is named', () => {
    const graph = new Map([
      ['errors/classify.ts', ['runtime/worker/protocol.ts', 'errors/kinds.ts']],
    ]);
    expect(importsInto(graph, 'errors', ['runtime'])).toEqual([
      'errors/classify.ts → runtime/worker/protocol.ts',
    ]);
  });
});
