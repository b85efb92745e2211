/**
 * The layers of src/ point one way (docs/architecture.md): errors below everything, the sandbox
 * above errors only, the runtime above both; the Bun side (worker, launcher) stands alone; and
 * no module imports itself through a cycle.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { findCycles, importGraph, importsInto, isUnder } from './helpers/import-graph.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const graph = importGraph(SRC);
const BUN_SIDE = ['runtime/worker', 'runtime/launcher', 'build/builder.ts'];
// What the Bun side shares with Node code: the messages it exchanges with the manager (types).
const SHARED = ['runtime/worker/protocol.ts', 'build/build-protocol.ts'];
const edges = [...graph.entries()].flatMap(([file, imports]) =>
  imports.map((target) => ({ file, target })),
);
const show = ({ file, target }: { file: string; target: string }): string => `${file} → ${target}`;

describe('the layers of src/', () => {
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
