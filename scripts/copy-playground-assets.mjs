// Part of `npm run build`: tsc compiles only TypeScript, so the playground's page files are copied beside the
// compiled server (dist/playground/assets), where it looks for them at run time.
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const from = path.join(root, 'src/playground/assets');
const to = path.join(path.resolve(root, process.argv[2] ?? 'dist'), 'playground/assets');
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
