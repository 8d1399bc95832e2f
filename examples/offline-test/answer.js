// The app under test: answers a question from a knowledge base with a Bedrock model. In production
// `clientConfig` is empty (the SDK's region and credential chain); the test passes the emulator's.
import { BedrockConverseGenerator, LocalKnowledgeBase } from 'localkb';

export async function openAssistant(dbPath, clientConfig = {}) {
  return LocalKnowledgeBase.open(dbPath, {
    embedder: 'none',
    generation: {
      generator: new BedrockConverseGenerator({
        modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
        clientConfig,
      }),
    },
  });
}
