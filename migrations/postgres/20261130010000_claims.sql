-- Several instances on one database: work is claimed, not just read. A claim is a lease
-- (who holds it, until when, microseconds since the Unix epoch); an instance that dies
-- loses its claims when their leases end, and another instance takes the work.
--
-- Subscriptions: the claim of a poll, and the host of the URL (lowercase, without user info
-- or port), which the per-host limit counts live claims by across instances. Existing rows
-- get the host from their URL here (the same steps as 20261126000000_websub_guards.sql and
-- the SQLite migration of this version); syndic writes it with every URL from now on.
ALTER TABLE subscriptions ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN claimed_by TEXT;
ALTER TABLE subscriptions ADD COLUMN claimed_until BIGINT;
UPDATE subscriptions SET host = lower(substr(url, strpos(url, '://') + 3));
UPDATE subscriptions SET host = substr(host, 1, strpos(host, '/') - 1) WHERE strpos(host, '/') > 0;
UPDATE subscriptions SET host = substr(host, 1, strpos(host, '?') - 1) WHERE strpos(host, '?') > 0;
UPDATE subscriptions SET host = substr(host, 1, strpos(host, '#') - 1) WHERE strpos(host, '#') > 0;
UPDATE subscriptions SET host = substr(host, strpos(host, '@') + 1) WHERE strpos(host, '@') > 0;
UPDATE subscriptions SET host = substr(host, 1, strpos(host, ']')) WHERE host LIKE '[%';
UPDATE subscriptions SET host = substr(host, 1, strpos(host, ':') - 1)
    WHERE host NOT LIKE '[%' AND strpos(host, ':') > 0;
CREATE INDEX subscriptions_claimed ON subscriptions (claimed_until, host);

-- WebSub deliveries: the claim of a delivery in flight.
ALTER TABLE websub_subscriptions ADD COLUMN claimed_by TEXT;
ALTER TABLE websub_subscriptions ADD COLUMN claimed_until BIGINT;

-- Jobs that run on one instance at a time (retention): the lease of the instance running it.
CREATE TABLE jobs (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    until       BIGINT NOT NULL
);
