/**
 * The load generator: a child process (forked by the bench) holding the MQTT clients, so the
 * engine's event loop and CPU time are its own. Driven by request messages over IPC; every reply
 * carries the request's id.
 */
import type { MqttClient } from 'mqtt';
import { closeClients, connectAll, type Jwt, signal, token, waitFor, waitUntil } from './load-clients.js';
import { type MixedRequest, runMixed } from './mixed-load.js';
import { connect, type LatencySummary, newHistogram, recordMs, sleep, summarize } from './support.js';

/** One sender and the subscriptions that must see each of its messages. */
export interface Lane {
  sender: string;
  publish: string;
  /** The copy whose arrival is the latency (a second connection of `user`). */
  receiver: { user: string; topic: string };
  /** Another copy that must arrive, on the sender's own connection (its own copy of a direct message). */
  ownCopy?: string | undefined;
}

export type LaneMode =
  | { kind: 'peak'; durationMs: number; window: number }
  | {
      kind: 'rate';
      rate: number;
      durationMs: number;
      /** Probe only: the scheduling of the first harness (each message sent one interval after it was due). */
      legacySchedule?: boolean;
      /** Probe only: wait for due times with timers alone. */
      noSpin?: boolean;
    };

export interface LanesResult {
  sent: number;
  received: number;
  ownCopies: number;
  lost: number;
  seconds: number;
  /** Messages/s that reached the receiver, first send to last arrival. */
  rate: number;
  latency: LatencySummary;
  /** Fixed rates: how late each message was sent after it was due (part of `latency`). */
  sendLag?: LatencySummary | undefined;
}

/** The minimal ping: one publisher, one subscriber, one message every `intervalMs`. */
export interface PingResult {
  sent: number;
  received: number;
  /** publish() → 'message', ms. */
  latency: LatencySummary;
}

export interface GroupResult {
  messages: number;
  deliveries: number;
  missing: number;
  seconds: number;
  deliveriesPerSecond: number;
  /** Publish → the last member received it. */
  lastMember: LatencySummary;
}

export interface ConnResult {
  connected: number;
  errors: number;
  lastError: string | undefined;
  seconds: number;
  stoppedBy: 'done' | 'deadline' | 'errors' | 'stop';
}

export type Request =
  | {
      type: 'lanes';
      url: string;
      app: string;
      jwt: Jwt;
      lanes: Lane[];
      mode: LaneMode;
      tag: string;
      /** Probe only: leave Nagle's algorithm on the client sockets (MQTT.js's default). */
      nagle?: boolean;
    }
  | { type: 'ping'; url: string; app: string; jwt: Jwt; intervalMs: number; durationMs: number; tag: string }
  | { type: 'groupConnect'; url: string; app: string; jwt: Jwt; members: string[] }
  | {
      type: 'groupRun';
      app: string;
      groupId: string;
      sender: string;
      size: number;
      mode: { kind: 'peak'; durationMs: number; window: number } | { kind: 'serial'; count: number };
    }
  | {
      type: 'connRamp';
      url: string;
      app: string;
      jwt: Jwt;
      from: number;
      count: number;
      concurrency: number;
      deadlineMs: number;
      maxErrors: number;
    }
  | MixedRequest
  | { type: 'stop' }
  | { type: 'closeAll' };

const PADDING = 'x'.repeat(120);
const clients: MqttClient[] = [];
let stopRequested = false;

/**
 * Direct messages or the raw relay. The text of each message starts with its send time (for
 * `rate`, the time it was due: latency includes any lag of the sender — no coordinated omission).
 */
