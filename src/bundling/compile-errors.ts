/**
 * What a build that cannot be used says: the builder's problems (an import that does not
 * resolve, a syntax error, a macro, a project bunfig that preloads code), and what the manager
 * refuses in a graph that did build (a secret-bearing file, a native addon, a file the bundle
 * would need beside it). Messages name files relative to the project's root.
 */
import { relative } from 'node:path';
import { isInside } from '../sandbox/permissions.js';
import type { BuildImport, BuildProblem, BuildReport } from './compiler-protocol.js';
import { secretComponent, type NameMatcher } from './secret-patterns.js';

const SHOWN_PROBLEMS = 3;

/** One line describing why a build failed. */
export function describeProblems(problems: readonly BuildProblem[], root: string): string {
  const shown = problems.slice(0, SHOWN_PROBLEMS).map((problem) => describeProblem(problem, root));
  const more = problems.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

function describeProblem(problem: BuildProblem, root: string): string {
  const file = problem.file === undefined ? undefined : shortPath(problem.file, root);
  const at =
    file === undefined
      ? ''
      : problem.line === undefined
        ? file
        : `${file}:${problem.line}:${problem.column ?? 0}`;
  switch (problem.kind) {
    case 'resolve': {
      const specifier = problem.specifier ?? '?';
      const bare = !/^(\.|\/|file:)/.test(specifier);
      return `Cannot resolve '${specifier}' from ${file ?? 'the tool'}${bare ? ' (is it installed?)' : ''}`;
    }
    case 'syntax':
      return `Syntax error in ${at}: ${problem.message}`;
    case 'macro':
      return `${at} calls a macro (an import \`with { type: 'macro' }\`); toolcage never runs code at build time`;
    case 'bunfig':
      return `${file ?? 'bunfig.toml'} ${problem.message}`;
    case 'other':
      return at === '' ? problem.message : `${at}: ${problem.message}`;
    default:
      return problem.kind satisfies never;
  }
}

/**
 * Why a graph that built cannot be kept, or undefined: it inlined a secret-bearing file, needs a
 * native addon, or emitted a file beside the bundle (the sandbox shows only the bundle).
 */
export function refusedGraph(
  report: Extract<BuildReport, { ok: true }>,
  matcher: NameMatcher,
  root: string,
): string | undefined {
  const importOf = (path: string): string => {
    const edge: BuildImport | undefined = report.imports.find(
      (candidate) => candidate.path === path,
    );
    return edge === undefined
      ? shortPath(path, root)
      : `${shortPath(edge.from, root)} imports '${edge.original}'`;
  };
  for (const input of report.inputs) {
    if (input.endsWith('.node')) {
      return `${importOf(input)}, a native addon (${shortPath(input, root)}): a sandboxed tool cannot load native code`;
    }
    const secret = secretComponent(input, root, matcher);
    if (secret !== undefined) {
      return `${importOf(input)}, a secret-bearing file (${secret}) that a tool may not see; read it at run time with a \`read\` grant instead`;
    }
  }
  const extra = report.outputs.find(
    (output) => !['entry-point', 'bytecode', 'sourcemap'].includes(output.kind),
  );
  if (extra !== undefined) {
    return `it imports a file that cannot be inlined (Bun emits it beside the bundle as ${extra.name}): a bundle is one file; read it at run time with a \`read\` grant, or register the tool with \`bundle: false\``;
  }
  return undefined;
}

/** `path` relative to the project root when it lies inside it, else as it is. */
export function shortPath(path: string, root: string): string {
  return path !== root && isInside(path, root) ? relative(root, path) : path;
}
