-- 014_qbank_console.sql - the question bank in the console (issue 17, items 1-4): the
-- 题库管理员 account kind, drafted releases of the bank (an upload, an edit or a
-- retirement), and the states that keep every published question readable forever.
-- IF NOT EXISTS: a re-run changes nothing.
--
-- The rule that keeps a drawn paper stable: a question row is never changed once it is
-- live. An edit adds a new row (id <base>-R<n>, `replaces` the old one) and retires the
-- old; a retired row is never drawn again but stays in the index, so every paper drawn
-- before still renders and scores with the texts and keys it was drawn with.

-- 题库管理员: an authority account of kind 'qbank' sees the question-bank pages only
-- (granted by its province, which made it; admin_qbank.c)
ALTER TABLE authority_account
    ADD COLUMN IF NOT EXISTS account_kind ENUM('authority','qbank') NOT NULL DEFAULT 'authority'
        COMMENT 'qbank: 题库管理员, the question-bank pages only';

CREATE TABLE IF NOT EXISTS qb_release (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    kind         ENUM('import','edit','retire') NOT NULL,
    status       ENUM('draft','published','discarded') NOT NULL DEFAULT 'draft',
    title        VARCHAR(200) NOT NULL COMMENT 'file name, or what was edited / retired',
    questions    INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'questions it adds',
    retirements  INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'questions it retires',
    bank_version BIGINT NULL COMMENT 'qb_bank_version.version its publication made',
    created_by   BIGINT UNSIGNED NOT NULL COMMENT 'authority_account',
    created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    decided_by   BIGINT UNSIGNED NULL,
    decided_at   DATETIME(3) NULL COMMENT 'published or discarded',
    PRIMARY KEY (id),
    KEY idx_qb_release_status (status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='a drafted change of the bank: drafted, then published (a new bank version) or discarded';

CREATE TABLE IF NOT EXISTS qb_release_retire (
    release_id  BIGINT UNSIGNED NOT NULL,
    question_id VARCHAR(32) NOT NULL COMMENT 'a group member retires its whole group',
    PRIMARY KEY (release_id, question_id),
    CONSTRAINT fk_qb_release_retire FOREIGN KEY (release_id) REFERENCES qb_release (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='the questions a release retires when it is published';

ALTER TABLE qb_question
    ADD COLUMN IF NOT EXISTS state ENUM('draft','live','retired') NOT NULL DEFAULT 'live'
        COMMENT 'draft: in an unpublished release, not loaded; retired: loaded, never drawn',
    ADD COLUMN IF NOT EXISTS release_id BIGINT UNSIGNED NULL COMMENT 'the release that added it (NULL: qbank import)',
    ADD COLUMN IF NOT EXISTS replaces VARCHAR(32) NULL COMMENT 'an edit: the question it revises',
    ADD COLUMN IF NOT EXISTS retired_release BIGINT UNSIGNED NULL,
    ADD INDEX IF NOT EXISTS idx_qb_question_release (release_id);

ALTER TABLE qb_group
    ADD COLUMN IF NOT EXISTS state ENUM('draft','live','retired') NOT NULL DEFAULT 'live',
    ADD COLUMN IF NOT EXISTS release_id BIGINT UNSIGNED NULL,
    ADD INDEX IF NOT EXISTS idx_qb_group_release (release_id);
