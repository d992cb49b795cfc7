import type { AttachmentMetadata, ChatMessage, UploadedAttachment } from '@mercurio/sdk';

/** Attachment ids as the server makes them; anything else in a message is not looked up. */
const ATTACHMENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A signed URL is used again only while it has this long left (an image may still be loading). */
const MARGIN_MS = 30_000;

/** An attachment message's metadata (the server's: it rewrites what the sender wrote), checked. */
export interface AttachmentRef {
  id: string;
  kind: 'image' | 'file';
  name: string;
  type: string;
  size: number;
  width: number | undefined;
  height: number | undefined;
}

/** The attachment of an image or file message, or undefined when the message names none that is well formed. */
export function attachmentOf(message: ChatMessage): AttachmentRef | undefined {
  if (message.type !== 'image' && message.type !== 'file') return undefined;
  const metadata = message.metadata as Partial<Record<keyof AttachmentMetadata, unknown>> | undefined;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const id = metadata.attachment_id;
  if (typeof id !== 'string' || !ATTACHMENT_ID.test(id)) return undefined;
  const dimension = (value: unknown) =>
    typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
  return {
    id,
    kind: message.type,
    name: typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : 'file',
    type: typeof metadata.type === 'string' ? metadata.type : '',
    size: typeof metadata.size === 'number' && metadata.size >= 0 ? metadata.size : 0,
    width: dimension(metadata.width),
    height: dimension(metadata.height),
  };
}

export interface FileLinks {
  url: string;
  thumbnailUrl: string | undefined;
  placeholder: string | undefined;
  expiresAt: number;
}

/** The current token, and how to get a new one when the server refuses it (none for a fixed host token). */
export interface TokenKeeper {
  current(): string;
  refresh: (() => Promise<string>) | undefined;
}

/**
 * Signed, short-lived URLs of the attachments shown (`GET /v1/apps/:app/attachments/:id`, with
 * the user's token): the server answers participants only. The token goes to the app's own API
 * endpoint only, built from the attachment id — never to a URL a message carries. Links are kept
 * until shortly before they expire; one request per attachment at a time.
 */
export class AttachmentFiles {
  readonly #links = new Map<string, Promise<FileLinks>>();
  readonly #expiry = new Map<string, number>();

  constructor(
    readonly api: string,
    readonly app: string,
    readonly tokens: TokenKeeper,
  ) {}

  /** A URL of the server (relative to the API's origin) made absolute. */
  absolute(url: string): string {
    return new URL(url, this.api).href;
  }

  /** What an upload answered: kept, so the sender's own preview needs no request. */
  remember(attachment: UploadedAttachment): void {
    this.#store(attachment.attachment_id, Promise.resolve(this.#linksOf(attachment)), attachment.expires_at);
  }

  links(id: string): Promise<FileLinks> {
    const known = this.#links.get(id);
    if (known && (this.#expiry.get(id) ?? 0) - MARGIN_MS > Date.now()) return known;
    const loading = this.#fetch(id);
    this.#store(id, loading, Number.POSITIVE_INFINITY);
    loading.then(
      (links) => this.#expiry.set(id, links.expiresAt),
      () => this.#links.delete(id),
    );
    return loading;
  }

  #store(id: string, links: Promise<FileLinks>, expiresAt: number): void {
    this.#links.set(id, links);
    this.#expiry.set(id, expiresAt);
  }

  async #fetch(id: string, retried = false): Promise<FileLinks> {
    const url = `${this.api}/v1/apps/${encodeURIComponent(this.app)}/attachments/${encodeURIComponent(id)}`;
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${this.tokens.current()}` },
      credentials: 'omit',
      cache: 'no-store',
    });
    if (response.status === 401 && !retried && this.tokens.refresh) {
      await this.tokens.refresh();
      return this.#fetch(id, true);
    }
    const json = (await response.json().catch(() => ({}))) as {
      result?: UploadedAttachment;
      err?: { code?: string };
    };
    if (!response.ok || !json.result) throw new Error(json.err?.code ?? `http_${response.status}`);
    return this.#linksOf(json.result);
  }

  #linksOf(attachment: UploadedAttachment): FileLinks {
    return {
      url: this.absolute(attachment.url),
      thumbnailUrl: attachment.thumbnail_url ? this.absolute(attachment.thumbnail_url) : undefined,
      placeholder: attachment.placeholder?.startsWith('data:image/') ? attachment.placeholder : undefined,
      expiresAt: attachment.expires_at,
    };
  }
}

/** A size for people: 830 B, 12 KB, 1.4 MB. */
export function sizeLabel(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`;
}
