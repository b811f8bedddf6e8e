-- What a scan read without analysing it whole, besides the files it did not read at all
-- (scan_unread_files): files with syntax errors, imports by a computed name. At most 200 of
-- each are listed, with their full counts: {"partially_parsed": [...], "partially_parsed_count": n,
-- "computed_imports": [[path, line], ...], "computed_imports_count": m}. NULL: not recorded.
ALTER TABLE scans ADD COLUMN coverage jsonb;
