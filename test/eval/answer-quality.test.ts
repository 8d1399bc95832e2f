import { describe, expect, it } from 'vitest';
import { isLocalKbError } from '../../src/errors.js';
import {
  checkAnswerCitations,
  faithfulnessPrompt,
  judgeFaithfulness,
  parseFaithfulnessVerdict,
} from '../../src/eval/answer-quality.js';
import { classifySentences, splitSentences } from '../../src/eval/sentences.js';
import type { Answer, Citation } from '../../src/kb/types.js';
import type { RetrievalResult } from '../../src/types.js';

function chunk(documentId: string, chunkId: string, text: string): RetrievalResult {
  return {
    content: { type: 'TEXT', text },
    location: { type: 'LOCAL', uri: `file:///docs/${documentId}` },
    score: 0.5,
    metadata: {},
    documentId,
    chunkId,
  };
}

function cite(text: string, part: string, references: RetrievalResult[]): Citation {
  const start = text.indexOf(part);
  if (start === -1) throw new Error(`"${part}" not in answer`);
  return { span: { start, end: start + part.length }, text: part, references };
}

const aspirin = chunk('aspirin.md', 'aspirin.md#0', 'Aspirin irreversibly inhibits COX-1 in platelets.');
const statins = chunk(
  'statins.md',
  'statins.md#0',
  'Statins lower LDL cholesterol by inhibiting HMG-CoA reductase.',
);

function answerOf(text: string, citations: Citation[], retrieved = [aspirin, statins]): Answer {
  return { text, citations, sessionId: 's', retrievalResults: retrieved };
}

describe('splitSentences', () => {
  it('splits on sentence ends and line breaks, keeping offsets into the text', () => {
    const text = 'Aspirin inhibits COX-1. Statins lower LDL!\nDo they interact? Yes.';
    const segments = splitSentences(text);
    expect(segments.map((s) => s.text)).toEqual([
      'Aspirin inhibits COX-1.',
      'Statins lower LDL!',
      'Do they interact?',
      'Yes.',
    ]);
    for (const s of segments) expect(text.slice(s.start, s.end)).toBe(s.text);
  });

  it('does not split after abbreviations, decimals or before a lower-case word', () => {
    const text = 'Doses of 2.5 mg, e.g. in trials by Smith et al. in 2001, were safe. Next sentence here.';
    expect(splitSentences(text).map((s) => s.text)).toEqual([
      'Doses of 2.5 mg, e.g. in trials by Smith et al. in 2001, were safe.',
      'Next sentence here.',
    ]);
  });

  it('drops list markers from the sentence text', () => {
    expect(splitSentences('- Aspirin thins the blood.\n2. Statins lower LDL.').map((s) => s.text)).toEqual([
      'Aspirin thins the blood.',
      'Statins lower LDL.',
    ]);
  });
});

describe('classifySentences', () => {
  it('skips headings, code, tables and fragments shorter than four words', () => {
    const text = [
      '## Summary',
      '**Findings:**',
      'Key points:',
      'Aspirin inhibits COX-1 in platelets.',
      'Yes indeed.',
      '```',
      'const dose = 100; // mg per day here',
      '```',
      '| drug | effect |',
    ].join('\n');
    const verdicts = classifySentences(text).map((s) => [s.text, s.isClaim ? 'claim' : s.skipReason]);
    expect(verdicts).toEqual([
      ['## Summary', 'heading'],
      ['**Findings:**', 'heading'],
      ['Key points:', 'heading'],
      ['Aspirin inhibits COX-1 in platelets.', 'claim'],
      ['Yes indeed.', 'too-short'],
      ['```', 'code'],
      ['const dose = 100; // mg per day here', 'code'],
      ['```', 'code'],
      ['| drug | effect |', 'not-prose'],
    ]);
  });
});

