-- 008_capture_retake.sql - the quality gate (issue 14 item 2): a capture showing one face
-- that is too small, blurred, too dark, too bright or turned too far is not scored; it is
-- stored with flag 'retake' and the reason here (too_small, blurred, too_dark, too_bright,
-- turned), never as a suspect and never as low_similarity. NULL for every other capture.
-- IF NOT EXISTS: a re-run changes nothing.
ALTER TABLE proctor_capture ADD COLUMN IF NOT EXISTS retake VARCHAR(24) NULL
  COMMENT 'quality gate reason when flag = retake (proctor_engine.h PROCTOR_RETAKE_*)';
