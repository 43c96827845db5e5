-- 012_authority.sql - what a health authority keeps for its region (issue 16 items 2, 3, 5,
-- 6, 9): who created an authority account, the province's link to 医师电子化注册 (seed 002:
-- 不允许手动新增医师), conduct records entered by authorities (不良执业行为记录 with 记分,
-- seeds 000 002), what was done about a 不合格 result (seed 001: 注销注册, 收回执业证书), and
-- 跟班带教修改申请 (seed 002's home page task; the model is admin/README.md's).
-- IF NOT EXISTS: a re-run changes nothing.

ALTER TABLE authority_account
    ADD COLUMN IF NOT EXISTS created_by BIGINT UNSIGNED NULL
        COMMENT 'the authority account that opened it (NULL: set up by an operator)';

-- a province's setting: its physicians come from the 医师电子化注册系统 (manual adds refused)
ALTER TABLE authority
    ADD COLUMN IF NOT EXISTS registry_linked TINYINT(1) NOT NULL DEFAULT 0
        COMMENT 'province only: 已对接医师电子化注册系统, physicians arrive by the registry import';

ALTER TABLE conduct_record
    ADD COLUMN IF NOT EXISTS institution_id BIGINT UNSIGNED NULL
        COMMENT 'the institution of the record when it is one of the system (institution_name is kept as shown)',
    ADD COLUMN IF NOT EXISTS points SMALLINT UNSIGNED NULL COMMENT '记分 (不良执业行为记分)',
    ADD COLUMN IF NOT EXISTS authority_id BIGINT UNSIGNED NULL COMMENT 'the authority that entered it',
    ADD COLUMN IF NOT EXISTS entered_by BIGINT UNSIGNED NULL COMMENT 'authority_account that entered it';

-- 不合格 → 注销注册 and 收回执业证书 (seed 001): one row per enrolment and action, so that a
-- second recording of the same action is refused by the key
CREATE TABLE IF NOT EXISTS result_action (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    enrolment_id BIGINT UNSIGNED NOT NULL,
    action       ENUM('注销注册','收回执业证书') NOT NULL,
    authority_id BIGINT UNSIGNED NOT NULL COMMENT 'the authority that recorded it',
    done_by      BIGINT UNSIGNED NOT NULL COMMENT 'authority_account',
    done_on      DATE         NOT NULL COMMENT 'when it was done (the decision date)',
    document_no  VARCHAR(64)  NULL COMMENT '文号 of the decision',
    note         VARCHAR(1000) NULL,
    created_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_result_action (enrolment_id, action),
    CONSTRAINT fk_result_action_enrolment FOREIGN KEY (enrolment_id) REFERENCES enrolment (id),
    CONSTRAINT fk_result_action_authority FOREIGN KEY (authority_id) REFERENCES authority (id),
    CONSTRAINT fk_result_action_by FOREIGN KEY (done_by) REFERENCES authority_account (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='what the authority did about a 考核完成 不合格 result';

-- 跟班带教: the teaching a physician did in the cycle, part of 工作成绩 (trainees, hours, text)
ALTER TABLE enrolment
    ADD COLUMN IF NOT EXISTS sa_teaching_trainees SMALLINT UNSIGNED NULL COMMENT '跟班带教 人数',
    ADD COLUMN IF NOT EXISTS sa_teaching_hours SMALLINT UNSIGNED NULL COMMENT '跟班带教 学时',
    ADD COLUMN IF NOT EXISTS sa_teaching_text VARCHAR(1000) NULL COMMENT '跟班带教 情况说明';

CREATE TABLE IF NOT EXISTS teaching_change_request (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    enrolment_id   BIGINT UNSIGNED NOT NULL,
    institution_id BIGINT UNSIGNED NOT NULL COMMENT 'the reviewing institution (the enrolment''s)',
    trainees       SMALLINT UNSIGNED NOT NULL,
    hours          SMALLINT UNSIGNED NOT NULL,
    description    VARCHAR(1000) NOT NULL,
    reason         VARCHAR(1000) NOT NULL COMMENT 'why the physician asks for the change',
    old_json       JSON         NULL COMMENT 'the values before, as the request found them',
    status         ENUM('待审核','通过','驳回') NOT NULL DEFAULT '待审核',
    decided_at     DATETIME(3)  NULL,
    reject_reason  VARCHAR(1000) NULL,
    lock_version   INT UNSIGNED NOT NULL DEFAULT 0,
    created_at     DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_teaching_request_queue (institution_id, status),
    KEY idx_teaching_request_enrolment (enrolment_id, status),
    CONSTRAINT fk_teaching_request_enrolment FOREIGN KEY (enrolment_id) REFERENCES enrolment (id),
    CONSTRAINT fk_teaching_request_inst FOREIGN KEY (institution_id) REFERENCES institution (id),
    CONSTRAINT ck_teaching_request_reason CHECK (status <> '驳回' OR (reject_reason IS NOT NULL AND reject_reason <> ''))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='跟班带教修改申请: the physician asks, the institution approves (values applied) or rejects';