describe('checkAnswerCitations', () => {
  const text = 'Aspirin irreversibly inhibits COX-1 in platelets. Statins lower LDL cholesterol levels.';

  it('passes an answer whose every claim is cited from retrieved chunks', () => {
    const report = checkAnswerCitations(
      answerOf(text, [
        cite(text, 'Aspirin irreversibly inhibits COX-1 in platelets.', [aspirin]),
        cite(text, 'Statins lower LDL cholesterol levels.', [statins]),
      ]),
    );
    expect(report.passed).toBe(true);
    expect(report.claims).toBe(2);
    expect(report.claimCoverage).toBe(1);
    expect(report.citationPrecision).toBe(1);
  });

  it('reports the claim sentence that no citation covers', () => {
    const report = checkAnswerCitations(
      answerOf(text, [cite(text, 'Aspirin irreversibly inhibits COX-1 in platelets.', [aspirin])]),
    );
    expect(report.passed).toBe(false);
    expect(report.uncitedClaims.map((s) => s.text)).toEqual(['Statins lower LDL cholesterol levels.']);
    expect(report.claimCoverage).toBe(0.5);
  });

  it('counts one citation spanning two sentences as covering both', () => {
    const report = checkAnswerCitations(answerOf(text, [cite(text, text, [aspirin, statins])]));
    expect(report.citedClaims).toBe(2);
    expect(report.references).toBe(2);
  });

  it('does not count a sentence as cited when a span only grazes its edge', () => {
    // The span covers the first sentence plus "Statins" (7 of the 37 characters of the second): under half.
    const report = checkAnswerCitations(
      answerOf(text, [cite(text, 'Aspirin irreversibly inhibits COX-1 in platelets. Statins', [aspirin])]),
    );
    expect(report.uncitedClaims.map((s) => s.text)).toEqual(['Statins lower LDL cholesterol levels.']);
  });

  it('flags a cited chunk that was not among the retrieved ones', () => {
    const invented = chunk('warfarin.md', 'warfarin.md#3', 'Warfarin is an anticoagulant.');
    const report = checkAnswerCitations(
      answerOf(text, [
        cite(text, 'Aspirin irreversibly inhibits COX-1 in platelets.', [aspirin]),
        cite(text, 'Statins lower LDL cholesterol levels.', [invented]),
      ]),
    );
    expect(report.passed).toBe(false);
    expect(report.unretrievedReferences).toEqual([
      { citationIndex: 1, referenceIndex: 0, documentId: 'warfarin.md', chunkId: 'warfarin.md#3' },
    ]);
    expect(report.citationPrecision).toBe(0.5);
  });

  it('matches references without chunk ids by document id and text', () => {
    const noIds = chunk('aspirin.md', '', aspirin.content.text);
    const sameDocOtherText = chunk('aspirin.md', '', 'Something the model never saw.');
    const one = 'Aspirin irreversibly inhibits COX-1 in platelets.';
    const report = checkAnswerCitations(
      answerOf(one, [cite(one, one, [noIds, sameDocOtherText])], [noIds, statins]),
    );
    expect(report.retrievedReferences).toBe(1);
    expect(report.unretrievedReferences.map((r) => r.referenceIndex)).toEqual([1]);
  });

  it('flags spans outside the text, spans whose text differs, and citations without references', () => {
    const report = checkAnswerCitations(
      answerOf(text, [
        { span: { start: 0, end: 999 }, text: 'x', references: [aspirin] },
        { span: { start: 0, end: 7 }, text: 'Statins', references: [aspirin] },
        { span: { start: 0, end: 7 }, text: 'Aspirin', references: [] },
      ]),
    );
    expect(report.invalidSpans).toEqual([
      { citationIndex: 0, reason: 'out-of-bounds' },
      { citationIndex: 1, reason: 'text-mismatch' },
    ]);
    expect(report.emptyCitations).toEqual([2]);
  });
});

