-- A finding's lines with up to five lines around them, as the scan read them
-- ({"start_line": n, "lines": [...]}, scanner::finding::SourceContext): its page shows the
-- code without the repository at hand. Rewritten whenever a rescan reads other lines there
-- (the details digest covers it). NULL: the producer gave none (a SARIF log without a
-- contextRegion, a scan from before).
ALTER TABLE findings ADD COLUMN context jsonb;
