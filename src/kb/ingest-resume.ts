import { createHash } from 'node:crypto';
import type { StoredDocument } from '../store/sqlite-store.js';
import { LOCALKB_METADATA_KEYS, type Metadata, type SourceDocument } from '../types.js';

/**
 * Decides which documents an ingest must (re)write, so an interrupted ingest resumes where it stopped: each stored
 * document records the chunker settings that made it (in the same transaction as its chunks), and a document
 * whose content, metadata and settings all match is skipped, whatever became of the run that wrote it.
 */
export class IngestResume {
  /** Recorded with every document this ingest writes. */
  readonly fingerprint: string;
  readonly #legacyFingerprint: string | undefined;

  /**
   * `chunkerSettings` are the resolved settings of this ingest. `legacyChunkedWith` is the store-wide marker
   * older versions wrote at the end of a complete ingest; documents stored before per-document records fall
   * back to it.
   */
  constructor(chunkerSettings: unknown, legacyChunkedWith: string | undefined) {
    this.fingerprint = fingerprintOf(JSON.stringify(chunkerSettings));
    this.#legacyFingerprint = legacyChunkedWith === undefined ? undefined : fingerprintOf(legacyChunkedWith);
  }

  /** True when `stored` already holds `document` as this ingest would write it. */
  isCurrent(stored: StoredDocument | undefined, document: SourceDocument): boolean {
    if (!stored) return false;
    const chunkedWith = stored.chunkedWith ?? this.#legacyFingerprint;
    return (
      chunkedWith === this.fingerprint &&
      stored.contentHash === document.contentHash &&
      sameMetadata(stored.metadata, document.metadata)
    );
  }
}

/** Short and stable: the settings' JSON is long and would be repeated in every document row. */
function fingerprintOf(settingsJson: string): string {
  return createHash('sha256').update(settingsJson).digest('hex').slice(0, 16);
}

function sameMetadata(a: Metadata, b: Metadata): boolean {
  const strip = ({ [LOCALKB_METADATA_KEYS.modifiedAt]: _m, ...rest }: Metadata) =>
    JSON.stringify(sortKeys(rest));
  return strip(a) === strip(b);
}

function sortKeys(value: Metadata): Metadata {
  return Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}
