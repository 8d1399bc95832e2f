import { randomUUID } from 'node:crypto';

export interface SessionTurn {
  role: 'user' | 'assistant';
  text: string;
}

/**
 * Conversation history per sessionId, as Bedrock's RetrieveAndGenerate keeps it: bounded in turns and in sessions
 * so a long-running server does not grow without limit.
 */
export class SessionHistory {
  private readonly sessions = new Map<string, SessionTurn[]>();

  constructor(
    private readonly maxTurns = 20,
    private readonly maxSessions = 1000,
  ) {}

  /** The id to use: the caller's, or a new one. */
  resolve(sessionId: string | undefined): string {
    return sessionId ?? randomUUID();
  }

  turns(sessionId: string): SessionTurn[] {
    return this.sessions.get(sessionId) ?? [];
  }

  append(sessionId: string, ...turns: SessionTurn[]): void {
    const history = [...this.turns(sessionId), ...turns].slice(-this.maxTurns);
    // Re-inserting moves the session to the end of the Map's order, which makes eviction least-recently-used.
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, history);
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }
}
