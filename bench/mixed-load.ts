/**
 * The mixed workload (issue 15), in the load generator: at a fixed rate, round robin over direct
 * conversations, each operation one of
 *   12 in 20  a new message            latency: due → the recipient's `clientadded`
 *    3 in 20  the sender edits its last message    → the recipient's `clientupdated` (edited)
 *    3 in 20  the recipient reacts to it (add / remove in turn) → the sender's `clientupdated` (reactions)
 *    2 in 20  the recipient's read receipt          → the sender's `clientupdated` (status 250)
 * An action needs a message the other side already has: until a conversation's first message is
 * back, its actions are sends (and so is a second receipt for a message already read). Latency is from the operation's due time (no coordinated omission).
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { closeClients, connectAll, type Jwt, token, waitFor, waitUntil } from './load-clients.js';
import { connect, type LatencySummary, newHistogram, recordMs, summarize } from './support.js';

export type MixedKind = 'send' | 'edit' | 'react' | 'receipt';

export interface MixedRequest {
  type: 'mixed';
  url: string;
  app: string;
  jwt: Jwt;
  /** Direct conversations s<i> → r<i>. */
  conversations: number;
  rate: number;
  durationMs: number;
}

export interface MixedResult {
  /** Operations published of each kind, and how many of them were seen by the other side. */
  sent: Record<MixedKind, number>;
  seen: Record<MixedKind, number>;
  latency: Record<MixedKind, LatencySummary>;
  all: LatencySummary;
}

/** 12 : 3 : 3 : 2, interleaved so that even a short run does each kind from the start. */
// biome-ignore format: one row of twenty reads better than twenty rows
const MIX: MixedKind[] = ['send', 'send', 'edit', 'send', 'react', 'send', 'receipt', 'send', 'send', 'edit', 'send', 'react', 'send', 'send', 'receipt', 'send', 'edit', 'send', 'react', 'send'];
const KINDS: MixedKind[] = ['send', 'edit', 'react', 'receipt'];
const TEXT = 'y'.repeat(120);

interface Conversation {
  sender: string;
  recipient: string;
  tx: MqttClient;
  rx: MqttClient;
  /** The newest message the recipient has, whether its reaction is on it, whether it read it. */
  last?: { id: string; reacted: boolean; read: boolean };
  /** Due times of actions not yet seen, per message id and kind (first in, first out). */
  pending: Map<string, number[]>;
}

export async function runMixed(req: MixedRequest): Promise<MixedResult> {
  const { url, app, jwt, rate, durationMs } = req;
  const histograms = Object.fromEntries(KINDS.map((k) => [k, newHistogram()])) as Record<
    MixedKind,
    ReturnType<typeof newHistogram>
  >;
  const all = newHistogram();
  const sent = { send: 0, edit: 0, react: 0, receipt: 0 };
  const seen = { send: 0, edit: 0, react: 0, receipt: 0 };
  const clients: MqttClient[] = [];
  const conversations: Conversation[] = [];
  const record = (kind: MixedKind, due: number | undefined) => {
    if (due === undefined) return;
    const ms = performance.now() - due;
    recordMs(histograms[kind], ms);
    recordMs(all, ms);
    seen[kind]++;
  };
  const dueOf = (c: Conversation, id: string, kind: MixedKind) => c.pending.get(`${kind}/${id}`)?.shift();

  await connectAll(
    Array.from({ length: req.conversations }, (_, i) => i),
    16,
    async (i) => {
      const sender = `mx${i}`;
      const recipient = `my${i}`;
      const tx = await connect(url, await token(jwt, app, sender), `mixed-tx${i}-${app}`);
      const rx = await connect(url, await token(jwt, app, recipient), `mixed-rx${i}-${app}`);
      clients.push(tx, rx);
      const c: Conversation = { sender, recipient, tx, rx, pending: new Map() };
      conversations[i] = c;
      await rx.subscribeAsync(`apps/${app}/users/${recipient}/messages/${sender}/#`, { qos: 1 });
      await tx.subscribeAsync(`apps/${app}/users/${sender}/messages/${recipient}/+/clientupdated`, {
        qos: 1,
      });
      rx.on('message', (topic, payload) => {
        const m = JSON.parse(payload.toString()) as { message_id: string; text?: string; change?: string };
        if (topic.endsWith('/clientadded')) {
          c.last = { id: m.message_id, reacted: false, read: false };
          record('send', dueOf(c, m.message_id, 'send'));
        } else if (m.change === 'edited') record('edit', dueOf(c, m.message_id, 'edit'));
      });
      tx.on('message', (_topic, payload) => {
        const m = JSON.parse(payload.toString()) as { message_id: string; status?: number; change?: string };
        if (m.change === 'reactions') record('react', dueOf(c, m.message_id, 'react'));
        else if (m.change === undefined && m.status === 250)
          record('receipt', dueOf(c, m.message_id, 'receipt'));
      });
    },
  );

  const expect = (c: Conversation, id: string, kind: MixedKind, due: number) => {
    const key = `${kind}/${id}`;
    const list = c.pending.get(key) ?? [];
    list.push(due);
    c.pending.set(key, list);
    sent[kind]++;
  };
  const operate = (n: number, due: number) => {
    const c = conversations[n % conversations.length]!;
    const wanted = MIX[n % MIX.length]!;
    // A second receipt for the same message moves no watermark and is told to nobody: a send instead.
    const kind = c.last === undefined || (wanted === 'receipt' && c.last.read) ? 'send' : wanted;
    const base = `apps/${app}/users`;
    if (kind === 'send') {
      const id = randomUUID();
      expect(c, id, 'send', due);
      c.tx.publish(
        `apps/${app}/outgoing/users/${c.sender}/messages/${c.recipient}/outgoing`,
        JSON.stringify({ text: `${due} ${TEXT}`, type: 'text', message_id: id }),
        { qos: 1 },
      );
      return;
    }
    const last = c.last!;
    expect(c, last.id, kind, due);
    if (kind === 'edit') {
      c.tx.publish(
        `${base}/${c.sender}/messages/${c.recipient}/${last.id}/edit`,
        JSON.stringify({ text: `edited ${due} ${TEXT}` }),
        { qos: 1 },
      );
    } else if (kind === 'react') {
      const action = last.reacted ? 'remove' : 'add';
      last.reacted = !last.reacted;
      c.rx.publish(
        `${base}/${c.recipient}/messages/${c.sender}/${last.id}/react`,
        JSON.stringify({ reaction: '👍', action }),
        { qos: 1 },
      );
    } else {
      last.read = true;
      c.rx.publish(
        `${base}/${c.recipient}/messages/${c.sender}/${last.id}/update`,
        JSON.stringify({ status: 200 }),
        {
          qos: 1,
        },
      );
    }
  };

  const total = Math.round((rate * durationMs) / 1000);
  const t0 = performance.now();
  const dueAt = (n: number) => t0 + (n * 1000) / rate;
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && dueAt(next) <= now) {
      operate(next, dueAt(next));
      next++;
    }
    if (next < total) await waitFor(dueAt(next), rate);
  }
  const expected = () => KINDS.reduce((sum, k) => sum + sent[k], 0);
  const arrived = () => KINDS.reduce((sum, k) => sum + seen[k], 0);
  await waitUntil(() => arrived() >= expected(), 15_000);
  await closeClients(clients);
  return {
    sent,
    seen,
    latency: Object.fromEntries(KINDS.map((k) => [k, summarize(histograms[k])])) as Record<
      MixedKind,
      LatencySummary
    >,
    all: summarize(all),
  };
}
