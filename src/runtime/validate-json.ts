/**
 * Checks that a value survives JSON unchanged: what a tool receives must be what the caller
 * passed, not a silently lossy copy (a Map that became `{}`, a NaN that became `null`).
 * Returns a description of the first offending place, or undefined when the value is JSON.
 */
export function findNonJson(
  value: unknown,
  path = '$',
  seen = new Set<object>(),
): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : `${path} is ${String(value)} (not a finite number)`;
    case 'undefined':
      return `${path} is undefined`;
    case 'bigint':
    case 'symbol':
    case 'function':
      return `${path} is a ${typeof value}`;
    case 'object':
      break;
  }
  if (value === null) return undefined;
  if (seen.has(value)) return `${path} is a circular reference`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        const problem = findNonJson(value[index], `${path}[${index}]`, seen);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype !== Object.prototype && prototype !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `${path} is a ${name}, not a plain object`;
    }
    for (const [key, item] of Object.entries(value)) {
      // An undefined property is simply absent in JSON, as in every JSON API.
      if (item === undefined) continue;
      const problem = findNonJson(item, `${path}.${key}`, seen);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}
