-- 007_session_decisions.sql - session decisions (issue 14, item 4): the proctor flags a
-- session from all of its captures together (proctor/proctor_session.h), no longer from
-- one frame. Each flag keeps its reason, one of the session rules below (the older
-- per-frame reasons stay for rows written before), and the ids of the captures behind it
-- (frames, a JSON array, the list the admin console shows). A re-run changes nothing.
ALTER TABLE proctor_suspect MODIFY reason ENUM('low_similarity','no_face','multiple_faces',
    'missing_captures','low_similarity_run','low_similarity_share','low_similarity_median',
    'no_face_time') NOT NULL;
ALTER TABLE proctor_suspect ADD COLUMN IF NOT EXISTS frames JSON NULL
    COMMENT 'proctor_capture ids behind the flag, in the order taken (NULL: missing_captures, older rows)'
    AFTER capture_id;
