-- Live updates for the job queue: a job queued, started, done, failed or cancelled is
-- announced on the channel every page listens to (like each new row of `events`). The queue's
-- tables are the queue crate's, created after our migrations, so this is applied (idempotently)
-- after them by `db::migrate`.
CREATE OR REPLACE FUNCTION public.announce_job_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.task_queue_name = 'unthread' AND (TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state) THEN
        PERFORM pg_notify('unthread_events',
            json_build_object('kind', 'job.' || NEW.state::text, 'job', NEW.id)::text);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER unthread_job_changed
    AFTER INSERT OR UPDATE OF state ON underway.task
    FOR EACH ROW EXECUTE FUNCTION public.announce_job_change();
