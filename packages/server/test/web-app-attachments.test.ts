import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, JSHandle, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowsExe } from './support/attachments.js';
import { TestStack } from './support/stack.js';
import { launchChromium, REPO, signIn, T } from './support/web-browser.js';

const SCREENSHOTS = `${REPO}packages/web/screenshots`;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** A file name that is markup: it must reach the page as text. */
const PDF_NAME = 'q3 <img src=x onerror=alert(1)>.pdf';

interface FileSpec {
  name: string;
  type: string;
  bytes: Buffer;
}

/** A DataTransfer holding these files, made in the page (for a drop or a paste). */
function transfer(page: Page, files: FileSpec[]): Promise<JSHandle> {
  const specs = files.map((f) => ({ name: f.name, type: f.type, base64: f.bytes.toString('base64') }));
  // Page code as a string: the test's tsconfig has no DOM lib.
  return page.evaluateHandle(
    `((specs) => {
      const dt = new DataTransfer();
      for (const s of specs) {
        const bytes = Uint8Array.from(atob(s.base64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], s.name, { type: s.type }));
      }
      return dt;
    })(${JSON.stringify(specs)})`,
  );
}

/** A picture with detail (so its thumbnail and placeholder are not flat). */
function photo(width: number, height: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#ff9a3c"/><stop offset="1" stop-color="#2f6fed"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <circle cx="${width * 0.7}" cy="${height * 0.35}" r="${height * 0.18}" fill="#ffe680"/>
    <path d="M0 ${height} L${width * 0.35} ${height * 0.5} L${width * 0.6} ${height} Z" fill="#1f5130"/>
    <path d="M${width * 0.3} ${height} L${width * 0.7} ${height * 0.55} L${width} ${height} Z" fill="#2e7d4f"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/**
 * Attachments in the web app (issue 16), in Debian's Chromium with two people in two browser
 * contexts, through the real server: alice drops an image and a PDF onto the thread, pastes an
 * image and picks a lying file with the Attach button; bob sees the image previews load (their
 * boxes sized before the bytes came), downloads the PDF byte for byte, and the refused file never
 * reaches him.
 */
// The embedded engine only: the upload and file routes are the same HTTP code on both engines
// (attachments*.test.ts run both), and a second engine would double this file's minute.
describe.each(['embedded'] as const)('web app: attachments in a real browser (%s)', (engine) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mercurio-webatt-'));
  const stack = new TestStack(
    'webatt',
    {
      MERCURIO_DEV: 'true',
      MERCURIO_HTTP_PORT: '0',
      MERCURIO_DATA_DIR: dataDir,
    },
    engine,
  );
  let browser: Browser;
  let url = '';
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
    const router = await stack.startRouter({ http: true });
    url = `${router.httpUrl}/?app=${encodeURIComponent(stack.app)}`;
  }, 600_000);

  afterAll(async () => {
    await Promise.allSettled(contexts.map((c) => c.close()));
    await browser?.close();
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function newPage(viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    return context.newPage();
  }
  const shot = async (page: Page, name: string) => {
    if (process.env.MERCURIO_SCREENSHOTS === '1')
      await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
  };
  /** Whether each image preview of the thread has loaded real pixels. */
  const loadedWidths = (page: Page) =>
    page
      .locator('#messages .attachment.image img.preview')
      .evaluateAll((imgs) => imgs.map((img) => (img as unknown as { naturalWidth: number }).naturalWidth));

  it('a dropped image and PDF, a pasted image: previews load for the other person, the PDF downloads intact, a lying file is refused with its code', {
    timeout: 60_000,
  }, async () => {
    const picture = await photo(600, 400);
    const pasted = await photo(300, 500);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n'), Buffer.alloc(40_000, 7)]);
    const alice = await signIn(await newPage(DESKTOP), url, 'alice');
    const bob = await signIn(await newPage(PHONE), url, 'bob');
    const dialogs: string[] = [];
    for (const page of [alice, bob])
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
    await alice.locator('#new-chat').fill('bob');
    await alice.locator('#new-chat').press('Enter');
    await expect.poll(() => alice.locator('#composer-form').isVisible(), T).toBe(true);

    // alice drags an image and a PDF onto the thread: the hint shows while they are over it.
    const dropped = await transfer(alice, [
      { name: 'sunset.png', type: 'image/png', bytes: picture },
      { name: PDF_NAME, type: 'application/pdf', bytes: pdf },
    ]);
    await alice.dispatchEvent('#messages', 'dragenter', { dataTransfer: dropped });
    expect(await alice.locator('#drop-hint').isVisible()).toBe(true);
    await alice.dispatchEvent('#messages', 'dragover', { dataTransfer: dropped });
    await alice.dispatchEvent('#messages', 'drop', { dataTransfer: dropped });
    expect(await alice.locator('#drop-hint').isVisible()).toBe(false);
    // The uploads show with their progress bars, then leave once sent.
    await expect.poll(() => alice.locator('#uploads .upload progress').count(), T).toBe(0);
    await expect.poll(() => alice.locator('#messages .message.mine .attachment').count(), T).toBe(2);

    // bob opens the conversation: the image preview loads real pixels in a box sized beforehand.
    await bob.locator('#conversations li[data-id="alice"]').click();
    const bobImage = bob.locator('#messages .message.theirs .attachment.image');
    await expect.poll(() => bobImage.count(), T).toBe(1);
    await expect.poll(() => loadedWidths(bob), T).toEqual([320]); // the thumbnail's long side
    const box = await bobImage.locator('.image-box').boundingBox();
    // At most 260 px wide (narrower in a phone's bubble), always the picture's own proportions.
    expect(box?.width).toBeGreaterThan(200);
    expect(box?.width).toBeLessThanOrEqual(260);
    expect(Math.abs((box?.height ?? 0) - ((box?.width ?? 0) * 400) / 600)).toBeLessThan(1);
    expect(
      await bobImage
        .locator('.image-box')
        .evaluate((el) => (el as unknown as HTMLLike).style.backgroundImage),
    ).toMatch(/^url\("data:image\/webp;base64,/);
    expect(await bobImage.locator('.image-box').getAttribute('aria-label')).toMatch(
      /^Open image sunset\.png \(\d+ KB\)$/,
    );

    // …and the PDF as a file card whose Download gives the very bytes alice sent.
    const card = bob.locator('#messages .message.theirs .file-card');
    expect(await card.locator('.file-name').textContent()).toBe(PDF_NAME);
    expect(await card.locator('.file-size').textContent()).toBe('40 KB · PDF');
    const [download] = await Promise.all([
      bob.waitForEvent('download'),
      card.getByRole('button', { name: `Download ${PDF_NAME} (40 KB)` }).click(),
    ]);
    const path = await download.path();
    expect(readFileSync(path).equals(pdf)).toBe(true);

    // alice pastes an image from the clipboard into the composer: sent as a file, previewed.
    const clipboard = await transfer(alice, [{ name: 'image.png', type: 'image/png', bytes: pasted }]);
    await alice
      .locator('#composer')
      .evaluate(
        (input, data) =>
          (input as unknown as { dispatchEvent(e: unknown): void }).dispatchEvent(
            new (
              globalThis as unknown as { ClipboardEvent: new (t: string, i: unknown) => unknown }
            ).ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
          ),
        clipboard,
      );
    await expect.poll(() => loadedWidths(bob), T).toEqual([320, 192]);
    const portrait = await bob.locator('#messages .attachment.image .image-box').last().boundingBox();
    expect(Math.abs((portrait?.height ?? 0) - ((portrait?.width ?? 0) * 500) / 300)).toBeLessThan(1);

    // A Windows program named .png, picked with the Attach button: refused, the code shown, nothing sent.
    await alice
      .locator('#attach-input')
      .setInputFiles({ name: 'cat.png', mimeType: 'image/png', buffer: windowsExe() });
    const refused = alice.locator('#uploads .upload[data-state="failed"]');
    await expect
      .poll(() => refused.locator('.error-code').textContent(), T)
      .toBe('attachment_type_not_allowed');
    expect(await refused.getByRole('alert').textContent()).toContain('this type of file is not allowed');
    await alice.getByRole('button', { name: 'Attach files' }).focus(); // the button is reachable and labelled

    // An upload that makes no progress (its PATCH requests held) is cancelled: said so, nothing sent.
    await alice.route('**/uploads/**', () => {});
    await alice
      .locator('#attach-input')
      .setInputFiles({ name: 'slow.pdf', mimeType: 'application/pdf', buffer: pdf });
    await expect.poll(() => alice.locator('#uploads .upload[data-state="uploading"]').count(), T).toBe(1);
    await alice.getByRole('button', { name: 'Cancel upload of slow.pdf' }).click();
    await expect
      .poll(() => alice.locator('#uploads .upload[data-state="cancelled"] .upload-error').textContent(), T)
      .toBe('Upload cancelled');
    await alice.unrouteAll({ behavior: 'ignoreErrors' });

    // Markup in a name stays text: no element from it, no dialog.
    expect(await bob.locator('#messages img').count()).toBe(2);
    expect(dialogs).toEqual([]);
    await shot(alice, 'desktop-attachments');
    await bob.locator('#messages').evaluate((el) => {
      (el as unknown as { scrollTop: number }).scrollTop = 0;
    });
    await shot(bob, 'phone-attachments');

    // A reload draws the same from history; the refused file never reached bob.
    await bob.reload();
    await expect.poll(() => bob.locator('#state').textContent(), T).toBe('connected');
    await bob.locator('#conversations li[data-id="alice"]').click();
    await expect.poll(() => loadedWidths(bob), T).toEqual([320, 192]);
    expect(await bob.locator('#messages .message').count()).toBe(3);
    await alice.getByRole('button', { name: 'Dismiss cat.png' }).click();
    await alice.getByRole('button', { name: 'Dismiss slow.pdf' }).click();
    expect(await alice.locator('#uploads .upload').count()).toBe(0);
  });
});

interface HTMLLike {
  style: { backgroundImage: string };
}
