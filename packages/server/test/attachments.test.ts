import { describe } from 'vitest';
import { attachmentFlows, type BlobKind } from './support/attachment-flows.js';
import type { EngineKind } from './support/stack.js';

// Each engine with each blob store, over two files: the other two pairs are in attachments-stores.test.ts.
const CASES: [EngineKind, BlobKind][] = [
  ['rabbitmq', 's3'],
  ['embedded', 'fs'],
];

describe.each(CASES)('attachments on %s with the %s blob store', attachmentFlows);
