-- 015_item_stats.sql - item analysis after a test window (issue 17 item 5): the runs a
-- province requests (or the demo loads), and per run the statistics of every paper
-- (category x paper type x window) and every question sat. One writer:
-- question-bank/qb_stats.c (qb_stats_run); admind queues runs and reads results.
-- A window is the attempt: 1 = 测评 (test_start..test_end), 2 = 补考 (makeup window).
SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS item_analysis_run (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    cycle_id     BIGINT UNSIGNED NOT NULL,
    status       ENUM('queued','running','done','failed') NOT NULL DEFAULT 'queued',
    requested_by BIGINT UNSIGNED NULL COMMENT 'authority_account; NULL = system (demo, qbank analyse)',
    requested_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    min_n        INT UNSIGNED NOT NULL DEFAULT 20 COMMENT 'a question is flagged only when sat at least this often',
    started_at   DATETIME(3) NULL,
    finished_at  DATETIME(3) NULL,
    sessions     INT UNSIGNED NULL COMMENT 'submitted sittings analysed',
    answers      BIGINT UNSIGNED NULL COMMENT 'answer rows read',
    duration_ms  INT UNSIGNED NULL,
    error        VARCHAR(255) NULL,
    PRIMARY KEY (id),
    KEY idx_item_analysis_run_cycle (cycle_id, status, id),
    CONSTRAINT fk_item_analysis_run_cycle FOREIGN KEY (cycle_id) REFERENCES cycle (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='one computation of the item statistics of a cycle';

CREATE TABLE IF NOT EXISTS item_stats_paper (
    run_id      BIGINT UNSIGNED NOT NULL,
    category    VARCHAR(8)  NOT NULL,
    paper       VARCHAR(8)  NOT NULL,
    attempt     TINYINT UNSIGNED NOT NULL COMMENT '1 测评 window, 2 补考 window',
    sittings    INT UNSIGNED NOT NULL,
    questions   INT UNSIGNED NOT NULL COMMENT 'positions of the paper (k of KR-20)',
    mean_score  DOUBLE NOT NULL,
    sd_score    DOUBLE NOT NULL COMMENT 'population standard deviation of the scores',
    median      DOUBLE NOT NULL,
    min_score   INT NOT NULL,
    max_score   INT NOT NULL,
    kr20        DOUBLE NULL COMMENT 'over positions, as Moodle''s CIC for random questions; NULL when undefined',
    sem         DOUBLE NULL COMMENT 'standard error of measurement: sd * sqrt(1 - kr20)',
    distribution JSON NOT NULL COMMENT 'sittings per score, index = score 0..questions',
    items       INT UNSIGNED NOT NULL COMMENT 'different questions sat',
    flagged     INT UNSIGNED NOT NULL,
    PRIMARY KEY (run_id, category, paper, attempt),
    CONSTRAINT fk_item_stats_paper_run FOREIGN KEY (run_id) REFERENCES item_analysis_run (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='score distribution and reliability of a paper in a window';

CREATE TABLE IF NOT EXISTS item_stats_question (
    run_id       BIGINT UNSIGNED NOT NULL,
    category     VARCHAR(8)  NOT NULL,
    paper        VARCHAR(8)  NOT NULL,
    attempt      TINYINT UNSIGNED NOT NULL,
    question_id  VARCHAR(32) NOT NULL,
    qtype        VARCHAR(4)  NOT NULL,
    section      VARCHAR(64) NOT NULL,
    drawn        INT UNSIGNED NOT NULL COMMENT 'papers it was on (exposure count)',
    exposure     DOUBLE NOT NULL COMMENT 'drawn / sittings of the paper',
    answered     INT UNSIGNED NOT NULL,
    correct      INT UNSIGNED NOT NULL,
    facility     DOUBLE NULL COMMENT 'p = correct / drawn (unanswered scores 0, as in the exam)',
    rpb          DOUBLE NULL COMMENT 'corrected point-biserial: item vs the rest of the paper',
    ul_index     DOUBLE NULL COMMENT 'p(upper 27%) - p(lower 27%)',
    upper_n      INT UNSIGNED NOT NULL,
    lower_n      INT UNSIGNED NOT NULL,
    options      JSON NOT NULL COMMENT '{"A":n,...} by original option letter; X counts every letter chosen',
    answer       VARCHAR(8)  NOT NULL COMMENT 'the key, for reviewers of the province',
    median_time_s DOUBLE NULL,
    flags        SET('negative_discrimination','too_easy','too_hard','unused_distractor') NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, category, paper, attempt, question_id),
    KEY idx_item_stats_question_flags (run_id, flags),
    CONSTRAINT fk_item_stats_question_run FOREIGN KEY (run_id) REFERENCES item_analysis_run (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='classical item statistics of one question in one paper and window';