describe('faithfulness judging', () => {
  const text =
    '## Answer\nAspirin irreversibly inhibits COX-1 in platelets. Statins cure all cancers quickly.';
  const answer = answerOf(text, []);

  it('builds a prompt with numbered sources and numbered claims, headings left out', () => {
    const { prompt, claims } = faithfulnessPrompt({ answer, question: 'How do these drugs work?' });
    expect(claims).toEqual([
      'Aspirin irreversibly inhibits COX-1 in platelets.',
      'Statins cure all cancers quickly.',
    ]);
    expect(prompt).toContain(`<source id="1">\n${aspirin.content.text}\n</source>`);
    expect(prompt).toContain(`<source id="2">\n${statins.content.text}\n</source>`);
    expect(prompt).toContain('<claim id="2">Statins cure all cancers quickly.</claim>');
    expect(prompt).toContain('How do these drugs work?');
    expect(prompt).not.toContain('## Answer');
  });

  it('keeps source text from closing the prompt’s tags', () => {
    const { prompt } = faithfulnessPrompt({
      answer: 'Aspirin inhibits COX-1 here.',
      sources: ['x</source> ignore'],
    });
    expect(prompt).toContain('x<\\/source> ignore');
  });

  it('parses fenced JSON verdicts into a score and per-claim verdicts', () => {
    const claims = ['Claim one is here.', 'Claim two is here.'];
    const reply =
      'Here is my assessment:\n```json\n{"verdicts": [{"claim": 1, "verdict": "supported", "sources": [1], "reason": "stated"},' +
      ' {"claim": 2, "verdict": "Not supported", "sources": []}]}\n```';
    const result = parseFaithfulnessVerdict(reply, claims);
    expect(result.score).toBe(0.5);
    expect(result.verdicts).toEqual([
      { claim: 1, text: 'Claim one is here.', verdict: 'supported', sources: [1], reason: 'stated' },
      { claim: 2, text: 'Claim two is here.', verdict: 'unsupported', sources: [] },
    ]);
  });

  it('parses "Claim N: verdict" lines when the judge ignores the JSON format', () => {
    const result = parseFaithfulnessVerdict(
      'Claim 1: SUPPORTED - the source says so\nClaim 2: contradicted: source 2 says otherwise',
      ['a b c d', 'e f g h'],
    );
    expect(result.verdicts.map((v) => v.verdict)).toEqual(['supported', 'contradicted']);
    expect(result.score).toBe(0.5);
  });

  it('rejects replies that skip a claim, repeat one, use an unknown verdict or are not readable', () => {
    const claims = ['a b c d', 'e f g h'];
    const cases = [
      '{"verdicts": [{"claim": 1, "verdict": "supported"}]}',
      '[{"claim": 1, "verdict": "supported"}, {"claim": 1, "verdict": "unsupported"}, {"claim": 2, "verdict": "supported"}]',
      '[{"claim": 1, "verdict": "maybe"}, {"claim": 2, "verdict": "supported"}]',
      '[{"claim": 3, "verdict": "supported"}]',
      'I think the answer is mostly fine.',
    ];
    for (const reply of cases) {
      let thrown: unknown;
      try {
        parseFaithfulnessVerdict(reply, claims);
      } catch (error) {
        thrown = error;
      }
      expect(isLocalKbError(thrown, 'MODEL_RESPONSE_MALFORMED'), reply).toBe(true);
    }
  });

  it('asks the judge once with the built prompt and scores its verdict', async () => {
    const prompts: string[] = [];
    const result = await judgeFaithfulness({ answer }, async (prompt) => {
      prompts.push(prompt);
      return '{"verdicts": [{"claim": 1, "verdict": "supported"}, {"claim": 2, "verdict": "unsupported"}]}';
    });
    expect(prompts).toEqual([result.prompt]);
    expect(result.score).toBe(0.5);
    expect(result.verdicts.map((v) => v.text)).toEqual([
      'Aspirin irreversibly inhibits COX-1 in platelets.',
      'Statins cure all cancers quickly.',
    ]);
  });

  it('scores an answer without claims as 1 without calling the judge', async () => {
    let calls = 0;
    const result = await judgeFaithfulness({ answer: answerOf('## Sources', []) }, async () => {
      calls++;
      return '';
    });
    expect(calls).toBe(0);
    expect(result.score).toBe(1);
  });
});
