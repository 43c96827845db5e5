-- 011_proofs_reviewers.sql - issue 16 items 1, 4, 10: 信息审核员 sub-accounts of an
-- institution (seed [000]: 分配、管理本机构信息审核员), the audit actor that names them, and
-- the deferral of physicians first registered in an even year (seed [000]: 对于偶数年取得
-- 相应资质的人员，推迟一年纳入考核范围). The 简易程序 proofs need no table: they are
-- attachment rows (owner_type 'enrolment', kind 简易程序申请材料).
-- IF NOT EXISTS / the same MODIFY: a re-run changes nothing.

CREATE TABLE IF NOT EXISTS institution_reviewer (
    id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    institution_id       BIGINT UNSIGNED NOT NULL,
    username             VARCHAR(64)  NOT NULL COMMENT '<institution code>R<3 digits>, made by admind',
    display_name         VARCHAR(32)  NOT NULL COMMENT 'the reviewer''s name, shown in the logs',
    mobile               VARCHAR(20)  NULL,
    password_hash        VARCHAR(255) NOT NULL COMMENT 'argon2id string (libsodium crypto_pwhash_str)',
    must_change_password TINYINT(1)   NOT NULL DEFAULT 1 COMMENT 'set for a new or reset password',
    activation_hash      VARCHAR(255) NULL COMMENT 'argon2id of the one-time activation code (initial password only)',
    failed_logins        SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    last_failed_at       DATETIME(3)  NULL,
    last_login_at        DATETIME(3)  NULL,
    password_changed_at  DATETIME(3)  NULL,
    tokens_valid_after   BIGINT       NOT NULL DEFAULT 0 COMMENT 'unix ms (domain/dom_token.h)',
    enabled              TINYINT(1)   NOT NULL DEFAULT 1,
    created_at           DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at           DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_institution_reviewer_username (username),
    KEY idx_institution_reviewer_inst (institution_id),
    CONSTRAINT fk_institution_reviewer_inst FOREIGN KEY (institution_id) REFERENCES institution (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='信息审核员: an institution''s sub-account that reviews for it (token kind r)';

-- a reviewer's actions are audited as itself (actor_id = institution_reviewer.id)
ALTER TABLE audit_log
    MODIFY COLUMN actor_type ENUM('physician','institution','assessor','authority','system','reviewer')
        NOT NULL COMMENT 'assessor = an institution acting as 考核机构; reviewer = its 信息审核员';

-- seed [000]: first registered in an even year -> the following cycle
ALTER TABLE cycle
    ADD COLUMN IF NOT EXISTS defer_even_year TINYINT(1) NOT NULL DEFAULT 1
        COMMENT 'physicians first registered in an even year from the year of period_start on wait for the next cycle';
