-- 004_capture_unscored.sql - an index for the proctor's sweep that queues again the
-- captures examd stored but could not queue (proctor_requeue_unqueued in
-- proctor/proctor_queue.c): it asks every 10 s, on each examd and proctord node, for the
-- oldest unscored captures (scored_at IS NULL AND error IS NULL AND taken_at < cutoff).
-- Without the index that is a scan of every capture ever taken. error(1) keeps the
-- parked ones (error set, never scored) out of the range; a re-run changes nothing.
CREATE INDEX IF NOT EXISTS idx_proctor_capture_unscored
    ON proctor_capture (scored_at, error(1), taken_at);
