// Makes the CLI executable after tsc (tsc does not keep modes).
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
