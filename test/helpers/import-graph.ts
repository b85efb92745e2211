/**
 * The import graph of src/, read with TypeScript's own pre-processor (static imports, `import
 * type`, `export … from`, and `import('literal')`), for the layer rules in test/layers.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Every .ts file under `root` (as paths relative to `root`) and the files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** The graph of the .ts files under `root`; only relative imports are edges (packages are not). */
export function importGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(root)) {
    const text = readFileSync(join(root, file), 'utf8');
    const imports = ts
      .preProcessFile(text, true, true)
      .importedFiles.map((entry) => entry.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) =>
        relative(root, resolve(root, dirname(file), specifier)).replace(/\.js$/, '.ts'),
      );
    graph.set(file, [...new Set(imports)]);
  }
  return graph;
}

/** Every import cycle, each as the path that closes it (`a.ts → b.ts → a.ts`). */
export function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'visiting');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const seen = state.get(next);
      if (seen === 'visiting') cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (seen === undefined && graph.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** The imports that break a rule: from files under `from` to files under any of `forbidden`. */
export function importsInto(
  graph: ImportGraph,
  from: string,
  forbidden: readonly string[],
): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    if (!isUnder(file, from)) continue;
    for (const target of imports) {
      if (forbidden.some((dir) => isUnder(target, dir))) found.push(`${file} → ${target}`);
    }
  }
  return found;
}

/** True when `file` is `dir` itself or lies below it (paths relative to the same root). */
export function isUnder(file: string, dir: string): boolean {
  return file === dir || file.startsWith(`${dir}/`);
}

function tsFiles(root: string, dir = ''): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) return tsFiles(root, path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}
