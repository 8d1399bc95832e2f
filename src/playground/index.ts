export type { PlaygroundGenerator } from './playground-api.js';
export { type Playground, type PlaygroundOptions, startPlayground } from './playground-server.js';
