import type { OutboxEntry } from '../store/types.js';
import type { WebhookEvent } from './events.js';
import { endpointsFor, type WebhookSettings } from './settings.js';

/**
 * Turns webhook events into outbox entries for the endpoints that want them. With no endpoint
 * configured (or none wanting an event), nothing is written: webhooks cost nothing when unused.
 */
export class WebhookOutbox {
  constructor(
    private readonly settings: WebhookSettings | undefined,
    /** Wakes the worker: entries were committed. */
    private readonly onCommitted: () => void = () => {},
  ) {}

  /** The caller committed entries: the worker may look now rather than at its next poll. */
  wake(): void {
    this.onCommitted();
  }

  get enabled(): boolean {
    return (this.settings?.endpoints.length ?? 0) > 0;
  }

  /** The outbox rows for these events: one per event some endpoint wants, naming those endpoints. */
  entries(events: readonly WebhookEvent[]): OutboxEntry[] {
    const settings = this.settings;
    if (!settings) return [];
    return events
      .map((event) => ({ ...event, endpoints: endpointsFor(settings, event.app, event.type) }))
      .filter((entry) => entry.endpoints.length > 0);
  }
}
