-- One article per story (docs/dedupe.md). A channel's dedupe mode; the subscriptions each
-- article came through (JSON list, first first); and the keys that recognise a story: its
-- canonical links, and (story mode) its normalized title and first paragraph with a time.
-- Story keys outlive their article, so a deleted story stays deleted whatever source
-- brings it again (the tombstone of its guid keeps it out).
ALTER TABLE channels ADD COLUMN dedupe TEXT NOT NULL DEFAULT 'url';
ALTER TABLE articles ADD COLUMN sources JSONB NOT NULL DEFAULT '[]';

CREATE TABLE story_links (
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    link       TEXT NOT NULL,
    guid       TEXT NOT NULL,
    PRIMARY KEY (channel_id, link)
);

CREATE TABLE story_titles (
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    guid       TEXT NOT NULL,
    title      TEXT NOT NULL,
    lead       TEXT,
    at         BIGINT NOT NULL,
    PRIMARY KEY (channel_id, guid)
);

CREATE INDEX story_titles_by_time ON story_titles (channel_id, at);
