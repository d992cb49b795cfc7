import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/auth/tokens.js';
import {
  blobKeys,
  type Json,
  png,
  pngBomb,
  SVG_WITH_SCRIPT,
  stagedFiles,
  uploadMultipart,
  windowsExe,
} from './support/attachments.js';
import type { TestClient } from './support/mqtt-client.js';
import { s3Settings } from './support/s3-env.js';
import { type EngineKind, TestStack } from './support/stack.js';

// Each engine once, the embedded one on S3: nothing partial is left in either blob store.
const CASES: [EngineKind, 'fs' | 's3'][] = [
  ['rabbitmq', 'fs'],
  ['embedded', 's3'],
];
const MAX_BYTES = 256 * 1024;

describe.each(CASES)('attachments refused on %s (%s blob store)', (engine, blobs) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mercurio-att-'));
  const stack = new TestStack(
    'att-attack',
    {
      MERCURIO_HTTP_PORT: '0',
      MERCURIO_DATA_DIR: dataDir,
      MERCURIO_ATTACHMENT_MAX_BYTES: String(MAX_BYTES),
      ...(blobs === 's3' ? s3Settings(`att-attack-${engine}-${process.pid}-${Date.now()}`) : {}),
    },
    engine,
  );
  let url: string;
  let alice: TestClient;
  const tokens: Record<string, string> = {};
  const group = `group-att-${Date.now()}`;
  const errorFor = (user: string) => (m: { topic: string }) =>
    m.topic === stack.topic('users', user, 'errors', 'clientadded');
  const upload = (
    user: string,
    recipient: string,
    file: { name: string; bytes: Buffer; type?: string },
    kind?: 'group',
  ) => uploadMultipart(url, tokens[user]!, stack.app, recipient, file, kind);
  const rows = async (): Promise<Json[]> =>
    (
      await stack.sql.query('SELECT attachment_id, owner, message_id FROM attachments WHERE app_id = $1', [
        stack.app,
      ])
    ).rows;
  let accepted: Json;

  beforeAll(async () => {
    const engineParts = await stack.startRouter({ http: true });
    url = engineParts.httpUrl!;
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = await stack.token(user);
    await stack.createGroup(group, 'alice', ['alice', 'bob']);
    alice = await stack.client('alice');
    accepted = (await upload('alice', 'bob', { name: 'ok.png', bytes: await png() })).body.result;
    expect(accepted.attachment_id).toBeDefined();
  });
  afterAll(async () => {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('uploads are refused with stable codes, and nothing of them is kept', async () => {
    const refusals: [string, Awaited<ReturnType<typeof upload>>][] = [
      // Not a member of the group named at upload.
      ['not_a_member', await upload('carol', group, { name: 'x.png', bytes: await png() }, 'group')],
      [
        'group_not_found',
        await upload('carol', 'group-none', { name: 'x.png', bytes: await png() }, 'group'),
      ],
      // A Windows program named .png, declared image/png.
      ['attachment_type_not_allowed', await upload('alice', 'bob', { name: 'cat.png', bytes: windowsExe() })],
      // An SVG carrying a script (not on the default allow-list).
      [
        'attachment_type_not_allowed',
        await upload('alice', 'bob', { name: 'a.svg', bytes: SVG_WITH_SCRIPT, type: 'image/svg+xml' }),
      ],
      // A PNG of 200 bytes declaring 100,000 × 100,000 pixels: refused from its header.
      ['image_too_large', await upload('alice', 'bob', { name: 'bomb.png', bytes: pngBomb() })],
      // Over the limit.
      [
        'attachment_too_large',
        await upload('alice', 'bob', { name: 'big.pdf', bytes: Buffer.alloc(MAX_BYTES + 1, 1) }),
      ],
    ];
    for (const [code, answer] of refusals) {
      expect({ code: answer.code, body: answer.body.err?.code }).toEqual({ code, body: code });
    }
    // Someone else's app: the token's app must be the path's.
    const foreign = await signUserToken(stack.config.jwt, {
      app: 'other-app',
      user: 'alice',
      ttlSeconds: 60,
    });
    const other = await uploadMultipart(url, foreign, stack.app, 'bob', {
      name: 'x.png',
      bytes: await png(),
    });
    expect(other.code).toBe('forbidden');

    expect((await rows()).map((row) => row.attachment_id)).toEqual([accepted.attachment_id]);
    expect(await blobKeys(stack.config)).toEqual(
      [accepted.attachment_id, `${accepted.attachment_id}.thumb`].sort(),
    );
    expect(await stagedFiles(stack.config)).toEqual([]);
  });

  it('a tus upload over the limit or by a non-member is refused before any byte', async () => {
    const create = (user: string, length: number, metadata: Record<string, string>) =>
      fetch(`${url}/api/v1/apps/${stack.app}/uploads`, {
        method: 'POST',
        headers: {
          authorization: tokens[user]!,
          'tus-resumable': '1.0.0',
          'upload-length': String(length),
          'upload-metadata': Object.entries(metadata)
            .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
            .join(','),
        },
      });
    const big = await create('alice', MAX_BYTES + 1, { recipient_id: 'bob', filename: 'big.bin' });
    expect([big.status, big.headers.get('x-mercurio-error')]).toEqual([413, 'attachment_too_large']);
    const outsider = await create('carol', 10, { recipient_id: group, channel_type: 'group', filename: 'x' });
    expect([outsider.status, outsider.headers.get('x-mercurio-error')]).toEqual([403, 'not_a_member']);
    // Another user's upload URL is not found for them.
    const mine = await create('alice', 10, { recipient_id: 'bob', filename: 'a.bin' });
    expect(mine.status).toBe(201);
    const location = mine.headers.get('location')!;
    const theirs = await fetch(location, {
      method: 'HEAD',
      headers: { authorization: tokens.bob!, 'tus-resumable': '1.0.0' },
    });
    expect([theirs.status, theirs.headers.get('x-mercurio-error')]).toEqual([404, 'attachment_not_found']);
    const abandon = await fetch(location, {
      method: 'DELETE',
      headers: { authorization: tokens.alice!, 'tus-resumable': '1.0.0' },
    });
    expect(abandon.status).toBe(204);
    expect(await stagedFiles(stack.config)).toEqual([]);
  });

  it('a message naming an attachment of another conversation, another sender or already sent is refused', async () => {
    const refusedWith = async (
      sender: string,
      client: TestClient,
      recipient: string,
      attachmentId: string,
    ) => {
      const before = client.received.filter(errorFor(sender)).length;
      await client.publish(stack.outgoing(sender, recipient), {
        text: 'x',
        type: 'image',
        metadata: { attachment_id: attachmentId },
      });
      const errors = await client.waitForCount(errorFor(sender), before + 1);
      return errors.at(-1)!.payload.code;
    };
    // Uploaded for alice → bob, sent to carol.
    expect(await refusedWith('alice', alice, 'carol', accepted.attachment_id)).toBe('attachment_not_found');
    // Into the group.
    expect(await refusedWith('alice', alice, group, accepted.attachment_id)).toBe('attachment_not_found');
    // By bob, the other participant, who did not upload it.
    const bob = await stack.client('bob');
    expect(await refusedWith('bob', bob, 'alice', accepted.attachment_id)).toBe('attachment_not_found');
    // Not an id at all.
    expect(await refusedWith('alice', alice, 'bob', '../../etc/passwd')).toBe('attachment_not_found');
    expect((await rows())[0].message_id).toBeNull();
    const stored = await stack.sql.query('SELECT count(*)::int AS n FROM messages WHERE app_id = $1', [
      stack.app,
    ]);
    expect(stored.rows[0].n).toBe(0);

    // Sent once, then named again by a second message.
    await alice.publish(stack.outgoing('alice', 'bob'), {
      text: 'ok',
      type: 'image',
      metadata: { attachment_id: accepted.attachment_id },
    });
    await alice.waitFor((m) => m.topic === stack.topic('users', 'alice', 'messages', 'bob', 'clientadded'));
    expect(await refusedWith('alice', alice, 'bob', accepted.attachment_id)).toBe('attachment_not_found');
  });

  it('a group attachment: uploaded by a member, sent to the group, fetched by members only', async () => {
    const sent = (await upload('alice', group, { name: 'g.png', bytes: await png(32, 32) }, 'group')).body
      .result;
    expect(sent.attachment_id).toBeDefined();
    await alice.publish(stack.outgoing('alice', group), {
      text: 'g.png',
      type: 'image',
      channel_type: 'group',
      metadata: { attachment_id: sent.attachment_id },
    });
    await alice.waitFor(
      (m) =>
        m.topic === stack.topic('users', 'alice', 'messages', group, 'clientadded') &&
        m.payload.text === 'g.png',
    );
    const fetchAs = async (user: string) =>
      (
        await fetch(`${url}/api/v1/apps/${stack.app}/attachments/${sent.attachment_id}`, {
          headers: { authorization: tokens[user]! },
        })
      ).status;
    expect([await fetchAs('alice'), await fetchAs('bob'), await fetchAs('carol')]).toEqual([200, 200, 404]);
  });

  it('file URLs: tampered, for another file or variant, expired, and outsiders are refused', async () => {
    const resource = await fetch(`${url}/api/v1/apps/${stack.app}/attachments/${accepted.attachment_id}`, {
      headers: { authorization: tokens.bob! },
    });
    expect(resource.status).toBe(200);
    const view = ((await resource.json()) as Json).result;
    expect((await fetch(`${url}${view.url}`)).status).toBe(200);
    const refused = async (path: string) => {
      const answer = await fetch(`${url}${path}`);
      return [answer.status, answer.headers.get('x-mercurio-error')];
    };
    const tampered = view.url.replace(/sig=(.)/, (_: string, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    expect(await refused(tampered)).toEqual([403, 'invalid_signature']);
    // The thumbnail's signature on the original.
    const thumbSig = new URL(view.thumbnail_url, url).search;
    expect(await refused(view.url.replace(/\?.*$/, thumbSig))).toEqual([403, 'invalid_signature']);
    // A later expiry with the same signature.
    expect(
      await refused(view.url.replace(/exp=(\d+)/, (_: string, e: string) => `exp=${Number(e) + 3600}`)),
    ).toEqual([403, 'invalid_signature']);
    // Expired (signed by the server itself, a second ago).
    const past = Math.floor(Date.now() / 1000) - 1;
    const expired = stack.router!.attachments.signer.sign(
      stack.app,
      accepted.attachment_id,
      'original',
      past,
    );
    expect(await refused(`/api/v1/files/${stack.app}/${accepted.attachment_id}/original?${expired}`)).toEqual(
      [403, 'invalid_signature'],
    );
    // No signature at all.
    expect((await fetch(`${url}/api/v1/files/${stack.app}/${accepted.attachment_id}/original`)).status).toBe(
      400,
    );
    // Carol is no participant: the resource does not exist for her, nor does a redirect.
    for (const suffix of ['', '?redirect=original']) {
      const answer = await fetch(
        `${url}/api/v1/apps/${stack.app}/attachments/${accepted.attachment_id}${suffix}`,
        {
          headers: { authorization: tokens.carol! },
          redirect: 'manual',
        },
      );
      expect([answer.status, answer.headers.get('x-mercurio-error')]).toEqual([404, 'attachment_not_found']);
    }
  });
});
