import { describe, expect, it } from 'vitest';
import { outgoingPayload } from '../src/outgoing.js';

/**
 * Every outgoing message says its kind, so that a direct message can never be captured by a
 * group that shares its recipient's id (the server decides by `channel_type` and the id's form).
 */
describe('outgoing payloads say their kind', () => {
  it('a plain message to a user is direct, said out loud', () => {
    expect(outgoingPayload('alice', 'hi', 'm1')).toEqual({
      text: 'hi',
      type: 'text',
      message_id: 'm1',
      channel_type: 'direct',
    });
  });

  it('a group message says group, with or without inline members', () => {
    expect(outgoingPayload('trip', 'hi', 'm1', { group: true }).channel_type).toBe('group');
    const inline = outgoingPayload('trip', 'hi', 'm1', { group: { members: ['a', 'b'], name: 'Trip' } });
    expect(inline.channel_type).toBe('group');
    expect(inline.group).toEqual({ members: { a: 1, b: 1 }, name: 'Trip' });
  });

  it("Chat21's rule: a group-form recipient is a group, and content may say channel_type", () => {
    expect(outgoingPayload('group-42', 'hi', 'm1').channel_type).toBe('group');
    expect(outgoingPayload('trip', { text: 'hi', channel_type: 'group' }, 'm1').channel_type).toBe('group');
  });

  it('group: false insists on direct, whatever the content says, and refuses a group-form id', () => {
    const payload = outgoingPayload('alice', { text: 'hi', channel_type: 'group' }, 'm1', { group: false });
    expect(payload.channel_type).toBe('direct');
    expect(() => outgoingPayload('group-42', 'hi', 'm1', { group: false })).toThrow(/group id/);
  });

  it('keeps the message id and the names the caller gives', () => {
    const payload = outgoingPayload('alice', { text: 'hi', message_id: 'ignored' }, 'm2', {
      senderFullname: 'Bob',
      attributes: { a: 1 },
    });
    expect(payload).toMatchObject({ message_id: 'm2', sender_fullname: 'Bob', attributes: { a: 1 } });
  });
});
