-- WebSub, subscriber side: a polled feed that advertises a hub is also subscribed to through
-- it, so new items are pushed at once. The lease is recorded when the hub verifies intent.
ALTER TABLE subscriptions ADD COLUMN websub_hub TEXT;
ALTER TABLE subscriptions ADD COLUMN websub_topic TEXT;
ALTER TABLE subscriptions ADD COLUMN websub_secret TEXT;
ALTER TABLE subscriptions ADD COLUMN websub_requested_at BIGINT;
ALTER TABLE subscriptions ADD COLUMN websub_expires_at BIGINT;
