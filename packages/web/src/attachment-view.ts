import type { AttachmentFiles, AttachmentRef, FileLinks } from './attachment-files.js';
import { sizeLabel } from './attachment-files.js';
import { h } from './dom.js';

/** The longest side of an image preview in the thread (CSS narrows it further on a phone). */
const PREVIEW_MAX = 260;
/** An image's link to the original is renewed on hover or focus when it has less than this left. */
const RENEW_MS = 60_000;

/** A type for people: "PDF", "ZIP", "MP4"… from the detected MIME type. */
function typeLabel(type: string): string {
  const sub = type.split('/')[1] ?? '';
  if (sub === 'pdf') return 'PDF';
  const short = sub.replace(/^(x-|vnd\.)/, '').split(/[.+-]/)[0] ?? '';
  return short ? short.slice(0, 4).toUpperCase() : 'FILE';
}

/**
 * An image or file in a message bubble, drawn at once from the message's metadata: an image's
 * box takes its final size before anything loads (width and height from the server), so the
 * thread does not jump; the URLs come later (hydrateAttachment). A file is a card: name, size,
 * type and a Download button.
 */
export function renderAttachment(attachment: AttachmentRef): HTMLElement {
  const { id, name, size } = attachment;
  if (attachment.kind === 'image') {
    const width = attachment.width ?? PREVIEW_MAX;
    const height = attachment.height ?? (PREVIEW_MAX * 3) / 4;
    const scale = Math.min(1, PREVIEW_MAX / Math.max(width, height));
    const img = h('img', { class: 'preview', alt: name, decoding: 'async' });
    const link = h(
      'a',
      {
        class: 'image-box',
        target: '_blank',
        rel: 'noopener noreferrer',
        'aria-label': `Open image ${name} (${sizeLabel(size)})`,
        'aria-busy': 'true',
      },
      img,
    );
    // CSSOM, not a style attribute: the page's CSP allows no inline styles.
    link.style.width = `${Math.round(width * scale)}px`;
    link.style.aspectRatio = `${width} / ${height}`;
    return h('div', { class: 'attachment image', 'data-attachment-id': id }, link);
  }
  const kind = typeLabel(attachment.type);
  return h(
    'div',
    { class: 'attachment file-card', 'data-attachment-id': id },
    h('span', { class: 'file-icon', 'aria-hidden': 'true' }, kind),
    h(
      'span',
      { class: 'file-info' },
      h('span', { class: 'file-name', title: name }, name),
      h('span', { class: 'file-size' }, `${sizeLabel(size)} · ${kind}`),
    ),
    h(
      'button',
      { class: 'download', type: 'button', 'aria-label': `Download ${name} (${sizeLabel(size)})` },
      'Download',
    ),
    h('p', { class: 'file-error', role: 'alert', hidden: 'true' }),
  );
}

/**
 * Loads an image preview into its box: the blurred placeholder as the box's background at once,
 * then the thumbnail (the original when there is none), which fades in over it once loaded; a
 * click opens the original. A file card's Download asks for a fresh signed URL when clicked.
 */
export function hydrateAttachment(element: HTMLElement, files: AttachmentFiles): void {
  const box = element.querySelector<HTMLElement>('.attachment');
  const id = box?.dataset.attachmentId;
  if (!box || !id) return;
  const download = box.querySelector<HTMLButtonElement>('.download');
  if (download) {
    const name = box.querySelector('.file-name')?.textContent ?? 'file';
    download.addEventListener('click', () => void downloadFile(box, files, id, name));
    return;
  }
  const link = box.querySelector<HTMLAnchorElement>('.image-box');
  const img = box.querySelector<HTMLImageElement>('img.preview');
  if (!link || !img) return;
  const done = (state: 'loaded' | 'failed') => {
    link.setAttribute('aria-busy', 'false');
    box.classList.add(state);
  };
  img.addEventListener('load', () => done('loaded'), { once: true });
  img.addEventListener('error', () => done('failed'), { once: true });
  let expiresAt = 0;
  const setLinks = (links: FileLinks) => {
    link.href = links.url;
    expiresAt = links.expiresAt;
  };
  files.links(id).then(
    (links) => {
      if (links.placeholder) link.style.backgroundImage = `url("${links.placeholder}")`;
      setLinks(links);
      img.src = links.thumbnailUrl ?? links.url;
    },
    () => done('failed'),
  );
  // The link to the original is signed for a few minutes: renewed when the user is about to use it.
  const renew = () => {
    if (expiresAt !== 0 && expiresAt - RENEW_MS < Date.now()) files.links(id).then(setLinks, () => {});
  };
  link.addEventListener('pointerenter', renew);
  link.addEventListener('focus', renew);
}

async function downloadFile(
  box: HTMLElement,
  files: AttachmentFiles,
  id: string,
  name: string,
): Promise<void> {
  const error = box.querySelector<HTMLElement>('.file-error');
  if (error) error.hidden = true;
  try {
    const { url } = await files.links(id);
    // The server answers with Content-Disposition: attachment, so following the link downloads.
    const anchor = h('a', { href: url, download: name, rel: 'noopener', hidden: 'true' });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
  } catch (e) {
    if (!error) return;
    error.textContent = `Could not download (${e instanceof Error ? e.message : String(e)})`;
    error.hidden = false;
  }
}