async function runLanes(req: Extract<Request, { type: 'lanes' }>): Promise<LanesResult> {
  const { url, app, jwt, lanes, mode, tag } = req;
  const socket = { nagle: req.nagle === true };
  const histogram = newHistogram();
  const lag = newHistogram();
  const own: MqttClient[] = [];
  let sent = 0;
  let received = 0;
  let ownCopies = 0;
  let lastArrival = 0;
  const inflight = new Array<number>(lanes.length).fill(0);
  const senders: MqttClient[] = [];
  const wake: (() => void)[] = [];
  await connectAll(
    lanes.map((lane, i) => ({ lane, i })),
    16,
    async ({ lane, i }) => {
      const rx = await connect(
        url,
        await token(jwt, app, lane.receiver.user),
        `${tag}-rx${i}-${app}`,
        {},
        socket,
      );
      const tx = await connect(url, await token(jwt, app, lane.sender), `${tag}-tx${i}-${app}`, {}, socket);
      own.push(rx, tx);
      senders[i] = tx;
      await rx.subscribeAsync(lane.receiver.topic, { qos: 1 });
      rx.on('message', (_topic, payload) => {
        const now = performance.now();
        const text = (JSON.parse(payload.toString()) as { text: string }).text;
        recordMs(histogram, now - Number(text.slice(0, text.indexOf(' '))));
        received++;
        lastArrival = now;
        inflight[i]!--;
        wake[i]?.();
      });
      if (lane.ownCopy) {
        await tx.subscribeAsync(lane.ownCopy, { qos: 1 });
        tx.on('message', () => {
          ownCopies++;
        });
      }
    },
  );
  const publish = (i: number, at: number) => {
    sent++;
    inflight[i]!++;
    senders[i]!.publish(
      lanes[i]!.publish,
      JSON.stringify({
        text: `${at} ${PADDING}`,
        type: 'text',
        channel_type: 'direct',
        sender_fullname: 'Bench Sender',
      }),
      { qos: 1 },
    );
  };
  const t0 = performance.now();
  if (mode.kind === 'peak') {
    // Closed loop, end to end: each lane keeps `window` messages sent and not yet received.
    await Promise.all(
      lanes.map(async (_lane, i) => {
        while (performance.now() - t0 < mode.durationMs) {
          while (inflight[i]! < mode.window) publish(i, performance.now());
          if (
            !(await signal((fire) => {
              wake[i] = fire;
            }, 30_000))
          )
            break;
        }
      }),
    );
  } else if (mode.legacySchedule) {
    // The first harness's loop, kept to measure it: message n is sent once floor(elapsed × rate)
    // passes n, i.e. one interval after it is due (10 ms at 100/s), in 1 ms sleeps.
    const total = Math.round((mode.rate * mode.durationMs) / 1000);
    let next = 0;
    while (next < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * mode.rate) / 1000));
      while (next < due) {
        const at = t0 + (next * 1000) / mode.rate;
        recordMs(lag, performance.now() - at);
        publish(next % lanes.length, at);
        next++;
      }
      await sleep(1);
    }
  } else {
    // Open loop: message n is due at t0 + n / rate, round robin over the lanes, and sent as soon
    // as it is due (every message whose due time has come, then a wait for the next one).
    const total = Math.round((mode.rate * mode.durationMs) / 1000);
    const dueAt = (n: number) => t0 + (n * 1000) / mode.rate;
    let next = 0;
    while (next < total) {
      const now = performance.now();
      while (next < total && dueAt(next) <= now) {
        recordMs(lag, now - dueAt(next));
        publish(next % lanes.length, dueAt(next));
        next++;
      }
      if (next < total) await waitFor(dueAt(next), mode.noSpin ? Number.POSITIVE_INFINITY : mode.rate);
    }
  }
  const expectOwn = lanes.some((lane) => lane.ownCopy) ? sent : 0;
  await waitUntil(() => received >= sent && ownCopies >= expectOwn, 30_000);
  const seconds = ((lastArrival || performance.now()) - t0) / 1000;
  await closeClients(own);
  return {
    sent,
    received,
    ownCopies,
    lost: sent - received + (expectOwn - ownCopies),
    seconds,
    rate: Math.round(received / seconds),
    latency: summarize(histogram),
    sendLag: mode.kind === 'rate' ? summarize(lag) : undefined,
  };
}

