-- Full text for summary-only feeds (docs/full-text.md): a subscription may fetch each new
-- item's page and publish its main text as the content. Every page is fetched once: its
-- extracted, sanitized text (or why there is none) is kept here, by subscription and page
-- URL, and applied again whenever the item is imported again. Times are microseconds since
-- the Unix epoch, UTC.

ALTER TABLE subscriptions ADD COLUMN full_content BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE full_texts (
    subscription_id BIGINT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,            -- the item's link, as the feed gives it
    content_html    TEXT,                     -- the page's main text, sanitized; none if it failed
    error           TEXT,                     -- why there is no text
    attempts        BIGINT NOT NULL DEFAULT 0,
    done            BOOLEAN NOT NULL DEFAULT FALSE, -- false: fetch again on the next poll
    fetched_at      BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, url)
);
