import { conversationKindOf, type MercurioClient, type SearchHit } from '@mercurio/sdk';
import { h, highlight, timeOf } from './dom.js';
import type { ChatState } from './state.js';

/**
 * Search across conversations: results with the matched words highlighted (built from the
 * message text as text nodes; the server's HTML snippet is not used), each opening its thread at
 * the message.
 */
export class SearchView {
  readonly input = h('input', {
    id: 'search',
    type: 'search',
    placeholder: 'Search messages',
    maxlength: '200',
    'aria-label': 'Search messages',
  });
  readonly form = h('form', { class: 'search', role: 'search' }, this.input);
  readonly results = h('ul', { class: 'results', id: 'search-results', hidden: 'true' });

  constructor(
    readonly client: MercurioClient,
    readonly state: ChatState,
    readonly open: (hit: SearchHit) => void,
  ) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.run(this.input.value.trim());
    });
    this.input.addEventListener('input', () => {
      if (!this.input.value.trim()) this.results.hidden = true;
    });
  }

  async run(q: string): Promise<void> {
    if (!q) {
      this.results.hidden = true;
      return;
    }
    const hits = await this.client.search(q, { limit: 30 });
    this.results.hidden = false;
    if (hits.length === 0) {
      this.results.replaceChildren(h('li', { class: 'muted' }, `No messages match “${q}”`));
      return;
    }
    this.results.replaceChildren(
      ...hits.map((hit) => {
        // The hit's conversation is the one of the message's own kind.
        const group = conversationKindOf(hit.message.channel_type, hit.conversWith) === 'group';
        const title = this.state.title({ id: hit.conversWith, group });
        const item = h(
          'li',
          { class: 'result', tabindex: '0', 'data-id': hit.message.message_id },
          h(
            'span',
            { class: 'result-head' },
            h('span', { class: 'name' }, group ? `# ${title}` : title),
            h('time', {}, timeOf(hit.message.timestamp)),
          ),
          h('span', { class: 'snippet' }, ...highlight(hit.message.text ?? '', q)),
        );
        item.addEventListener('click', () => this.open(hit));
        item.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') this.open(hit);
        });
        return item;
      }),
    );
  }

  hide(): void {
    this.results.hidden = true;
  }
}
