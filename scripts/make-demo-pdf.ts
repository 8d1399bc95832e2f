/**
 * Writes examples/corpus/lighthouse-timeline.pdf, the demo corpus's PDF, with our own minimal PDF writer
 * (no PDF library). Run: npx tsx scripts/make-demo-pdf.ts — the output is committed, so rerun it only after
 * editing the text below.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePdf } from '../test/fixtures/ingest/pdf-writer.js';

const pages = [
  `# A Timeline of Lighthouses

This timeline follows lighthouses from the fires of the ancient Mediterranean to the automated lights of today. Each entry gives a year and what changed.

# The ancient and medieval world

c. 280 BC – The Pharos of Alexandria is completed in the reign of Ptolemy II. At over 100 metres it becomes the model for lighthouses across the Mediterranean and gives several languages their word for a lighthouse.

AD 40 – The emperor Caligula orders a lighthouse at Boulogne, later known as the Tour d'Ordre. It stands until the cliff beneath it collapses in 1644.

Late 1st or early 2nd century AD – The Romans build the Tower of Hercules at A Coruña in Spain, today the oldest Roman lighthouse still in use.

12th and 13th centuries – The tower at Hook Head in Ireland is built; it is still a working lighthouse about 800 years later.

1543 – The Lanterna of Genoa is rebuilt to a height of 77 metres.`,
  `# Towers in the open sea

1698 – Henry Winstanley lights the first lighthouse on the Eddystone Rocks off Plymouth. The Great Storm of November 1703 destroys it.

1709 – John Rudyerd completes a second, timber Eddystone tower. It burns down in December 1755.

1759 – John Smeaton's granite Eddystone tower is first lit. Its dovetailed stones and hydraulic lime set the pattern for later rock lighthouses.

1811 – Robert Stevenson's Bell Rock lighthouse off the coast of Angus is first lit. It is the oldest surviving sea-washed lighthouse.

1882 – James Douglass's Eddystone tower, the fourth on the reef, is first lit. The upper part of Smeaton's tower is rebuilt on Plymouth Hoe.

# Better light

1780s – Aimé Argand designs an oil lamp with a hollow circular wick and a glass chimney, far brighter than candles.

1822 – Augustin-Jean Fresnel presents his lens of concentric prisms. The first one is installed at Cordouan in 1823.`,
  `# Electricity and automation

1858 – The South Foreland lighthouse in Kent shows the first electric light in a lighthouse, an arc lamp.

1912 – Gustaf Dalén receives the Nobel Prize in Physics for his sun valve, which let acetylene lights run unattended.

1982 – The Eddystone lighthouse is automated and its keepers leave the rock.

1998 – North Foreland, the last staffed Trinity House lighthouse, is automated. In the same year Boston Light, first lit in 1716, becomes the last lighthouse in the United States to be automated.

Today – Most lights use electric lamps or LED lanterns powered by mains or solar panels, and are monitored remotely.`,
];

const target = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../examples/corpus/lighthouse-timeline.pdf',
);
writeFileSync(
  target,
  writePdf({ title: 'A Timeline of Lighthouses', pages: pages.map((text) => ({ text })) }),
);
console.log(`wrote ${path.relative(process.cwd(), target)}`);
