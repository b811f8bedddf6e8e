-- The explorer's text search (`/findings?q=`: a substring of a finding's path, symbol or
-- snippet) served by a trigram index instead of a scan of every finding. pg_trgm ships with
-- PostgreSQL (contrib) and is a trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION finding_search_text(path text, symbol text, snippet text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN path || E'\n' || coalesce(symbol, '') || E'\n' || coalesce(snippet, '');

CREATE INDEX findings_search_trgm_idx ON findings
    USING gin (finding_search_text(path, symbol, snippet) gin_trgm_ops);
