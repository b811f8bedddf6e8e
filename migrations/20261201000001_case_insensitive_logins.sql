-- GitHub logins are case-insensitive, and a user may change the case of theirs: `ANA` and
-- `ana` are one person. Accounts that differ only in case are merged into one — the GitHub
-- account if one of them is, else the one who signed in last — with everything they own or
-- did moved to it; then a unique index on lower(login) keeps it so.

CREATE TEMPORARY TABLE merged_users AS
SELECT u.id AS old_id, k.id AS keep_id
FROM users u
JOIN LATERAL (
    SELECT k.id FROM users k
    WHERE lower(k.login) = lower(u.login)
    ORDER BY (k.github_id IS NOT NULL) DESC, k.last_login_at DESC NULLS LAST, k.id
    LIMIT 1
) k ON k.id <> u.id;

UPDATE claims c SET owner_id = m.keep_id FROM merged_users m WHERE c.owner_id = m.old_id;
UPDATE claims c SET claimed_by = m.keep_id FROM merged_users m WHERE c.claimed_by = m.old_id;
UPDATE claims c SET released_by = m.keep_id FROM merged_users m WHERE c.released_by = m.old_id;
UPDATE api_tokens t SET created_by = m.keep_id FROM merged_users m WHERE t.created_by = m.old_id;
UPDATE api_tokens t SET revoked_by = m.keep_id FROM merged_users m WHERE t.revoked_by = m.old_id;
-- The merged account keeps the higher of the roles.
UPDATE users k SET role = 'maintainer'
FROM merged_users m JOIN users o ON o.id = m.old_id
WHERE k.id = m.keep_id AND o.role = 'maintainer';
DELETE FROM users u USING merged_users m WHERE u.id = m.old_id;
DROP TABLE merged_users;

CREATE UNIQUE INDEX users_login_lower_key ON users (lower(login));
