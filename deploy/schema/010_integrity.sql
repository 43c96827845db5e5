-- 010_integrity.sql - integrity signals from the exam page (issue 18): departures from
-- the page (切屏: the tab hidden, the window unfocused, fullscreen left), the cycle's
-- rules about them, and one physician's live session answered from two devices at once.
-- IF NOT EXISTS: a re-run changes nothing.

-- the province's rules per cycle (NULL: no warning / no automatic submit)
ALTER TABLE cycle
    ADD COLUMN IF NOT EXISTS departure_warn_at SMALLINT UNSIGNED NULL
        COMMENT '切屏: the page warns at this departure (NULL: never)',
    ADD COLUMN IF NOT EXISTS departure_submit_at SMALLINT UNSIGNED NULL
        COMMENT '切屏: the paper is submitted at this departure (NULL: never)',
    ADD COLUMN IF NOT EXISTS require_fullscreen TINYINT(1) NOT NULL DEFAULT 0
        COMMENT 'the page asks for fullscreen; leaving it is a departure';

-- per session: the counts (Redis while live; written by the flush and at submit)
ALTER TABLE exam_session
    ADD COLUMN IF NOT EXISTS departures INT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS departure_ms BIGINT UNSIGNED NOT NULL DEFAULT 0
        COMMENT 'total time away from the page',
    ADD COLUMN IF NOT EXISTS concurrent_devices TINYINT(1) NOT NULL DEFAULT 0
        COMMENT 'answered from two devices within concurrent_device_window_s',
    MODIFY COLUMN submitted_by ENUM('physician','sweeper','departures') NULL
        COMMENT 'sweeper: the deadline passed; departures: the cycle''s departure_submit_at';

CREATE TABLE IF NOT EXISTS exam_departure (
    session_id  CHAR(32)     NOT NULL,
    event_id    VARCHAR(64)  NOT NULL COMMENT 'made by the page: a re-sent event is one event',
    kind        ENUM('hidden','blur','fullscreen') NOT NULL,
    started_at  DATETIME(3)  NOT NULL COMMENT 'on the server''s clock, as the page corrects it',
    duration_ms INT UNSIGNED NOT NULL,
    PRIMARY KEY (session_id, event_id),
    KEY idx_exam_departure_start (session_id, started_at),
    CONSTRAINT fk_exam_departure_session FOREIGN KEY (session_id) REFERENCES exam_session (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='each departure from the exam page (切屏), as the page reported it';

CREATE TABLE IF NOT EXISTS exam_device (
    session_id CHAR(32)     NOT NULL,
    device_id  VARCHAR(64)  NOT NULL COMMENT 'a random id each browser keeps (localStorage)',
    user_agent VARCHAR(255) NOT NULL DEFAULT '',
    address    VARCHAR(48)  NOT NULL DEFAULT '' COMMENT 'masked in lists',
    first_seen DATETIME(3)  NOT NULL,
    last_seen  DATETIME(3)  NOT NULL,
    PRIMARY KEY (session_id, device_id),
    CONSTRAINT fk_exam_device_session FOREIGN KEY (session_id) REFERENCES exam_session (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='the browsers that opened a session (start or resume)';

-- 监考管理's 系统预警: the page's signals next to the proctor's (007's reasons kept)
ALTER TABLE proctor_suspect MODIFY reason ENUM('low_similarity','no_face','multiple_faces',
    'missing_captures','low_similarity_run','low_similarity_share','low_similarity_median',
    'no_face_time','departures','concurrent_devices') NOT NULL;
