import type { Publication } from '../bus/bus.js';
import type { MessageActionStore } from '../store/message-action-store.js';
import type { RouterStore } from '../store/router-store.js';
import type { StoredMessage } from '../store/types.js';
import type { WebhookOutbox } from '../webhooks/outbox.js';
import type { MessageActionSettings } from './settings.js';

/**
 * What changing a message needs. The router's pipelines and the HTTP API both act through this
 * module (they never import each other), each with its own store slice and clock.
 */
export interface MessageActionDeps {
  store: MessageActionStore & Pick<RouterStore, 'findMessage' | 'getGroup'>;
  settings: MessageActionSettings;
  webhooks: Pick<WebhookOutbox, 'entries' | 'wake' | 'enabled'>;
  now: () => number;
  /** Removes a deleted message's attachments (rows, blobs, thumbnails); without it there are none. */
  attachments?:
    | { removeForMessages(app: string, messageIds: readonly string[]): Promise<number> }
    | undefined;
}

/** Who acts: a user, or an admin acting as that user (HTTP only). */
export interface Actor {
  user: string;
  /** An admin may delete others' messages and sees every message of the app. */
  admin: boolean;
}

/** The message acted on, as the actor names it. */
export interface Target {
  app: string;
  messageId: string;
  /** The conversation as the actor sees it; HTTP routes name none (it follows from the message). */
  conversWith?: string | undefined;
}

export interface ActionResult {
  /** The message as it is now. */
  message: StoredMessage;
  /** False when nothing was written (a replay): the events say the same as before. */
  changed: boolean;
  /** What to publish: the change to every party's inbox, their conversation entries. */
  publications: Publication[];
}
