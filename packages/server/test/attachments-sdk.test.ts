import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MercurioApiError, type UploadProgress } from '@mercurio/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobKeys, type Json, stagedFiles, windowsExe } from './support/attachments.js';
import { SdkHarness } from './support/sdk.js';
import { ENGINES, TestStack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

const FILE_BYTES = 1536 * 1024;
const CHUNK = 128 * 1024;

describe.each(ENGINES)('SDK sendFile on %s', (engine) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mercurio-att-'));
  const stack = new TestStack('att-sdk', { MERCURIO_HTTP_PORT: '0', MERCURIO_DATA_DIR: dataDir }, engine);
  const harness = new SdkHarness(stack);
  let proxy: TcpProxy;

  beforeAll(async () => {
    const parts = await stack.startRouter({ http: true });
    const http = new URL(parts.httpUrl!);
    // Uploads go through a relay whose connections the test breaks mid-upload.
    proxy = await TcpProxy.start(http.hostname, Number(http.port));
  });
  afterAll(async () => {
    await harness.close();
    await proxy.close();
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('uploads over tus with progress, resumes from the server’s offset after the connection breaks, sends; the other participant receives and fetches it', async () => {
    const apiEndpoint = `http://127.0.0.1:${proxy.port}${stack.config.http.basePath}`;
    const [alice, bob] = await Promise.all([
      harness.connect('alice', { apiEndpoint }),
      harness.connect('bob'),
    ]);
    const file = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(FILE_BYTES - 9)]);
    const progress: UploadProgress[] = [];
    let cutAt = -1;
    const sent = await alice.client.sendFile('bob', file, {
      name: 'big report.pdf',
      chunkSize: CHUNK,
      retryDelays: [0, 200, 500],
      onProgress: (p) => {
        progress.push(p);
        // Once, past a third: every connection of the upload is reset (a network drop).
        if (cutAt < 0 && p.sent > FILE_BYTES / 3) {
          cutAt = progress.length;
          proxy.reset();
        }
      },
    });
    expect(cutAt).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual({ sent: FILE_BYTES, total: FILE_BYTES });
    // After the break, the upload went on from what the server held, not from the start.
    const afterCut = progress.slice(cutAt).map((p) => p.sent);
    expect(Math.min(...afterCut)).toBeGreaterThanOrEqual(CHUNK);
    expect(sent.attachment).toMatchObject({
      type: 'file',
      metadata: { name: 'big report.pdf', type: 'application/pdf', size: FILE_BYTES },
    });

    const received = await bob.waitFor('message', (m) => m.message.message_id === sent.message_id);
    expect(received.message).toMatchObject({
      type: 'file',
      metadata: { attachment_id: sent.attachment.attachment_id, size: FILE_BYTES, type: 'application/pdf' },
    });
    const metadata = received.message.metadata as Json;
    const resource = await fetch(`${stack.router!.httpUrl}${metadata.src}`, {
      headers: { authorization: await stack.token('bob') },
    });
    const view = ((await resource.json()) as Json).result;
    const fetched = Buffer.from(await (await fetch(`${stack.router!.httpUrl}${view.url}`)).arrayBuffer());
    expect(fetched.equals(file)).toBe(true);
    expect(await blobKeys(stack.config)).toEqual([sent.attachment.attachment_id]);
    expect(await stagedFiles(stack.config)).toEqual([]);
  });

  it('a refused upload rejects with the stable code and sends nothing', async () => {
    const alice = await harness.connect('alice');
    const before = alice.of('sent').length;
    const refusal = await alice.client
      .sendFile('bob', windowsExe(), { name: 'cat.png' })
      .catch((error) => error);
    expect(refusal).toBeInstanceOf(MercurioApiError);
    expect(refusal).toMatchObject({ status: 415, code: 'attachment_type_not_allowed' });
    expect(alice.of('sent').length).toBe(before);
    expect(await stagedFiles(stack.config)).toEqual([]);
  });
});
