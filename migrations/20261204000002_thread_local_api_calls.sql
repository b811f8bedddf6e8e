-- Rule UT011's message names the API a finding calls and the package that exposes it:
-- "`crum.get_current_user` is backed by thread-local `crum._thread_locals` in django-crum: …"
-- (scanner/src/rules/ut011_thread_local_api_use.rs writes it; a scanner test pins the form).
-- These read them back, for a dependency's impact: the calls elsewhere its fix would clear.
CREATE FUNCTION ut011_api(message text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN substring(message FROM '^`([^`]+)` is backed by thread-local');

CREATE FUNCTION ut011_package(message text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN substring(message FROM '^`[^`]+` is backed by thread-local `[^`]+` in ([^: ]+)');

CREATE INDEX findings_ut011_package_idx ON findings (ut011_package(message)) WHERE rule = 'UT011';
