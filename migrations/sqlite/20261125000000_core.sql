-- The core schema: channels, their articles, tombstones of deleted articles, API tokens.
-- Times are integers: microseconds since the Unix epoch, UTC. Article dates keep the zone they
-- were published with, as RFC 3339 text, beside the integer sort key.

-- AUTOINCREMENT: a deleted channel's id is never reused, so nothing keyed on it (the render
-- cache) can mistake a new channel for the old one.
CREATE TABLE channels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    link        TEXT,
    language    TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE articles (
    id             INTEGER PRIMARY KEY,
    channel_id     INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    guid           TEXT NOT NULL,
    url            TEXT,
    external_url   TEXT,
    title          TEXT,
    summary        TEXT,
    content_html   TEXT,
    content_text   TEXT,
    image_url      TEXT,
    image_caption  TEXT,
    image_credit   TEXT,
    banner_image   TEXT,
    date_published TEXT,
    date_modified  TEXT,
    authors        TEXT NOT NULL DEFAULT '[]',
    contributors   TEXT NOT NULL DEFAULT '[]',
    tags           TEXT NOT NULL DEFAULT '[]',
    language       TEXT,
    attachments    TEXT NOT NULL DEFAULT '[]',
    source_title   TEXT,
    source_url     TEXT,
    first_seen_at  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    sort_at        INTEGER NOT NULL,
    content_hash   TEXT NOT NULL,
    UNIQUE (channel_id, guid)
);

CREATE INDEX articles_by_channel_order ON articles (channel_id, sort_at DESC, id DESC);

CREATE TABLE tombstones (
    channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    guid       TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, guid)
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