/**
 * The floor the relay is checked against: one publisher and one subscriber (two connections of
 * one user), QoS 1, one message every `intervalMs`, latency from the publish() call to the
 * subscriber's 'message' event — what MQTT.js through this broker costs with nothing else.
 */
async function runPing(req: Extract<Request, { type: 'ping' }>): Promise<PingResult> {
  const { url, app, jwt, intervalMs, durationMs, tag } = req;
  const user = 'ping';
  const topic = `apps/${app}/users/${user}/ping`;
  const rx = await connect(url, await token(jwt, app, user), `${tag}-rx-${app}`);
  const tx = await connect(url, await token(jwt, app, user), `${tag}-tx-${app}`);
  await rx.subscribeAsync(topic, { qos: 1 });
  const histogram = newHistogram();
  const sentAt = new Map<number, number>();
  let received = 0;
  rx.on('message', (_topic, payload) => {
    const now = performance.now();
    const text = payload.toString();
    const n = Number(text.slice(0, text.indexOf(' ')));
    const at = sentAt.get(n);
    if (at === undefined) return;
    sentAt.delete(n);
    recordMs(histogram, now - at);
    received++;
  });
  const count = Math.floor(durationMs / intervalMs);
  for (let n = 0; n < count; n++) {
    sentAt.set(n, performance.now());
    // As large as the relay's messages.
    tx.publish(topic, `${n} ${PADDING}${PADDING.slice(0, 60)}`, { qos: 1 });
    await sleep(intervalMs);
  }
  await waitUntil(() => received >= count, 10_000);
  await closeClients([rx, tx]);
  return { sent: count, received, latency: summarize(histogram) };
}

// --- groups: one client per member, reused by every group run ------------------------------------

interface GroupTrack {
  groupId: string;
  size: number;
  pending: Map<number, { sentAt: number; count: number }>;
  deliveries: number;
  done: number;
  lastArrival: number;
  histogram: ReturnType<typeof newHistogram>;
  onComplete: () => void;
}
const members = new Map<string, MqttClient>();
let group: GroupTrack | undefined;

async function groupConnect(req: Extract<Request, { type: 'groupConnect' }>): Promise<number> {
  const { url, app, jwt } = req;
  await connectAll(req.members, 16, async (member) => {
    const client = await connect(url, await token(jwt, app, member), `g-${member}-${app}`);
    members.set(member, client);
    clients.push(client);
    await client.subscribeAsync(`apps/${app}/users/${member}/messages/+/clientadded`, { qos: 1 });
    client.on('message', (topic, payload) => {
      const g = group;
      if (!g || topic.split('/')[5] !== g.groupId) return;
      const text = (JSON.parse(payload.toString()) as { text: string }).text;
      const k = Number(text.slice(0, text.indexOf(' ')));
      const entry = g.pending.get(k);
      if (!entry) return;
      const now = performance.now();
      g.deliveries++;
      g.lastArrival = now;
      if (++entry.count === g.size) {
        recordMs(g.histogram, now - entry.sentAt);
        g.pending.delete(k);
        g.done++;
        g.onComplete();
      }
    });
  });
  return members.size;
}

