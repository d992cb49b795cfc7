import { describe, expect, it } from 'vitest';
import { displayName } from '../src/attachments/attachments.js';
import { limitsFor } from '../src/attachments/settings.js';
import { UrlSigner } from '../src/attachments/signed-urls.js';
import { loadConfig } from '../src/config.js';
import { parseRange } from '../src/http/attachments/file-response.js';

const SECRET = 'x'.repeat(40);
const config = (env: Record<string, string>) => loadConfig({ MERCURIO_JWT_SECRET: SECRET, ...env });

describe('attachment settings', () => {
  it('per-app limits override the defaults for that app only', () => {
    const settings = config({
      MERCURIO_ATTACHMENT_MAX_BYTES: '1000',
      MERCURIO_ATTACHMENT_APPS: JSON.stringify({
        small: { max_bytes: 10, types: ['Image/PNG'] },
        big: { max_bytes: 5000 },
      }),
    }).attachments;
    expect(limitsFor(settings, 'small')).toEqual({ maxBytes: 10, types: ['image/png'] });
    expect(limitsFor(settings, 'big').maxBytes).toBe(5000);
    expect(limitsFor(settings, 'big').types).toContain('application/pdf');
    expect(limitsFor(settings, 'other').maxBytes).toBe(1000);
  });

  it('refuses what would be misread, naming the setting', () => {
    expect(() => config({ MERCURIO_ATTACHMENT_APPS: '{' })).toThrow(/MERCURIO_ATTACHMENT_APPS/);
    expect(() => config({ MERCURIO_ATTACHMENT_APPS: '{"a": {"maxBytes": 1}}' })).toThrow(
      /MERCURIO_ATTACHMENT_APPS/,
    );
    expect(() => config({ MERCURIO_ATTACHMENT_TYPES: 'image/png, text html' })).toThrow(
      /invalid MIME type: text html/,
    );
    expect(() => config({ MERCURIO_BLOB_STORE: 's3' })).toThrow(/MERCURIO_S3_BUCKET is required/);
    expect(
      config({ MERCURIO_BLOB_STORE: 's3', MERCURIO_S3_BUCKET: 'b' }).attachments.blobStore,
    ).toMatchObject({
      kind: 's3',
      bucket: 'b',
      forcePathStyle: true,
    });
    expect(config({ MERCURIO_DATA_DIR: '/srv/m' }).attachments.blobStore).toEqual({
      kind: 'fs',
      root: '/srv/m/blobs',
    });
  });
});

describe('signed file URLs', () => {
  const signer = new UrlSigner(SECRET);
  const query = (q: string) => Object.fromEntries(new URLSearchParams(q)) as { exp: string; sig: string };

  it('verify only the app, id, variant and expiry signed, before the expiry', () => {
    const { exp, sig } = query(signer.sign('app', 'id-1', 'original', 1000));
    expect(() => signer.verify('app', 'id-1', 'original', exp, sig, 999)).not.toThrow();
    for (const [app, id, variant, e, s, now] of [
      ['app', 'id-1', 'original', exp, sig, 1000],
      ['app', 'id-2', 'original', exp, sig, 0],
      ['other', 'id-1', 'original', exp, sig, 0],
      ['app', 'id-1', 'thumbnail', exp, sig, 0],
      ['app', 'id-1', 'original', '1001', sig, 0],
      ['app', 'id-1', 'original', exp, `${sig}x`, 0],
      ['app', 'id-1', 'original', '1e3', sig, 0],
      ['app', 'id-1', 'original', exp, '', 0],
    ] as const) {
      expect(() => signer.verify(app, id, variant, e, s, now)).toThrow(
        expect.objectContaining({ code: 'invalid_signature' }),
      );
    }
    // Another secret's signature.
    const other = query(new UrlSigner('y'.repeat(40)).sign('app', 'id-1', 'original', 1000));
    expect(() => signer.verify('app', 'id-1', 'original', other.exp, other.sig, 0)).toThrow();
  });
});

describe('ranges and names', () => {
  it('parses one byte range against the size', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-1000', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=9-3', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
  });

  it('keeps a shown name free of folders and control characters', () => {
    expect(displayName('../../etc/passwd')).toBe('passwd');
    expect(displayName('C:\\Users\\a\\photo.jpg')).toBe('photo.jpg');
    expect(displayName('a\u202egnp.exe')).toBe('agnp.exe');
    expect(displayName('..')).toBe('file');
    expect(displayName(undefined)).toBe('file');
    expect(displayName('x'.repeat(500))).toHaveLength(200);
  });
});
