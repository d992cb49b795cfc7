import { describe } from 'vitest';
import { attachmentFlows, type BlobKind } from './support/attachment-flows.js';
import type { EngineKind } from './support/stack.js';

// Each engine with each blob store, over two files: the other two pairs are in attachments.test.ts.
const CASES: [EngineKind, BlobKind][] = [
  ['rabbitmq', 'fs'],
  ['embedded', 's3'],
];

describe.each(CASES)('attachments on %s with the %s blob store', attachmentFlows);
