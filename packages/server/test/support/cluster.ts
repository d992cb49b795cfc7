/**
 * The throwaway 3-node RabbitMQ cluster of `scripts/cluster.sh` (each node in its own network
 * namespace), for tests that kill broker nodes or cut them off the network.
 *
 * The `cluster` Vitest project (files `packages/server/test/cluster-*.test.ts`) starts it in its
 * global setup (`global-cluster.ts`, reusing a running one) and stops it at the end of the run if
 * the run started it; a test gets it with `cluster()`. A test that kills or partitions nodes calls
 * `restore()` in its `afterAll`, so the next cluster test finds three running nodes.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

/** What `scripts/cluster.sh env` prints, parsed. Index 0 is node 1. */
export interface ClusterEnv {
  /** `amqp://10.213.0.1<n>:38<n>72`, no credentials: clients add a JWT as the password. */
  amqpUrls: string[];
  /** `mqtt://10.213.0.1<n>:38<n>83` (MQTT 3.1.1; JWT as the password). */
  mqttUrls: string[];
  /** `ws://10.213.0.1<n>:38<n>75/ws` (Web-MQTT). */
  wsUrls: string[];
  /** Erlang node names, `rabbit-<n>@10.213.0.1<n>`. */
  nodes: string[];
  /** The cluster's own HS256 secret (not the shared services' one). */
  jwtSecret: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterEnv;
  }
}

export type NodeNumber = 1 | 2 | 3;
/** `paused`: the VM lives but its broker does not answer (pause_minority, or still booting). */
export type NodeState = 'running' | 'paused' | 'down' | 'absent';

export interface NodeStatus {
  node: NodeNumber;
  name: string;
  state: NodeState;
  /** `down` while the node is partitioned. */
  link: 'up' | 'down' | 'none';
}

export interface ClusterStatus {
  nodes: NodeStatus[];
  /** Three running nodes that see each other as one cluster (the script's exit code 0). */
  healthy: boolean;
}

const SCRIPT = fileURLToPath(new URL('../../../../scripts/cluster.sh', import.meta.url));

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bash scripts/cluster.sh <args>`; progress (stderr) is shown when `echo` is set. */
function run(args: string[], echo = false): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (echo) process.stderr.write(chunk);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

async function runOk(args: string[], echo = false): Promise<RunResult> {
  const result = await run(args, echo);
  if (result.code !== 0) {
    throw new Error(`scripts/cluster.sh ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  }
  return result;
}

function parseEnv(text: string): ClusterEnv {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z_]+)='((?:[^']|'\\'')*)'$/.exec(line.trim());
    if (match) vars[match[1]!] = match[2]!.replaceAll("'\\''", "'");
  }
  const get = (name: string): string => {
    const value = vars[name];
    if (!value) throw new Error(`scripts/cluster.sh did not print ${name}`);
    return value;
  };
  const list = (name: string) => get(name).split(',');
  return {
    amqpUrls: list('MERCURIO_CLUSTER_AMQP_URLS'),
    mqttUrls: list('MERCURIO_CLUSTER_MQTT_URLS'),
    wsUrls: list('MERCURIO_CLUSTER_WS_URLS'),
    nodes: list('MERCURIO_CLUSTER_NODES'),
    jwtSecret: get('MERCURIO_CLUSTER_JWT_SECRET'),
  };
}

function parseStatus(text: string, code: number): ClusterStatus {
  const nodes: NodeStatus[] = [];
  for (const line of text.split('\n')) {
    const match = /^node ([123]) (\S+): (running|paused|down|absent), link (up|down|none)/.exec(line);
    if (match) {
      nodes.push({
        node: Number(match[1]) as NodeNumber,
        name: match[2]!,
        state: match[3] as NodeState,
        link: match[4] as NodeStatus['link'],
      });
    }
  }
  return { nodes, healthy: code === 0 };
}

export class TestCluster {
  /**
   * @param env where the nodes listen
   * @param created this process started the cluster (and so stops it): false when it was running before
   */
  constructor(
    readonly env: ClusterEnv,
    readonly created = false,
  ) {}

