/** Faults armed on the emulator, each for a number of matching calls. */

export type ModelMatcher = string | RegExp | undefined;

export type Fault =
  | { kind: 'throttle' }
  | { kind: 'throttleShare'; share: number; random: () => number }
  | { kind: 'error'; errorType: string; status: number; message?: string }
  | { kind: 'failStreamAfter'; events: number; exceptionType?: string | undefined; message: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'malformed' };

/** What a fault applies to: calls whose ids match `model` and whose operation name matches `operation`. */
export interface FaultScope {
  model?: ModelMatcher;
  operation?: ModelMatcher;
}

export type FaultKind = Fault['kind'];

interface ArmedFault {
  fault: Fault;
  remaining: number;
  model: ModelMatcher;
  operation: ModelMatcher;
}

/** True when the matcher is absent or matches any of the ids naming this call (requested id, base id). */
export function matchesModel(matcher: ModelMatcher, ids: readonly string[]): boolean {
  if (matcher === undefined) return true;
  return ids.some((id) => (typeof matcher === 'string' ? id === matcher : matcher.test(id)));
}

export class FaultPlan {
  #armed: ArmedFault[] = [];

  arm(fault: Fault, count: number, model: ModelMatcher, operation?: ModelMatcher): void {
    if (!(count >= 1)) throw new RangeError(`fault count must be at least 1, got ${count}`);
    this.#armed.push({ fault, remaining: count, model, operation });
  }

  /** Consumes one use of the earliest armed fault of one of `kinds` matching `ids`. */
  take<K extends FaultKind>(
    kinds: readonly K[],
    ids: readonly string[],
    operation = '',
  ): Extract<Fault, { kind: K }> | undefined {
    const armed = this.#armed.find(
      (entry) =>
        entry.remaining > 0 &&
        (kinds as readonly FaultKind[]).includes(entry.fault.kind) &&
        matchesModel(entry.model, ids) &&
        matchesModel(entry.operation, [operation]),
    );
    if (!armed) return undefined;
    armed.remaining--;
    this.#armed = this.#armed.filter((entry) => entry.remaining > 0);
    return armed.fault as Extract<Fault, { kind: K }>;
  }

  clear(): void {
    this.#armed = [];
  }
}
