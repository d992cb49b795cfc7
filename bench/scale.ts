/** How much load each scenario applies: `all` uses shorter runs so everything fits in 10 minutes. */
export interface Scale {
  /** Closed-loop peak runs. */
  peakMs: number;
  /** Concurrent conversations (sender → recipient pairs), and messages in flight end to end in each. */
  lanes: number;
  window: number;
  /** Open-loop fixed rates (msgs/s); a rate above 90% of the measured peak is skipped. */
  rates: number[];
  rateMs: number;
  groupSizes: number[];
  groupPeakMs: number;
  /** Messages sent one at a time for the unloaded latency to the last member. */
  groupSerial: number;
  connections: { rabbitmq: number; embedded: number };
  /** The ramp stops after this long, whatever it reached. */
  connectionDeadlineMs: number;
  history: { rabbitmq: number; embedded: number };
  /** Requests per query kind. */
  queries: number;
}

export const FULL: Scale = {
  peakMs: 10_000,
  lanes: 32,
  window: 8,
  rates: [100, 1000, 5000],
  rateMs: 8_000,
  groupSizes: [10, 100, 500],
  groupPeakMs: 8_000,
  groupSerial: 100,
  connections: { rabbitmq: 10_000, embedded: 20_000 },
  connectionDeadlineMs: 180_000,
  history: { rabbitmq: 1_000_000, embedded: 1_000_000 },
  queries: 500,
};

export const ALL: Scale = {
  ...FULL,
  peakMs: 6_000,
  rateMs: 4_000,
  groupPeakMs: 4_000,
  groupSerial: 40,
  connectionDeadlineMs: 100_000,
  queries: 200,
};
