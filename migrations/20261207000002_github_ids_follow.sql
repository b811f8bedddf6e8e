-- GitHub can give an issue or pull request a new id under the same repository and number
-- (deleted and recreated, transferred back): the stored row is re-keyed to the new id, and
-- its links follow it.
ALTER TABLE links
    DROP CONSTRAINT links_issue_id_fkey,
    ADD CONSTRAINT links_issue_id_fkey FOREIGN KEY (issue_id) REFERENCES gh_issues (id) ON UPDATE CASCADE,
    DROP CONSTRAINT links_pull_id_fkey,
    ADD CONSTRAINT links_pull_id_fkey FOREIGN KEY (pull_id) REFERENCES gh_pulls (id) ON UPDATE CASCADE;
