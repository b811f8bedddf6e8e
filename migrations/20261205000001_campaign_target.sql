-- The campaign's target date (a release cut, say): one row at most. The overview and the
-- weekly report project the completion date against it.
CREATE TABLE campaign_target (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    target_date date NOT NULL,
    -- What the date is ("Willow release cut"), shown beside it.
    label       text CHECK (label IS NULL OR length(label) <= 200),
    set_by      text NOT NULL,
    set_at      timestamptz NOT NULL DEFAULT now()
);
