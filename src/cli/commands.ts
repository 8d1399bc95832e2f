/** The CLI's commands, each loaded on first use, with the summary `localkb --help` lists. */

export type Command = (argv: string[]) => Promise<number | undefined>;

// Commands load on demand: `localkb stats` should not pay for the AWS SDK or ONNX runtime.
const lazy =
  <K extends string>(load: () => Promise<Record<K, Command>>, name: K): Command =>
  async (argv) =>
    (await load())[name](argv);

export const COMMANDS: Record<string, { run: Command; summary: string }> = {
  ingest: {
    run: lazy(() => import('./commands/ingest.js'), 'ingestCommand'),
    summary: 'ingest files or folders into a local knowledge base',
  },
  query: {
    run: lazy(() => import('./commands/query.js'), 'queryCommand'),
    summary: 'retrieve the chunks that best match a query',
  },
  ask: {
    run: lazy(() => import('./commands/ask.js'), 'askCommand'),
    summary: 'answer a question with citations (retrieve and generate)',
  },
  stats: {
    run: lazy(() => import('./commands/stats.js'), 'statsCommand'),
    summary: 'show what a knowledge base holds',
  },
  list: {
    run: lazy(() => import('./commands/list.js'), 'listCommand'),
    summary: 'list the stored documents: ids, sources, titles, chunk counts',
  },
  delete: {
    run: lazy(() => import('./commands/delete.js'), 'deleteCommand'),
    summary: 'delete documents by id',
  },
  eval: {
    run: lazy(() => import('./commands/eval.js'), 'evalCommand'),
    summary: 'evaluate retrieval on a BEIR dataset',
  },
  serve: {
    run: lazy(() => import('./commands/serve.js'), 'serveCommand'),
    summary: 'serve a knowledge base over the bedrock-agent-runtime wire protocol',
  },
  emulator: {
    run: lazy(() => import('./commands/emulator.js'), 'emulatorCommand'),
    summary: 'start the offline Amazon Bedrock emulator',
  },
  models: {
    run: lazy(() => import('./commands/models.js'), 'modelsCommand'),
    summary: 'list Bedrock foundation models and inference profiles',
  },
  finetune: {
    run: lazy(() => import('./commands/finetune.js'), 'finetuneCommand'),
    summary: 'validate fine-tuning data; create, watch, list and stop Bedrock customization jobs',
  },
  provisioned: {
    run: lazy(() => import('./commands/provisioned.js'), 'provisionedCommand'),
    summary: 'create, watch, list, update and delete Bedrock provisioned throughput',
  },
  playground: {
    run: lazy(() => import('./commands/playground.js'), 'playgroundCommand'),
    summary: 'open a local web page to search, ask, compare prompts and read evaluations',
  },
  demo: {
    run: lazy(() => import('./commands/demo.js'), 'demoCommand'),
    summary: 'ingest the bundled example corpus and run a few questions',
  },
};
