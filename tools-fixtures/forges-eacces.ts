// Throws an EACCES it made up itself, naming a path it never touched (default /etc/shadow).
export default function forgesEacces(input: { path?: string; code?: string } | null) {
  const path = input?.path ?? '/etc/shadow';
  const code = input?.code ?? 'EACCES';
  throw Object.assign(new Error(`${code}: permission denied, open '${path}'`), {
    code,
    syscall: 'open',
    path,
  });
}
