-- Job progress (DESIGN.md §14): what a running attempt last reported, written by its worker at
-- most once a second per job. `progress_attempt` is the attempt that reported it: readers show
-- progress only while it equals `attempt`, so a new attempt starts with none without the claim
-- statement writing anything, and a finished or retrying job keeps its last attempt's value.
-- A redrive (attempt back to 0) clears the columns. No event rows: reports are too frequent
-- for history; the last one is on the job.
-- The new columns are NULL in every existing row, so the checks are added NOT VALID: no scan of
-- jobs under the ALTER's lock, and every write from now on is checked all the same.
-- Never edit this file once applied anywhere: add a new migration instead.

ALTER TABLE jobgate.jobs
    ADD COLUMN progress_attempt integer,
    ADD COLUMN progress_done    bigint,
    ADD COLUMN progress_total   bigint,
    ADD COLUMN progress_message text,
    ADD COLUMN progress_at      timestamptz,
    ADD CONSTRAINT jobs_progress_check CHECK (
        progress_done >= 0 AND progress_total >= progress_done AND length(progress_message) <= 200
    ) NOT VALID;
