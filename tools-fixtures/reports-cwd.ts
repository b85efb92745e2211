// Returns its working directory and TMPDIR.
export default function reportsCwd() {
  return { cwd: process.cwd(), tmpdir: process.env['TMPDIR'] ?? null };
}
