import { randomUUID } from 'node:crypto';
import { kbError } from '../errors.js';

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

  /**
   * The id to use: a new one when the caller gives none, else the caller's, which must be one this history
   * issued. Bedrock mints every session id itself and refuses others with the words used here.
   */
  resolve(sessionId: string | undefined): string {
    if (sessionId === undefined) {
      const issued = randomUUID();
      this.append(issued);
      return issued;
    }
    if (!this.sessions.has(sessionId)) {
      throw kbError(
        'SESSION_NOT_FOUND',
        `Session with Id ${sessionId} is not valid. Please check and try again.`,
        {
          input: sessionId,
        },
      );
    }
    return sessionId;
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
