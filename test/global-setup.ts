/** Vitest globalSetup: generates the random-weight test models once, before any test file runs. */

import { ensureGeneratedModel, TEST_MODELS } from './helpers/models.js';

export function setup(): void {
  for (const { folder, shape, seed } of TEST_MODELS) ensureGeneratedModel(folder, shape, seed);
}
