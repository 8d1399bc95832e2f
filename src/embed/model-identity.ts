/**
 * What a local model really is, beyond the name it was asked for: its config's name and architecture and a hash of
 * the weight file(s) it loads. Two folders with the same name and shape but other weights have other identities.
 */

import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import type { ModelIdentity } from '../types.js';
import { type ModelDtype, modelFiles } from './model-files.js';

export type { ModelIdentity };

/**
 * Feeds a file to `hash` a mebibyte at a time: weight files (external ONNX data above all) can be larger than
 * readFileSync takes (2 GiB) and need not sit in memory a second time beside the loaded model.
 */
function hashFile(hash: ReturnType<typeof createHash>, file: string): void {
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const fd = openSync(file, 'r');
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) {
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
}

/** The identity of the model in `folder` as loaded with `dtype`; `config` is its parsed config.json. */
export function modelIdentity(
  folder: string,
  dtype: ModelDtype,
  config: Record<string, unknown>,
): ModelIdentity {
  const hash = createHash('sha256');
  for (const file of weightFiles(folder, dtype)) hashFile(hash, path.join(folder, file));
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  const name = config._name_or_path ?? config.name_or_path;
  return {
    name: typeof name === 'string' && name !== '' ? name : path.basename(folder),
    architecture: String(architectures[0] ?? config.model_type ?? 'unknown'),
    dtype,
    weights: hash.digest('hex'),
  };
}

/** The ONNX files of `dtype`, with the external-data files beside them that exist (`model.onnx_data`, …). */
function weightFiles(folder: string, dtype: ModelDtype): string[] {
  return modelFiles(dtype)
    .filter((file) => file.endsWith('.onnx'))
    .flatMap((file) => [file, `${file}_data`, `${file}.data`])
    .filter((file) => existsSync(path.join(folder, file)));
}

/** One line a person can compare: `name (architecture, dtype, weights sha256 0123456789ab)`. */
export function describeModelIdentity(identity: ModelIdentity): string {
  return `${identity.name} (${identity.architecture}, ${identity.dtype}, weights sha256 ${identity.weights.slice(0, 12)})`;
}
