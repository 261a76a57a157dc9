-- WebSub (W3C Recommendation): syndic is the hub for its own feeds. A subscription is stored
-- once its intent is verified; what still has to be delivered is derived from the channel's
-- version against the version last delivered, so nothing pending is lost across a restart.

CREATE TABLE websub_subscriptions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id        INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    topic             TEXT NOT NULL,
    format            TEXT NOT NULL,            -- rss, atom or json
    callback          TEXT NOT NULL,
    secret            TEXT,
    lease_seconds     INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    delivered_version INTEGER NOT NULL,         -- the channel version last delivered
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    UNIQUE (topic, callback)
);

CREATE INDEX websub_by_channel ON websub_subscriptions (channel_id);
