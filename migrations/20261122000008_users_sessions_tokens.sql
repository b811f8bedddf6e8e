-- People who signed in (with GitHub, or with the local development login).
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    github_id     bigint UNIQUE,
    login         text NOT NULL UNIQUE CHECK (login ~ '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$'),
    name          text,
    avatar_url    text,
    role          text NOT NULL DEFAULT 'contributor' CHECK (role IN ('maintainer', 'contributor')),
    -- Created by `serve --dev-login`: never a GitHub account.
    dev_only      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    CHECK (NOT dev_only OR github_id IS NULL)
);

-- Sessions, in the layout of tower-sessions' Postgres store (data is MessagePack). The
-- cookie holds only the random id.
CREATE TABLE sessions (
    id          text PRIMARY KEY NOT NULL,
    data        bytea NOT NULL,
    expiry_date timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry_date);

-- Tokens for CI uploads: only a SHA-256 of the 256-bit secret is kept; `prefix` (the first
-- characters of the secret) tells tokens apart in lists.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (btrim(name) <> ''),
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_by   bigint NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoked_by   bigint REFERENCES users (id),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

-- The targets a token may upload scans for.
CREATE TABLE api_token_targets (
    token_id  bigint NOT NULL REFERENCES api_tokens (id),
    target_id bigint NOT NULL REFERENCES targets (id),
    PRIMARY KEY (token_id, target_id)
);
