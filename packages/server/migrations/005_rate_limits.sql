-- Per-user abuse limits (src/limits): one fixed-window counter per (action, app, user), shared by
-- every router and HTTP process. rate-limiter-flexible's RateLimiterPostgres schema: `expire` in
-- ms since the epoch; a row past it counts as zero and is reset by the next upsert.
CREATE TABLE rate_limits (
  key     text    PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);
-- For the sweep of expired rows.
CREATE INDEX rate_limits_expire_idx ON rate_limits (expire);
