import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kbError } from '../errors.js';

/** The page's files: a fixed list, so no request path can name anything else on disk. */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'charts.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

export interface StaticAsset {
  body: Buffer;
  contentType: string;
}

/** Beside this module: src/playground/assets when run from source, dist/playground/assets once built. */
export function assetsFolder(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');
}

/** Reads every asset once at start-up; a missing file means a broken install, said so now rather than per request. */
export function loadStaticAssets(folder = assetsFolder()): ReadonlyMap<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  for (const [name, contentType] of Object.entries(ASSETS)) {
    const file = path.join(folder, name);
    if (!existsSync(file)) {
      throw kbError(
        'FILE_NOT_FOUND',
        `The playground page file ${file} is missing; reinstall localkb (or run npm run build in a checkout).`,
        { input: file },
      );
    }
    assets.set(name, { body: readFileSync(file), contentType });
  }
  return assets;
}

export const PLAYGROUND_ASSET_NAMES: readonly string[] = Object.keys(ASSETS);
