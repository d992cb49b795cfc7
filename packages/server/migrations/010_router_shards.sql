-- Several routers on the RabbitMQ engine: the order-sensitive inbound families are sharded over K
-- quorum queues (a consistent-hash exchange on the routing key, so one sender's messages to one
-- conversation always land in the same shard), and each shard is consumed by one router at a time.
-- Routers say they are alive here (the database's clock, so machines' clocks need not agree) and
-- take shards as leases: a router takes a shard only when it is free or its holder went silent,
-- and gives one up only after the messages it holds from it were acknowledged.
CREATE TABLE router_members (
  member_group text        NOT NULL,
  router_id    text        NOT NULL,
  seen_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_group, router_id)
);

CREATE TABLE router_shard_leases (
  member_group text    NOT NULL,
  shard        integer NOT NULL,
  owner        text,
  PRIMARY KEY (member_group, shard)
);