async function groupRun(req: Extract<Request, { type: 'groupRun' }>): Promise<GroupResult> {
  const { app, groupId, sender, size, mode } = req;
  const tx = members.get(sender);
  if (!tx) throw new Error(`sender ${sender} is not connected`);
  let wakeUp = () => {};
  const g: GroupTrack = {
    groupId,
    size,
    pending: new Map(),
    deliveries: 0,
    done: 0,
    lastArrival: 0,
    histogram: newHistogram(),
    onComplete: () => wakeUp(),
  };
  group = g;
  let k = 0;
  const topic = `apps/${app}/outgoing/users/${sender}/messages/${groupId}/outgoing`;
  const send = () => {
    const id = k++;
    g.pending.set(id, { sentAt: performance.now(), count: 0 });
    tx.publish(topic, JSON.stringify({ text: `${id} ${PADDING}`, type: 'text', channel_type: 'group' }), {
      qos: 1,
    });
  };
  const t0 = performance.now();
  const window = mode.kind === 'peak' ? mode.window : 1;
  const more = () => (mode.kind === 'peak' ? performance.now() - t0 < mode.durationMs : k < mode.count);
  while (more()) {
    while (g.pending.size < window && more()) send();
    if (
      !(await signal((fire) => {
        wakeUp = fire;
      }, 30_000))
    )
      break;
  }
  await waitUntil(() => g.pending.size === 0, 30_000);
  const seconds = ((g.lastArrival || performance.now()) - t0) / 1000;
  group = undefined;
  return {
    messages: k,
    deliveries: g.deliveries,
    missing: k * size - g.deliveries,
    seconds,
    deliveriesPerSecond: Math.round(g.deliveries / seconds),
    lastMember: summarize(g.histogram),
  };
}

// --- connections: authenticated WebSocket clients with presence -----------------------------------

async function connRamp(req: Extract<Request, { type: 'connRamp' }>): Promise<ConnResult> {
  const { url, app, jwt, from, count, concurrency, deadlineMs, maxErrors } = req;
  stopRequested = false;
  let connected = 0;
  let errors = 0;
  let lastError: string | undefined;
  let next = 0;
  const t0 = performance.now();
  let stoppedBy: ConnResult['stoppedBy'] = 'done';
  const report = setInterval(() => send({ type: 'progress', connected, errors, lastError }), 1000);
  const halt = () => {
    if (stopRequested) stoppedBy = 'stop';
    else if (errors >= maxErrors) stoppedBy = 'errors';
    else if (performance.now() - t0 > deadlineMs) stoppedBy = 'deadline';
    else return false;
    return true;
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && !halt()) {
        const i = from + next++;
        const user = `c${i}`;
        const clientId = `c${i}-${app}`;
        const presence = `apps/${app}/users/${user}/presence/${clientId}`;
        try {
          const client = await connect(url, await token(jwt, app, user), clientId, {
            will: { topic: presence, payload: Buffer.from('{"disconnected":true}'), qos: 1, retain: false },
            keepalive: 300,
          });
          clients.push(client);
          client.on('error', () => {});
          await client.publishAsync(presence, '{"connected":true}', { qos: 1 });
          connected++;
        } catch (error) {
          errors++;
          lastError = error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  clearInterval(report);
  return { connected, errors, lastError, seconds: (performance.now() - t0) / 1000, stoppedBy };
}

// --- IPC --------------------------------------------------------------------------------------------

function send(message: unknown): void {
  process.send?.(message);
}

async function handle(req: Request): Promise<unknown> {
  switch (req.type) {
    case 'lanes':
      return runLanes(req);
    case 'ping':
      return runPing(req);
    case 'groupConnect':
      return groupConnect(req);
    case 'groupRun':
      return groupRun(req);
    case 'connRamp':
      return connRamp(req);
    case 'mixed':
      return runMixed(req);
    case 'stop':
      stopRequested = true;
      return null;
    case 'closeAll': {
      const list = clients.splice(0);
      members.clear();
      // Ending thousands of clients at once: in slices, so the broker sees orderly DISCONNECTs.
      for (let i = 0; i < list.length; i += 500) await closeClients(list.slice(i, i + 500));
      return list.length;
    }
  }
}

process.on('message', (message: { id: number; request: Request }) => {
  handle(message.request).then(
    (result) => send({ id: message.id, ok: true, result }),
    (error: unknown) =>
      send({ id: message.id, ok: false, error: error instanceof Error ? error.stack : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
