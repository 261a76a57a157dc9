-- Upstream feeds polled into channels, and the identities of the items they brought, so that
-- an item is recognised on every later poll (by guid, link or content hash) and never
-- duplicated. Times are microseconds since the Unix epoch, UTC.

CREATE TABLE subscriptions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id      INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,           -- where to fetch; moved by 301/308 only
    original_url    TEXT NOT NULL,           -- as subscribed
    title           TEXT,                    -- the upstream feed's title
    site_url        TEXT,
    interval_secs   INTEGER NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    etag            TEXT,
    last_modified   TEXT,
    body_hash       TEXT,
    last_fetch_at   INTEGER,
    next_fetch_at   INTEGER NOT NULL,
    last_status     TEXT,
    error_count     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    items_imported  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE INDEX subscriptions_due ON subscriptions (enabled, next_fetch_at);
CREATE INDEX subscriptions_by_channel ON subscriptions (channel_id);

CREATE TABLE subscription_items (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    item_key        TEXT NOT NULL,   -- "guid:…", "link:…" or "hash:…"
    guid            TEXT NOT NULL,   -- the article's id in the channel
    PRIMARY KEY (subscription_id, item_key)
);
