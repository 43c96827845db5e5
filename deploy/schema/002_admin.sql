-- 002_admin.sql - what admind (admin/) needs beyond 001: optimistic locking of
-- exemption requests (two reviewers must not both decide; the enrolment and the
-- invigilation row already have lock_version), and an index for the invigilation list.
SET NAMES utf8mb4;

ALTER TABLE exemption_request
    ADD COLUMN IF NOT EXISTS lock_version INT UNSIGNED NOT NULL DEFAULT 0
        COMMENT 'optimistic lock: UPDATE ... WHERE lock_version = ? and bump it';

CREATE INDEX IF NOT EXISTS idx_proctor_capture_session_sim ON proctor_capture (session_id, similarity);
