import type { MercurioClient } from '@mercurio/sdk';
import { fill, h } from './dom.js';
import { presenceDot } from './list.js';
import { type ChatState, membersLabel } from './state.js';

/** User ids typed as "bob, carol dave": split on commas and spaces, without duplicates. */
export function parseMembers(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((id) => id.length > 0))];
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A modal dialog (the platform's `<dialog>`): a title, a body, a close button. */
function dialog(id: string, title: string): { element: HTMLDialogElement; body: HTMLElement } {
  const close = h('button', { class: 'icon close', type: 'button', 'aria-label': 'Close' }, '✕');
  const body = h('div', { class: 'dialog-body' });
  const element = h(
    'dialog',
    { id, class: 'panel', 'aria-label': title },
    h('header', { class: 'bar' }, h('h2', {}, title), close),
    body,
  );
  close.addEventListener('click', () => element.close());
  return { element, body };
}

/** "New group": a name and members, created over the HTTP API, then opened. */
export class NewGroupDialog {
  readonly element: HTMLDialogElement;
  readonly name = h('input', {
    id: 'group-title',
    placeholder: 'Group name',
    maxlength: '100',
    required: '',
  });
  readonly members = h('input', {
    id: 'group-members',
    placeholder: 'Members: user ids, separated by commas',
    autocomplete: 'off',
  });
  readonly error = h('p', { class: 'form-error', role: 'alert' });

  constructor(
    readonly client: MercurioClient,
    readonly state: ChatState,
    readonly opened: (id: string) => void,
  ) {
    const { element, body } = dialog('new-group-dialog', 'New group');
    this.element = element;
    const form = h(
      'form',
      { class: 'stack', id: 'new-group-form' },
      h('label', {}, 'Name', this.name),
      h('label', {}, 'Members', this.members),
      h('button', { class: 'primary', type: 'submit' }, 'Create group'),
      this.error,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.create();
    });
    body.append(form);
  }

  open(): void {
    this.name.value = '';
    this.members.value = '';
    fill(this.error);
    this.element.showModal();
    this.name.focus();
  }

  async create(): Promise<void> {
    const name = this.name.value.trim();
    if (!name) return;
    try {
      const created = await this.client.createGroup({ name, members: parseMembers(this.members.value) });
      const group = this.state.setGroup(created);
      this.state.upsert({ id: group.id, group: true }, { name: group.name, timestamp: Date.now() });
      this.element.close();
      this.opened(group.id);
    } catch (error) {
      fill(this.error, errorText(error));
    }
  }
}

/**
 * A group's details: its members (with presence), and for its owner rename, add and remove; for
 * every member, leave. Changes go through the HTTP API; the group-changed notification the server
 * sends to every member updates everyone's view.
 */
export class GroupPanel {
  readonly element: HTMLDialogElement;
  readonly body: HTMLElement;
  readonly error = h('p', { class: 'form-error', id: 'group-error', role: 'alert' });
  groupId: string | undefined;

  constructor(
    readonly client: MercurioClient,
    readonly state: ChatState,
  ) {
    const { element, body } = dialog('group-panel', 'Group');
    this.element = element;
    this.body = body;
    state.subscribe(() => {
      if (this.element.open) this.render();
    });
  }

  async open(groupId: string): Promise<void> {
    this.groupId = groupId;
    fill(this.error);
    this.render();
    this.element.showModal();
    await this.refresh();
  }

  async refresh(): Promise<void> {
    if (!this.groupId) return;
    try {
      this.state.setGroup(await this.client.group(this.groupId));
    } catch {
      // No longer a member: the group can no longer be read, what is known stays shown.
    }
  }

  async #act(action: () => Promise<void>): Promise<void> {
    fill(this.error);
    try {
      await action();
      await this.refresh();
      // Focus in a field holds re-renders back (see render): the action is done, let it go.
      if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
      this.render();
    } catch (error) {
      fill(this.error, errorText(error));
    }
  }

  render(): void {
    const id = this.groupId;
    if (!id) return;
    const { state, client } = this;
    const group = state.groups.get(id);
    const owner = group?.owner === state.user;
    const member = state.isMember(id);
    const parts: Node[] = [];

    if (owner) {
      const name = h('input', { id: 'group-name', value: group?.name ?? '', maxlength: '100', required: '' });
      parts.push(
        inlineForm(
          'rename-form',
          name,
          'Rename',
          (value) => void this.#act(() => client.renameGroup(id, value)),
        ),
      );
    } else {
      parts.push(h('p', { class: 'group-name' }, state.title({ id, group: true })));
    }

    const members = group?.members ?? [];
    parts.push(h('h3', {}, membersLabel(members.length)));
    parts.push(
      h(
        'ul',
        { class: 'members', id: 'group-members-list' },
        ...members.map((m) => {
          const item = h(
            'li',
            { 'data-member': m },
            h('span', { class: 'avatar small' }, (m[0] ?? '?').toUpperCase(), presenceDot(state, m)),
            h('span', { class: 'name' }, m === state.user ? `${m} (you)` : m),
            m === group?.owner ? h('span', { class: 'tag' }, 'owner') : '',
          );
          if (owner && m !== state.user) {
            const remove = h('button', { class: 'link danger remove', type: 'button' }, 'Remove');
            remove.addEventListener('click', () => void this.#act(() => client.removeMember(id, m)));
            item.append(remove);
          }
          return item;
        }),
      ),
    );

    if (owner) {
      const input = h('input', { id: 'add-member', placeholder: 'User id', maxlength: '64', required: '' });
      parts.push(
        inlineForm(
          'add-member-form',
          input,
          'Add',
          (value) => void this.#act(() => client.addMember(id, value)),
        ),
      );
    }
    if (member) {
      const leave = h('button', { class: 'danger-button', id: 'leave-group', type: 'button' }, 'Leave group');
      leave.addEventListener(
        'click',
        () =>
          void this.#act(async () => {
            await client.leaveGroup(id);
            // The server tells the remaining members; this user is no longer one of them.
            const known = state.groups.get(id);
            if (known)
              state.groups.set(id, { ...known, members: known.members.filter((m) => m !== state.user) });
            state.changed();
            this.element.close();
          }),
      );
      parts.push(leave);
    }
    parts.push(this.error);
    // Re-rendering while the user types in a field would lose it: keep the panel while focused inside.
    if (this.body.contains(document.activeElement) && document.activeElement instanceof HTMLInputElement)
      return;
    this.body.replaceChildren(...parts);
  }
}

/** A one-field form with its button: `submit` gets the trimmed value, when there is one. */
function inlineForm(id: string, input: HTMLInputElement, label: string, submit: (value: string) => void) {
  const form = h(
    'form',
    { class: 'inline', id },
    input,
    h('button', { class: 'primary', type: 'submit' }, label),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (value) submit(value);
  });
  return form;
}
