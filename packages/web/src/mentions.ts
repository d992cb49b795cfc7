import { h } from './dom.js';

/** The members a text mentions (`@id`, not followed by more of an id): what goes out as `mentions`. */
export function mentionsIn(text: string, members: readonly string[]): string[] {
  return members.filter((member) => {
    const at = `@${member}`;
    for (let i = text.indexOf(at); i !== -1; i = text.indexOf(at, i + 1)) {
      const after = text[i + at.length];
      const before = i === 0 ? ' ' : text[i - 1]!;
      if ((after === undefined || !/[\w.-]/u.test(after)) && !/[\w.-]/u.test(before)) return true;
    }
    return false;
  });
}

/** The `@word` being typed just before the caret, if any. */
function typedMention(input: HTMLInputElement): { start: number; prefix: string } | undefined {
  const caret = input.selectionStart ?? input.value.length;
  const match = /(?:^|\s)@([\w.-]*)$/u.exec(input.value.slice(0, caret));
  if (!match) return undefined;
  return { start: caret - match[1]!.length - 1, prefix: match[1]! };
}

let lists = 0;

/**
 * @-autocomplete on a text field: typing `@` and the start of a name lists the conversation's
 * members (a listbox under the field, as the ARIA combobox pattern has it: arrows move, Enter or
 * Tab picks, Escape closes, a click picks); picking writes `@id ` in place.
 */
export class MentionPicker {
  readonly list: HTMLUListElement;
  #options: string[] = [];
  #active = 0;

  constructor(
    readonly input: HTMLInputElement,
    readonly members: () => string[],
  ) {
    const id = `mention-list-${++lists}`;
    this.list = h('ul', {
      class: 'mention-list',
      id,
      role: 'listbox',
      'aria-label': 'Mention',
      hidden: 'true',
    });
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', id);
    input.setAttribute('aria-expanded', 'false');
    input.addEventListener('input', () => this.update());
    input.addEventListener('blur', () => setTimeout(() => this.close(), 150));
    // Before the form's submit: Enter picks while the list is open.
    input.addEventListener('keydown', (event) => this.#key(event));
    this.list.addEventListener('mousedown', (event) => event.preventDefault()); // keep the focus
    this.list.addEventListener('click', (event) => {
      const option = (event.target as Element).closest<HTMLElement>('[role=option]');
      if (option?.dataset.user) this.pick(option.dataset.user);
    });
  }

  get open(): boolean {
    return !this.list.hidden;
  }

  update(): void {
    const typed = typedMention(this.input);
    const prefix = typed?.prefix.toLowerCase();
    this.#options =
      prefix === undefined
        ? []
        : this.members()
            .filter((member) => member.toLowerCase().startsWith(prefix))
            .slice(0, 8);
    if (this.#options.length === 0) {
      this.close();
      return;
    }
    this.#active = Math.min(this.#active, this.#options.length - 1);
    this.#render();
  }

  pick(user: string): void {
    const typed = typedMention(this.input);
    if (!typed) return;
    const caret = this.input.selectionStart ?? this.input.value.length;
    const value = this.input.value;
    const inserted = `@${user} `;
    this.input.value = value.slice(0, typed.start) + inserted + value.slice(caret);
    const at = typed.start + inserted.length;
    this.input.setSelectionRange(at, at);
    this.close();
    this.input.focus();
  }

  close(): void {
    this.list.hidden = true;
    this.#options = [];
    this.#active = 0;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  #key(event: KeyboardEvent): void {
    if (!this.open) return;
    const count = this.#options.length;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      this.#active = (this.#active + (event.key === 'ArrowDown' ? 1 : count - 1)) % count;
      this.#render();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      const user = this.#options[this.#active];
      if (user) this.pick(user);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    }
  }

  #render(): void {
    const listId = this.list.id;
    this.list.replaceChildren(
      ...this.#options.map((user, i) =>
        h(
          'li',
          {
            role: 'option',
            id: `${listId}-${i}`,
            'data-user': user,
            'aria-selected': String(i === this.#active),
            class: i === this.#active ? 'active' : '',
          },
          `@${user}`,
        ),
      ),
    );
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.input.setAttribute('aria-activedescendant', `${listId}-${this.#active}`);
  }
}
