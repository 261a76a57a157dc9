-- WebSub, subscriber side: a hub's verification is accepted only for a request syndic made.
-- Each subscription's callback URL carries a random token (kept across renewals), and a
-- request is pending from when it is sent until the hub verifies or denies it.
ALTER TABLE subscriptions ADD COLUMN websub_token TEXT;
ALTER TABLE subscriptions ADD COLUMN websub_pending BOOLEAN NOT NULL DEFAULT FALSE;

-- WebSub, hub side: subscriptions are counted per callback host for the hub's limits. The
-- host is the callback URL's host name (lowercase, without user info or port), as the hub
-- stores it from now on; existing rows get it from their callback here (the same steps as
-- the SQLite migration of this version).
ALTER TABLE websub_subscriptions ADD COLUMN callback_host TEXT NOT NULL DEFAULT '';
UPDATE websub_subscriptions
    SET callback_host = lower(substr(callback, strpos(callback, '://') + 3));
UPDATE websub_subscriptions
    SET callback_host = substr(callback_host, 1, strpos(callback_host, '/') - 1)
    WHERE strpos(callback_host, '/') > 0;
UPDATE websub_subscriptions
    SET callback_host = substr(callback_host, 1, strpos(callback_host, '?') - 1)
    WHERE strpos(callback_host, '?') > 0;
UPDATE websub_subscriptions
    SET callback_host = substr(callback_host, 1, strpos(callback_host, '#') - 1)
    WHERE strpos(callback_host, '#') > 0;
UPDATE websub_subscriptions
    SET callback_host = substr(callback_host, strpos(callback_host, '@') + 1)
    WHERE strpos(callback_host, '@') > 0;
UPDATE websub_subscriptions
    SET callback_host = substr(callback_host, 1, strpos(callback_host, ']'))
    WHERE callback_host LIKE '[%';
UPDATE websub_subscriptions
    SET callback_host = substr(callback_host, 1, strpos(callback_host, ':') - 1)
    WHERE callback_host NOT LIKE '[%' AND strpos(callback_host, ':') > 0;
CREATE INDEX websub_by_callback_host ON websub_subscriptions (callback_host);
