import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/**
 * `mercurio <command>` as its own process, run from source, so a test can start it as a user
 * would, read what it prints, signal it (SIGTERM, SIGKILL) and see how it exits.
 */
export class MercurioProcess {
  #child: ChildProcess | undefined;
  #exit: Promise<number | null> | undefined;
  output = '';

  constructor(
    private readonly env: Record<string, string>,
    private readonly command = 'router',
  ) {}

  /** Starts and resolves once the output contains `ready` (rejects if the process exits first). */
  async start(ready = 'router consuming'): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--conditions=mercurio-source', '--import', 'tsx', MAIN, this.command],
      {
        cwd: REPO,
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.#child = child;
    this.#exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes(ready)) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void this.#exit!.then((code) => reject(new Error(`mercurio exited with ${code}:\n${this.output}`)));
      // Several routers booting at once on a busy 2-core machine take a while.
      setTimeout(() => reject(new Error(`mercurio did not start:\n${this.output}`)), 60_000);
    });
  }

  /** The child's process id once started (for reading its /proc figures, e.g. memory). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Resolves with the exit code once the process has ended. */
  exited(): Promise<number | null> {
    return this.#exit ?? Promise.resolve(null);
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.exited();
    child.kill(signal);
    return this.exited();
  }
}

/** The router process of the crash test. */
export class RouterProcess extends MercurioProcess {
  constructor(env: Record<string, string>) {
    super(env, 'router');
  }
}
