import type { DocumentInput } from '../../src/types.js';

/**
 * Eight field notes with metadata of every Bedrock type (string, number, boolean, string list). Each text has
 * the words "field notes", so a query for them matches every document and a filter alone decides the set.
 */
export const CORPUS: DocumentInput[] = [
  {
    id: 'bees',
    text: 'Honey bees dance to tell their hive where flowers are. These field notes record the waggle dance.',
    metadata: {
      topic: 'insects',
      year: 2019,
      tags: ['pollination', 'behaviour'],
      draft: false,
      author: 'Dr. Frisch',
    },
  },
  {
    id: 'ants',
    text: 'Leafcutter ants farm a fungus underground. These field notes follow one colony for a season.',
    metadata: { topic: 'insects', year: 2021, tags: ['farming'], draft: true, author: 'Dr. Wilson' },
  },
  {
    id: 'owls',
    text: 'Barn owls hunt by sound alone in the dark. These field notes describe their silent flight.',
    metadata: { topic: 'birds', year: 2015, tags: ['hunting', 'night'], draft: false, author: 'Ms. Grey' },
  },
  {
    id: 'swifts',
    text: 'Common swifts sleep while flying for months at a time. These field notes track their migration.',
    metadata: { topic: 'birds', year: 2023, tags: ['migration'], draft: false, author: 'Dr. Lack' },
  },
  {
    id: 'oaks',
    text: 'Old oak trees feed hundreds of insect species at once. These field notes list what lives on one tree.',
    metadata: {
      topic: 'plants',
      year: 2010,
      tags: ['habitat', 'pollination'],
      draft: false,
      author: 'Mr. Rackham',
    },
  },
  {
    id: 'orchids',
    text: 'Bee orchids mimic a female bee to lure pollinators. These field notes show the flower up close.',
    metadata: {
      topic: 'plants',
      year: 2018,
      tags: ['pollination', 'mimicry'],
      draft: true,
      author: 'Dr. Darwin',
    },
  },
  {
    id: 'moss',
    text: 'Moss survives years without water and revives within hours of rain. These field notes time the revival.',
    metadata: { year: 2012, tags: ['drought'], author: 'Ms. Kimmerer' },
  },
  {
    id: 'salmon',
    text: 'Salmon return to the river of their birth to spawn. These field notes follow the run upstream.',
    metadata: { topic: 'fish', year: 2020, tags: ['migration'], draft: false, author: 'Mr. Quinn' },
  },
];

export const ALL_IDS = CORPUS.map((document) => document.id).sort();
