import type { OutboxEntry } from '../store/types.js';
import type { WebhookEvent } from './events.js';
import { endpointsFor, type WebhookSettings } from './settings.js';

/**
 * Turns webhook events into outbox entries for the endpoints that want them. With no endpoint
 * configured (or none wanting an event), nothing is written: webhooks cost nothing when unused.
 */
export class WebhookOutbox {
  #written = false;

  constructor(
    private readonly settings: WebhookSettings | undefined,
    /** Called once entries were committed, to wake the worker. */
    private readonly onCommitted: () => void = () => {},
  ) {}

  /** The caller committed what `entries` returned: the worker may look now. */
  committed(): void {
    if (!this.#written) return;
    this.#written = false;
    this.onCommitted();
  }

  /** `callback` when webhooks are on, else nothing: the store then skips the transaction. */
  when<T>(callback: T): T | undefined {
    return this.enabled ? callback : undefined;
  }

  get enabled(): boolean {
    return (this.settings?.endpoints.length ?? 0) > 0;
  }

  entries(events: readonly WebhookEvent[]): OutboxEntry[] {
    const settings = this.settings;
    if (!settings) return [];
    const entries = events
      .map((event) => ({ ...event, endpoints: endpointsFor(settings, event.app, event.type) }))
      .filter((entry) => entry.endpoints.length > 0);
    if (entries.length > 0) this.#written = true;
    return entries;
  }
}
