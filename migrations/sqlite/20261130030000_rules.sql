-- Import rules (see docs/rules.md): a JSON array on a subscription (what it imports) and on a
-- channel (everything imported into it, after the subscription's). NULL: no rules. Stored as
-- the compact JSON syndic validated, so GET gives back what PUT accepted.
ALTER TABLE subscriptions ADD COLUMN rules TEXT;
ALTER TABLE channels ADD COLUMN rules TEXT;

-- Upstream items that rules dropped, by identity key (the keys of subscription_items), so a
-- dropped item is not imported on a later poll even if it changes. `rules_hash` is the
-- fingerprint of both rule sets when it was dropped: once the rules change, the item is
-- looked at again. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE dropped_items (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    item_key        TEXT NOT NULL,
    rules_hash      TEXT NOT NULL,
    rule            TEXT NOT NULL,   -- which rule dropped it, as people read it
    dropped_at      INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, item_key)
);
