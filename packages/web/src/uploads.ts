import { type ChatMessage, MercurioApiError, type MercurioClient } from '@mercurio/sdk';
import { type AttachmentFiles, sizeLabel } from './attachment-files.js';
import { h } from './dom.js';
import type { ChatState, ConversationRef } from './state.js';

/** What the uploads need of the open thread. */
export interface UploadThread {
  readonly current: ConversationRef | undefined;
  isCurrent(ref: ConversationRef): boolean;
  onMessage(message: ChatMessage): void;
}

/** What a refusal means, in words; the server's stable code is shown next to it. */
const REASONS: Record<string, string> = {
  attachment_type_not_allowed: 'this type of file is not allowed',
  attachment_too_large: 'the file is too large',
  image_too_large: 'the image has too many pixels',
  not_a_member: 'you are not a member of this group',
  group_not_found: 'no such group',
};

/**
 * Files on their way into the open conversation, above the composer: each with its name, a
 * progress bar (the SDK's tus upload, resumable) and Cancel; a refused or failed one stays with
 * the reason and the server's code until dismissed. Files come from the Attach button, a drop on
 * the thread or a paste (thread.ts, composer.ts).
 */
export class Uploads {
  readonly list = h('ul', {
    class: 'uploads',
    id: 'uploads',
    'aria-label': 'Uploads',
    'aria-live': 'polite',
  });

  constructor(
    readonly client: MercurioClient,
    readonly state: ChatState,
    readonly thread: UploadThread,
    readonly files: AttachmentFiles,
  ) {}

  /** One upload at a time, in the order given: the messages arrive in the order the files were picked. */
  #queue: Promise<void> = Promise.resolve();

  add(files: Iterable<File>): void {
    const to = this.thread.current;
    if (!to) return;
    for (const file of files) {
      const send = this.#queued(to, file);
      this.#queue = this.#queue.then(send);
    }
  }

  /** Shows the file as waiting (Cancel works at once) and answers how to send it when its turn comes. */
  #queued(to: ConversationRef, file: File): () => Promise<void> {
    const name = file.name || 'file';
    const abort = new AbortController();
    const progress = h('progress', {
      max: String(Math.max(file.size, 1)),
      value: '0',
      'aria-label': `Uploading ${name}`,
    });
    const percent = h('span', { class: 'upload-percent' }, '0%');
    const cancel = h(
      'button',
      { class: 'icon', type: 'button', 'aria-label': `Cancel upload of ${name}` },
      '✕',
    );
    cancel.addEventListener('click', () => abort.abort());
    const row = h(
      'li',
      { class: 'upload', 'data-state': 'waiting' },
      h('span', { class: 'upload-name', title: name }, name),
      h('span', { class: 'upload-size muted' }, sizeLabel(file.size)),
      progress,
      percent,
      cancel,
    );
    this.list.append(row);
    return async () => {
      if (abort.signal.aborted) return this.#failed(row, name, 'aborted');
      row.dataset.state = 'uploading';
      await this.#send(to, file, name, { row, progress, percent, signal: abort.signal });
    };
  }

  async #send(
    to: ConversationRef,
    file: File,
    name: string,
    view: { row: HTMLElement; progress: HTMLProgressElement; percent: HTMLElement; signal: AbortSignal },
  ): Promise<void> {
    const { row, progress, percent, signal } = view;
    const group = to.group;
    const title = group ? this.state.title(to) : undefined;
    try {
      const { message_id, attachment } = await this.client.sendFile(to.id, file, {
        name,
        group,
        signal,
        ...(title ? { recipientFullname: title } : {}),
        onProgress: ({ sent, total }) => {
          progress.max = Math.max(total, 1);
          progress.value = sent;
          percent.textContent = `${Math.floor((100 * sent) / Math.max(total, 1))}%`;
        },
      });
      this.files.remember(attachment);
      row.remove();
      // Shown at once (the broker has it); the server's copy (with its seq) takes its place.
      const message: ChatMessage = {
        message_id,
        sender: this.state.user,
        recipient: to.id,
        app_id: this.client.appId,
        timestamp: Date.now(),
        channel_type: group ? 'group' : 'direct',
        status: 100,
        seq: 0,
        text: attachment.metadata.name,
        type: attachment.type,
        metadata: attachment.metadata,
      };
      this.state.fromMessage(to, message, false);
      if (this.thread.isCurrent(to)) this.thread.onMessage(message);
    } catch (e) {
      const code = e instanceof MercurioApiError ? e.code : 'upload_failed';
      this.#failed(row, name, code);
    }
  }

  #failed(row: HTMLElement, name: string, code: string): void {
    const aborted = code === 'aborted';
    const dismiss = h('button', { class: 'icon', type: 'button', 'aria-label': `Dismiss ${name}` }, '✕');
    dismiss.addEventListener('click', () => row.remove());
    row.dataset.state = aborted ? 'cancelled' : 'failed';
    row.replaceChildren(
      h('span', { class: 'upload-name', title: name }, name),
      aborted
        ? h('span', { class: 'upload-error muted' }, 'Upload cancelled')
        : h(
            'span',
            { class: 'upload-error', role: 'alert' },
            `Not sent: ${REASONS[code] ?? 'the upload failed'} `,
            h('code', { class: 'error-code' }, code),
          ),
      dismiss,
    );
  }
}
