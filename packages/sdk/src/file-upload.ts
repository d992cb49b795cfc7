import { conversationKindOf } from '@mercurio/protocol';
import { Upload } from 'tus-js-client';
import { MercurioApiError } from './api.js';
import type { TokenSource } from './token.js';

/** Chat21's metadata of an image or file message, as the server made it. */
export interface AttachmentMetadata {
  src: string;
  width?: number;
  height?: number;
  name: string;
  type: string;
  size: number;
  attachment_id: string;
}

/** An uploaded attachment (the server's `GET /v1/apps/:app/attachments/:id`). */
export interface UploadedAttachment {
  attachment_id: string;
  type: 'image' | 'file';
  metadata: AttachmentMetadata;
  /** A tiny blurred preview (data: URI) of an image, to draw while it loads. */
  placeholder: string | null;
  /** Short-lived signed URLs (see `expires_at`): usable in `<img src>`, no token needed. */
  url: string;
  thumbnail_url: string | null;
  expires_at: number;
}

/** A browser File or Blob; in Node a Buffer (or Uint8Array). */
export type UploadInput = Blob | Uint8Array;

export interface UploadProgress {
  sent: number;
  total: number;
}

export interface SendFileOptions {
  /** Upload progress, as bytes reach the server (resumed uploads count from where they resume). */
  onProgress?: (progress: UploadProgress) => void;
  /** The file's name (a File's own by default). */
  name?: string;
  /** The message's text (default: the file's name). */
  text?: string;
  /** Send into a group (also implied by a group-form id). */
  group?: boolean;
  /** Bytes per PATCH request (default 5 MiB; smaller resumes from closer to where it broke). */
  chunkSize?: number;
  /** Pauses before each retry of an interrupted upload (it resumes from the server's offset). */
  retryDelays?: number[];
  /** Aborts the upload (it can be resumed by sending the same file again, in a browser). */
  signal?: AbortSignal;
}

interface UploadTarget {
  apiEndpoint: string;
  app: string;
  tokens: TokenSource;
  fetch: (
    url: string,
    init: { method: string; headers: Record<string, string> },
  ) => Promise<{
    ok: boolean;
    status: number;
    headers: { get(name: string): string | null };
    json(): Promise<unknown>;
  }>;
}

const DEFAULT_CHUNK = 5 * 1024 * 1024;
const DEFAULT_RETRIES = [0, 1000, 3000, 5000, 10_000];

function nameOf(file: UploadInput, options: SendFileOptions): string {
  if (options.name) return options.name;
  const named = file as { name?: unknown };
  return typeof named.name === 'string' && named.name !== '' ? named.name : 'file';
}

/**
 * Uploads a file into the conversation with `to` over tus (`/v1/apps/:app/uploads`): resumable —
 * an interrupted request is retried from the offset the server holds, so a flaky network costs
 * at most one chunk again. Resolves with the attachment once the server stored it (type detected
 * from the bytes, an image's thumbnail made); rejects with a MercurioApiError carrying the
 * server's stable code (`attachment_too_large`, `attachment_type_not_allowed`, …).
 */
export function uploadFile(
  target: UploadTarget,
  to: string,
  file: UploadInput,
  options: SendFileOptions = {},
): Promise<UploadedAttachment> {
  const base = target.apiEndpoint.replace(/\/+$/, '');
  const group = conversationKindOf(options.group ? 'group' : undefined, to) === 'group';
  const size = file instanceof Uint8Array ? file.byteLength : file.size;
  return new Promise<UploadedAttachment>((resolve, reject) => {
    const upload = new Upload(file as Blob, {
      endpoint: `${base}/v1/apps/${encodeURIComponent(target.app)}/uploads`,
      uploadSize: size,
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK,
      retryDelays: options.retryDelays ?? DEFAULT_RETRIES,
      metadata: {
        recipient_id: to,
        filename: nameOf(file, options),
        ...(group ? { channel_type: 'group' } : {}),
      },
      removeFingerprintOnSuccess: true,
      // The current token on every request (it may have been refreshed meanwhile).
      onBeforeRequest: async (request) => {
        request.setHeader('authorization', `Bearer ${await target.tokens.get()}`);
      },
      // A refusal (4xx but a lost lock or a timeout) is final: retrying cannot change it.
      onShouldRetry: (error) => {
        const status = error.originalResponse?.getStatus() ?? 0;
        return status === 0 || status === 409 || status === 423 || status >= 500;
      },
      onProgress: (sent, total) => options.onProgress?.({ sent, total }),
      onError: (error) => {
        const response = (error as { originalResponse?: { getStatus(): number; getBody(): string } | null })
          .originalResponse;
        if (!response) return reject(error);
        let code = `http_${response.getStatus()}`;
        let message = error.message;
        try {
          const body = JSON.parse(response.getBody()) as { err?: { code?: string; message?: string } };
          code = body.err?.code ?? code;
          message = body.err?.message ?? message;
        } catch {
          // Not a JSON refusal: keep the status.
        }
        reject(new MercurioApiError(response.getStatus(), code, message));
      },
      onSuccess: ({ lastResponse }) => {
        try {
          const body = JSON.parse(lastResponse.getBody()) as { result?: UploadedAttachment };
          if (body.result) return resolve(body.result);
        } catch {
          // The final answer was lost and the upload found complete on resuming: ask for it.
        }
        const id = (upload.url ?? '').split('/').pop() ?? '';
        fetchAttachment(target, base, id).then(resolve, reject);
      },
    });
    options.signal?.addEventListener('abort', () => {
      void upload.abort();
      reject(new MercurioApiError(0, 'aborted', 'the upload was aborted'));
    });
    upload.start();
  });
}

async function fetchAttachment(target: UploadTarget, base: string, id: string): Promise<UploadedAttachment> {
  const response = await target.fetch(`${base}/v1/apps/${encodeURIComponent(target.app)}/attachments/${id}`, {
    method: 'GET',
    headers: { authorization: `Bearer ${await target.tokens.get()}` },
  });
  const json = (await response.json()) as {
    result?: UploadedAttachment;
    err?: { code: string; message: string };
  };
  if (!response.ok || !json.result) {
    throw new MercurioApiError(
      response.status,
      json.err?.code ?? `http_${response.status}`,
      json.err?.message ?? 'upload not found',
    );
  }
  return json.result;
}