  /**
   * Starts the cluster (idempotent: a healthy one is reused). If the start fails, whatever it
   * left (processes, namespaces) is removed again unless the cluster was running before.
   */
  static async start(): Promise<TestCluster> {
    const before = await run(['status']);
    const wasRunning = before.code === 0;
    const started = await run(['start'], true);
    if (started.code !== 0) {
      if (!wasRunning) await run(['stop'], true);
      throw new Error(`scripts/cluster.sh start failed (exit ${started.code}); see the output above`);
    }
    return new TestCluster(parseEnv(started.stdout), !wasRunning);
  }

  /** Stops the cluster (every process, namespace and link) if this process started it. */
  async stop(): Promise<void> {
    if (this.created) await runOk(['stop'], true);
  }

  /**
   * Each node's state and link. `healthy` asks a node for its cluster view (a CLI call, seconds);
   * with `quick` it only says whether all three run (enough to poll on: a paused node resumes only
   * once it sees the majority again).
   */
  async status(options: { quick?: boolean } = {}): Promise<ClusterStatus> {
    const result = await run(options.quick ? ['status', '--nodes'] : ['status']);
    return parseStatus(result.stdout, result.code);
  }

  async nodeState(node: NodeNumber): Promise<NodeState> {
    const status = await this.status({ quick: true });
    return status.nodes.find((s) => s.node === node)?.state ?? 'absent';
  }

  /** SIGKILL node n's VM: a crash, its peers and clients see the connections drop. */
  async kill(node: NodeNumber): Promise<void> {
    await runOk(['kill', String(node)]);
  }

  /** Starts node n again with its data (stops it first if it runs); resolves once its broker answers. */
  async restart(node: NodeNumber): Promise<void> {
    await runOk(['restart', String(node)]);
  }

  /** Node n's link down: cut off from the other nodes and from the clients here. */
  async partition(node: NodeNumber): Promise<void> {
    await runOk(['partition', String(node)]);
  }

  async heal(node: NodeNumber): Promise<void> {
    await runOk(['heal', String(node)]);
  }

  /** `rabbitmqctl <args>` against node n (inside its namespace, so it works on a partitioned node). */
  async ctl(node: NodeNumber, args: string[]): Promise<string> {
    return (await runOk(['ctl', String(node), ...args])).stdout;
  }

  /** The nodes that node n sees running in its cluster (`cluster_status`). */
  async runningNodes(node: NodeNumber): Promise<string[]> {
    const json = JSON.parse(await this.ctl(node, ['-q', 'cluster_status', '--formatter', 'json'])) as {
      running_nodes: string[];
    };
    return [...json.running_nodes].sort();
  }

  /** Polls the quick status until `check` holds; returns the milliseconds it took. */
  async waitFor(check: (status: ClusterStatus) => boolean, timeoutMs: number, what: string): Promise<number> {
    const started = Date.now();
    let last: ClusterStatus | undefined;
    while (Date.now() - started < timeoutMs) {
      last = await this.status({ quick: true });
      if (check(last)) return Date.now() - started;
      await sleep(250);
    }
    throw new Error(`cluster: ${what} not reached in ${timeoutMs} ms; last status ${JSON.stringify(last)}`);
  }

  /** Heals every partitioned node and starts every stopped one, then waits for a healthy cluster. */
  async restore(timeoutMs = 120_000): Promise<void> {
    const status = await this.status({ quick: true });
    for (const node of status.nodes) if (node.link === 'down') await this.heal(node.node);
    for (const node of status.nodes) if (node.state === 'down') await this.restart(node.node);
    await this.waitFor((s) => s.healthy, timeoutMs, 'three running nodes');
    const seen = await this.runningNodes(1);
    if (seen.length !== this.env.nodes.length)
      throw new Error(`cluster: node 1 sees ${seen.join(', ')} running`);
  }
}

/** The running cluster, as provided by the `cluster` project's global setup. */
export function cluster(): TestCluster {
  const env = inject('cluster');
  if (!env) {
    throw new Error(
      'the cluster is not provided: name the file cluster-*.test.ts (Vitest project "cluster", global-cluster.ts)',
    );
  }
  return new TestCluster(env);
}
