-- Weekly reports posted to GitHub, and the scheduled export's runs (issue: weekly status).

-- Each comment Unthread posted (or updated) with a week's report. A week is posted to an
-- issue once unless forced; `--update` edits the latest comment recorded here.
CREATE TABLE report_posts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    week        text NOT NULL CHECK (week ~ '^[0-9]{4}-W[0-9]{2}$'),
    repository  text NOT NULL CHECK (repository ~ '^[^/\s]+/[^/\s]+$'),
    number      integer NOT NULL CHECK (number > 0),
    comment_id  bigint NOT NULL,
    html_url    text NOT NULL,
    posted_at   timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz,
    -- Login of the maintainer, or NULL for the scheduled job and the command line.
    posted_by   text,
    -- XXH3 of the Markdown last sent, so that an unchanged update is not sent again.
    body_digest text NOT NULL
);
CREATE INDEX report_posts_week_idx ON report_posts (repository, number, week, id DESC);

-- The scheduled export runs once per week, whichever server process gets there first.
CREATE TABLE report_schedule_runs (
    week        text PRIMARY KEY CHECK (week ~ '^[0-9]{4}-W[0-9]{2}$'),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text
);
