-- Retention per channel: keep at most N articles and/or only those newer than D days
-- (NULL: keep all). Pruned articles leave tombstones, so a poll does not bring them back.
ALTER TABLE channels ADD COLUMN retain_max_articles BIGINT;
ALTER TABLE channels ADD COLUMN retain_days BIGINT;
