-- 001_domain.sql - the whole domain of 定考: authorities, institutions, physicians,
-- cycles and enrolments (the assessment workflow of DESIGN.md §1 and the seed manuals,
-- summarised in docs/workflow.md), the question bank, exam sessions, proctoring,
-- invigilation decisions and the audit log.
--
-- Conventions (read these before adding a table):
--  * InnoDB, utf8mb4 / utf8mb4_unicode_ci everywhere; surrogate ids are BIGINT UNSIGNED
--    AUTO_INCREMENT, except exam sessions (CHAR(32) hex ids made by examd) and the
--    question bank (ids of the imported bank).
--  * Every DATETIME is UTC (the stack runs with default-time-zone=+00:00); consoles show
--    Beijing time (UTC+8). A time window is half-open: [x_start, x_end).
--  * Chinese workflow values (statuses, 合格/不合格, 简易程序/一般程序, 公共知识/业务水平)
--    are stored as the seed manuals write them, as ENUMs so that a misspelt value is an
--    error and the output is always the canonical string.
--  * Who did what, when, from which status to which, and why is always written to
--    audit_log as well; the columns here hold only the current state.
--  * Login rate limits and captchas are short-lived and hot: they live in Redis, not
--    here. Accounts only keep the durable failed-login counter and lock.
--  * Applied files never change: a change is a new deploy/schema/NNN_name.sql
--    (deploy/migrate.sh refuses an applied file whose sha256 changed).

SET NAMES utf8mb4;

-- ---------------------------------------------------------------------------------
-- Health authorities 卫生行政部门 and their accounts
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS authority (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    parent_id     BIGINT UNSIGNED NULL COMMENT 'NULL for a province',
    admin_level   ENUM('province','city','county') NOT NULL COMMENT '省级 / 市级 / 县级',
    code          CHAR(6)      NOT NULL COMMENT '行政区划代码 (GB/T 2260), e.g. 620981 玉门市',
    name          VARCHAR(64)  NOT NULL COMMENT 'e.g. 山西省卫生健康委员会',
    path          VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'ids of the ancestors and self, "/1/5/23/": a region is path LIKE ''/1/5/%''',
    contact_name  VARCHAR(64)  NULL COMMENT 'shown on the institution home page (联系方式)',
    contact_phone VARCHAR(32)  NULL,
    created_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_authority_code (code),
    KEY idx_authority_parent (parent_id),
    KEY idx_authority_path (path),
    CONSTRAINT fk_authority_parent FOREIGN KEY (parent_id) REFERENCES authority (id),
    CONSTRAINT ck_authority_code CHECK (code REGEXP '^[0-9]{6}$'),
    CONSTRAINT ck_authority_root CHECK ((admin_level = 'province') = (parent_id IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='卫生行政部门: the province -> city -> county tree';

CREATE TABLE IF NOT EXISTS authority_account (
    id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    authority_id         BIGINT UNSIGNED NOT NULL,
    username             VARCHAR(64)  NOT NULL,
    display_name         VARCHAR(64)  NOT NULL,
    password_hash        VARCHAR(255) NOT NULL COMMENT 'argon2id string (libsodium crypto_pwhash_str)',
    must_change_password TINYINT(1)   NOT NULL DEFAULT 1 COMMENT 'set for a new or reset password',
    failed_logins        SMALLINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'consecutive failures, 0 after a success',
    last_failed_at       DATETIME(3)  NULL,
    locked_until         DATETIME(3)  NULL,
    last_login_at        DATETIME(3)  NULL,
    password_changed_at  DATETIME(3)  NULL,
    enabled              TINYINT(1)   NOT NULL DEFAULT 1,
    created_at           DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at           DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_authority_account_username (username),
    KEY idx_authority_account_authority (authority_id),
    CONSTRAINT fk_authority_account_authority FOREIGN KEY (authority_id) REFERENCES authority (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='users of a health authority';

-- ---------------------------------------------------------------------------------
-- 诊疗科目 (clinical subjects): reference list that departments link to
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS subject (
    id        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    code      VARCHAR(16) NOT NULL COMMENT 'code of 医疗机构诊疗科目名录, e.g. 07 儿科, 03.01 呼吸内科专业',
    name      VARCHAR(64) NOT NULL,
    parent_id BIGINT UNSIGNED NULL COMMENT 'a second-level subject (专业) under its first-level one',
    enabled   TINYINT(1)  NOT NULL DEFAULT 1,
    PRIMARY KEY (id),
    UNIQUE KEY uq_subject_code (code),
    KEY idx_subject_parent (parent_id),
    CONSTRAINT fk_subject_parent FOREIGN KEY (parent_id) REFERENCES subject (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='诊疗科目 (医疗机构诊疗科目名录)';

-- The first level of 医疗机构诊疗科目名录 (卫医发〔1994〕27号, with 27 疼痛科 and
-- 28 重症医学科 added later); sites add the second level as they need it.
INSERT IGNORE INTO subject (code, name) VALUES
    ('01', '预防保健科'), ('02', '全科医疗科'), ('03', '内科'), ('04', '外科'),
    ('05', '妇产科'), ('06', '妇女保健科'), ('07', '儿科'), ('08', '小儿外科'),
    ('09', '儿童保健科'), ('10', '眼科'), ('11', '耳鼻咽喉科'), ('12', '口腔科'),
    ('13', '皮肤科'), ('14', '医疗美容科'), ('15', '精神科'), ('16', '传染科'),
    ('17', '结核病科'), ('18', '地方病科'), ('19', '肿瘤科'), ('20', '急诊医学科'),
    ('21', '康复医学科'), ('22', '运动医学科'), ('23', '职业病科'), ('24', '临终关怀科'),
    ('25', '特种医学与军事医学科'), ('26', '麻醉科'), ('27', '疼痛科'), ('28', '重症医学科'),
    ('30', '医学检验科'), ('31', '病理科'), ('32', '医学影像科'), ('50', '中医科'),
    ('51', '民族医学科'), ('52', '中西医结合科'), ('69', '其他业务科室');

-- ---------------------------------------------------------------------------------
-- Institutions 医疗卫生机构 (and assessment institutions 考核机构)
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS institution (
    id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    code                 VARCHAR(20)  NOT NULL COMMENT 'login account made by the authority: 行政区划代码 + type letter + sequence, e.g. 620981H00001',
    name                 VARCHAR(128) NOT NULL,
    authority_id         BIGINT UNSIGNED NOT NULL COMMENT 'the authority it belongs to (隶属卫生行政部门): creates the account, resets the password',
    inst_type            VARCHAR(32)  NULL COMMENT '机构类别: 医院 / 基层医疗卫生机构 / 专业公共卫生机构 (疾控, 采供血, 妇幼) / 行业组织 / 学术组织 / 其他',
    inst_level           VARCHAR(16)  NULL COMMENT '机构级别, e.g. 三级甲等, 二级, 一级, 未定级',
    ownership            VARCHAR(16)  NULL COMMENT '经营性质: 公立 / 非公立',
    credit_code          CHAR(18)     NULL COMMENT '统一社会信用代码',
    license_no           VARCHAR(64)  NULL COMMENT '医疗机构执业许可证登记号',
    legal_representative VARCHAR(64)  NULL COMMENT '法定代表人',
    address              VARCHAR(255) NULL,
    postcode             CHAR(6)      NULL,
    contact_name         VARCHAR(64)  NULL COMMENT '联系人 (shown to its physicians and on the home page of those it assesses)',
    contact_phone        VARCHAR(32)  NULL,
    email                VARCHAR(128) NULL,
    info_completed_at    DATETIME(3)  NULL COMMENT 'when the required (red *) fields of 本机构信息 were first submitted',
    password_hash        VARCHAR(255) NOT NULL COMMENT 'argon2id; initial and reset password 666666',
    must_change_password TINYINT(1)   NOT NULL DEFAULT 1 COMMENT 'first login with 666666 forces a change',
    failed_logins        SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    last_failed_at       DATETIME(3)  NULL,
    locked_until         DATETIME(3)  NULL,
    last_login_at        DATETIME(3)  NULL,
    password_changed_at  DATETIME(3)  NULL,
    can_apply            TINYINT(1)   NOT NULL DEFAULT 0 COMMENT '申请权限: the authority opened 申请考核机构 for it',
    is_assessor          TINYINT(1)   NOT NULL DEFAULT 0 COMMENT '考核机构 role: set when its application is approved; the console offers 切换 between the two roles',
    next_physician_seq   INT UNSIGNED NOT NULL DEFAULT 1 COMMENT 'next 5-digit sequence of a physician account (code + %05d), taken under SELECT ... FOR UPDATE',
    enabled              TINYINT(1)   NOT NULL DEFAULT 1,
    created_at           DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at           DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_institution_code (code),
    KEY idx_institution_authority (authority_id, enabled),
    KEY idx_institution_name (name),
    KEY idx_institution_assessor (is_assessor),
    CONSTRAINT fk_institution_authority FOREIGN KEY (authority_id) REFERENCES authority (id),
    CONSTRAINT ck_institution_seq CHECK (next_physician_seq BETWEEN 1 AND 100000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='医疗卫生机构; the account is the institution itself (login = code)';

-- ---------------------------------------------------------------------------------
-- Cycles 考核周期 and their windows
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS cycle (
    id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    authority_id          BIGINT UNSIGNED NOT NULL COMMENT 'the (provincial) authority that opened it; covers its whole region',
    code                  VARCHAR(16)  NOT NULL COMMENT 'short number shown in the console (周期: 02)',
    name                  VARCHAR(64)  NOT NULL,
    length_years          TINYINT UNSIGNED NOT NULL DEFAULT 3 COMMENT '3 under the 2022 医师法 art. 42, 2 under the 2007 rules',
    period_start          DATETIME(3)  NOT NULL COMMENT '考核周期 (当前考核周期信息) start',
    period_end            DATETIME(3)  NOT NULL,
    assessor_apply_start  DATETIME(3)  NULL COMMENT '申请考核医疗机构: institutions apply to be 考核机构',
    assessor_apply_end    DATETIME(3)  NULL,
    registration_start    DATETIME(3)  NULL COMMENT '医师报审申报时间: physicians submit registration + self-assessment',
    registration_end      DATETIME(3)  NULL,
    inst_review_start     DATETIME(3)  NULL COMMENT '报名信息审核时间: institutions review',
    inst_review_end       DATETIME(3)  NULL,
    assessor_review_start DATETIME(3)  NULL COMMENT '考核机构复核',
    assessor_review_end   DATETIME(3)  NULL,
    test_start            DATETIME(3)  NULL COMMENT '计划测评考核时间: first attempts',
    test_end              DATETIME(3)  NULL COMMENT 'a session deadline is min(start + duration, test_end)',
    makeup_start          DATETIME(3)  NULL COMMENT '补考 window (attempt 2)',
    makeup_end            DATETIME(3)  NULL,
    withdraw_deadline     DATETIME(3)  NULL COMMENT '退出本周期 only before this',
    similarity_threshold  DECIMAL(5,2) NOT NULL DEFAULT 40.00 COMMENT 'percent; captures below it are suspect (seed: 40%)',
    photo_retention_days  SMALLINT UNSIGNED NOT NULL DEFAULT 365 COMMENT 'capture photos are deleted this many days after test_end/makeup_end (PIPL)',
    status                ENUM('draft','open','closed') NOT NULL DEFAULT 'draft',
    created_by            BIGINT UNSIGNED NULL,
    created_at            DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at            DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_cycle_code (authority_id, code),
    KEY idx_cycle_status (status, authority_id),
    CONSTRAINT fk_cycle_authority FOREIGN KEY (authority_id) REFERENCES authority (id),
    CONSTRAINT fk_cycle_created_by FOREIGN KEY (created_by) REFERENCES authority_account (id),
    CONSTRAINT ck_cycle_length CHECK (length_years BETWEEN 1 AND 5),
    CONSTRAINT ck_cycle_period CHECK (period_end > period_start),
    CONSTRAINT ck_cycle_apply CHECK (assessor_apply_end > assessor_apply_start),
    CONSTRAINT ck_cycle_registration CHECK (registration_end > registration_start),
    CONSTRAINT ck_cycle_inst_review CHECK (inst_review_end > inst_review_start),
    CONSTRAINT ck_cycle_assessor_review CHECK (assessor_review_end > assessor_review_start),
    CONSTRAINT ck_cycle_test CHECK (test_end > test_start),
    CONSTRAINT ck_cycle_makeup CHECK (makeup_end > makeup_start),
    CONSTRAINT ck_cycle_threshold CHECK (similarity_threshold BETWEEN 0 AND 100)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='考核周期: its length and windows belong to the record, never to a constant';

-- ---------------------------------------------------------------------------------
-- Uploaded files (申请材料, 述职报告, 免考材料, 考核机构申请附件)
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS attachment (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    owner_type    ENUM('assessor_application','enrolment','exemption_request') NOT NULL,
    owner_id      BIGINT UNSIGNED NOT NULL COMMENT 'id in the table named by owner_type',
    kind          VARCHAR(32)  NOT NULL COMMENT 'e.g. 申请材料, 个人述职报告, 简易程序申请材料, 免考材料, 考核机构申请表',
    file_name     VARCHAR(255) NOT NULL COMMENT 'name as uploaded (shown, never used as a path)',
    path          VARCHAR(512) NOT NULL COMMENT 'where the server stored it, relative to its upload root',
    sha256        CHAR(64)     NOT NULL,
    bytes         INT UNSIGNED NOT NULL,
    mime          VARCHAR(64)  NOT NULL,
    uploaded_by_type ENUM('physician','institution','authority') NOT NULL,
    uploaded_by_id   BIGINT UNSIGNED NOT NULL,
    uploaded_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    deleted_at    DATETIME(3)  NULL,
    PRIMARY KEY (id),
    KEY idx_attachment_owner (owner_type, owner_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='uploaded files of applications, enrolments and exemption requests';

-- ---------------------------------------------------------------------------------
-- Assessment institutions 考核机构: applications and who assesses whom
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS assessor_application (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    institution_id BIGINT UNSIGNED NOT NULL,
    cycle_id       BIGINT UNSIGNED NULL COMMENT 'the cycle it applies for (周期 on the review page)',
    authority_id   BIGINT UNSIGNED NOT NULL COMMENT 'the authority that decides (the institution''s own)',
    status         ENUM('待审核','通过','驳回') NOT NULL DEFAULT '待审核',
    note           VARCHAR(1000) NULL COMMENT 'what the institution wrote with its attachments',
    submitted_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT '申请时间',
    decided_by     BIGINT UNSIGNED NULL,
    decided_at     DATETIME(3)  NULL COMMENT '审核时间',
    reason         VARCHAR(1000) NULL COMMENT 'required when rejected',
    PRIMARY KEY (id),
    KEY idx_assessor_application_inst (institution_id, submitted_at),
    KEY idx_assessor_application_queue (authority_id, status, submitted_at),
    CONSTRAINT fk_assessor_application_inst FOREIGN KEY (institution_id) REFERENCES institution (id),
    CONSTRAINT fk_assessor_application_cycle FOREIGN KEY (cycle_id) REFERENCES cycle (id),
    CONSTRAINT fk_assessor_application_authority FOREIGN KEY (authority_id) REFERENCES authority (id),
    CONSTRAINT fk_assessor_application_decided_by FOREIGN KEY (decided_by) REFERENCES authority_account (id),
    CONSTRAINT ck_assessor_application_decided CHECK ((status = '待审核') = (decided_at IS NULL)),
    CONSTRAINT ck_assessor_application_reason CHECK (status <> '驳回' OR (reason IS NOT NULL AND reason <> ''))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='申请考核机构: needs institution.can_apply; attachments in attachment(owner_type=assessor_application)';

CREATE TABLE IF NOT EXISTS assessor_assignment (
    cycle_id       BIGINT UNSIGNED NOT NULL,
    institution_id BIGINT UNSIGNED NOT NULL COMMENT 'the institution whose physicians are assessed',
    assessor_id    BIGINT UNSIGNED NOT NULL COMMENT 'the 考核机构 (may be the institution itself)',
    assigned_by    BIGINT UNSIGNED NULL,
    assigned_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (cycle_id, institution_id),
    KEY idx_assessor_assignment_assessor (assessor_id, cycle_id),
    KEY idx_assessor_assignment_inst (institution_id),
    CONSTRAINT fk_assessor_assignment_cycle FOREIGN KEY (cycle_id) REFERENCES cycle (id),
    CONSTRAINT fk_assessor_assignment_inst FOREIGN KEY (institution_id) REFERENCES institution (id),
    CONSTRAINT fk_assessor_assignment_assessor FOREIGN KEY (assessor_id) REFERENCES institution (id),
    CONSTRAINT fk_assessor_assignment_by FOREIGN KEY (assigned_by) REFERENCES authority_account (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='which 考核机构 re-reviews the decisions of which institution in a cycle';

-- ---------------------------------------------------------------------------------
-- Departments 科室 and their 诊疗科目
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS department (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    institution_id BIGINT UNSIGNED NOT NULL,
    name           VARCHAR(64) NOT NULL,
    enabled        TINYINT(1)  NOT NULL DEFAULT 1 COMMENT '停用 departments cannot be chosen by physicians',
    created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_department_name (institution_id, name),
    UNIQUE KEY uq_department_inst_id (institution_id, id),
    CONSTRAINT fk_department_inst FOREIGN KEY (institution_id) REFERENCES institution (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='科室: deleting one that physicians reference fails (FK); disable it instead';

CREATE TABLE IF NOT EXISTS department_subject (
    department_id BIGINT UNSIGNED NOT NULL,
    subject_id    BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (department_id, subject_id),
    KEY idx_department_subject_subject (subject_id),
    CONSTRAINT fk_department_subject_dept FOREIGN KEY (department_id) REFERENCES department (id) ON DELETE CASCADE,
    CONSTRAINT fk_department_subject_subject FOREIGN KEY (subject_id) REFERENCES subject (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='关联诊疗科目 of a department (one or more)';

-- ---------------------------------------------------------------------------------
-- Physicians 医师
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS physician (
    id                      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    id_type                 VARCHAR(16)  NOT NULL DEFAULT '居民身份证' COMMENT '证件类型',
    id_number               VARCHAR(32)  NOT NULL COMMENT '证件号码; a 居民身份证 has 18 characters (last may be X) or, for old records, 15 digits: search both forms. Shown masked (1402*****19)',
    name                    VARCHAR(64)  NOT NULL,
    sex                     ENUM('男','女') NULL,
    birth_date              DATE         NULL,
    ethnicity               VARCHAR(16)  NULL COMMENT '民族',
    education               VARCHAR(16)  NULL COMMENT '学历',
    email                   VARCHAR(128) NULL,
    mobile                  VARCHAR(20)  NULL,
    account                 VARCHAR(32)  NOT NULL COMMENT 'login: institution code + 5-digit sequence, e.g. 620981H0000100001; the ID number also logs in',
    password_hash           VARCHAR(255) NOT NULL COMMENT 'argon2id; initial and reset password 666666',
    must_change_password    TINYINT(1)   NOT NULL DEFAULT 1,
    failed_logins           SMALLINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'consecutive failures, 0 after a success',
    last_failed_at          DATETIME(3)  NULL,
    locked_until            DATETIME(3)  NULL,
    last_login_at           DATETIME(3)  NULL,
    password_changed_at     DATETIME(3)  NULL,
    institution_id          BIGINT UNSIGNED NOT NULL COMMENT 'current (or, when 离岗, last) institution',
    department_id           BIGINT UNSIGNED NULL COMMENT 'an enabled department of institution_id',
    practice_level          ENUM('执业医师','执业助理医师') NOT NULL COMMENT '医师级别',
    practice_category       ENUM('临床','中医','口腔','公共卫生') NOT NULL COMMENT '执业类别: picks the 业务水平 paper',
    practice_scope          VARCHAR(64)  NULL COMMENT '执业范围, e.g. 儿科专业',
    specialty               VARCHAR(64)  NULL COMMENT '从事专业, e.g. 小儿传染病专业',
    title                   VARCHAR(32)  NULL COMMENT '职称, e.g. 中级 (主治/主管)',
    post                    VARCHAR(32)  NULL COMMENT '职务',
    standardized_training   TINYINT(1)   NULL COMMENT '规范化 (住院医师规范化培训) 是/否',
    qualification_cert_no   VARCHAR(32)  NULL COMMENT '医师资格证书编码',
    qualification_date      DATE         NULL,
    practice_cert_no        VARCHAR(32)  NULL COMMENT '医师执业证书编码',
    practice_cert_date      DATE         NULL COMMENT '执业证取得时间',
    first_registration_date DATE         NULL COMMENT '首次注册时间: institutions filter on it to find who is due this cycle',
    source                  ENUM('电子化注册','手动','批量导入') NOT NULL DEFAULT '手动' COMMENT 'provinces linked to 医师电子化注册 forbid manual creation',
    status                  ENUM('在岗','离岗') NOT NULL DEFAULT '在岗' COMMENT '离岗: moved out (调离) and waiting for another institution to 调入',
    deleted_at              DATETIME(3)  NULL COMMENT '删除 (no longer practising): hidden, kept for history',
    photo_path              VARCHAR(512) NULL COMMENT 'registered photo (头像) the captures are compared with',
    photo_sha256            CHAR(64)     NULL,
    face_embedding          VARBINARY(4096) NULL COMMENT 'recogniser output for photo_path: little-endian float32 vector, L2-normalised',
    face_model              VARCHAR(64)  NULL COMMENT 'recogniser that made face_embedding; another model means recompute',
    photo_updated_at        DATETIME(3)  NULL,
    created_at              DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at              DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_physician_id_number (id_number),
    UNIQUE KEY uq_physician_account (account),
    KEY idx_physician_inst (institution_id, status, department_id),
    KEY idx_physician_inst_firstreg (institution_id, first_registration_date),
    KEY idx_physician_name (name),
    KEY idx_physician_dept (institution_id, department_id),
    CONSTRAINT fk_physician_inst FOREIGN KEY (institution_id) REFERENCES institution (id),
    CONSTRAINT fk_physician_dept FOREIGN KEY (institution_id, department_id) REFERENCES department (institution_id, id),
    CONSTRAINT ck_physician_id_number CHECK (id_type <> '居民身份证' OR id_number REGEXP '^([0-9]{17}[0-9X]|[0-9]{15})$'),
    CONSTRAINT ck_physician_account CHECK (account REGEXP '[0-9]{5}$'),
    CONSTRAINT ck_physician_embedding CHECK (face_embedding IS NULL OR (LENGTH(face_embedding) % 4 = 0 AND face_model IS NOT NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='执业医师 / 执业助理医师; the photo and embedding are sensitive personal data (PIPL art. 28)';

CREATE TABLE IF NOT EXISTS physician_transfer (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    physician_id        BIGINT UNSIGNED NOT NULL,
    kind                ENUM('离岗','调入') NOT NULL COMMENT '离岗: the old institution moved the physician out; 调入: a new one took the physician in (found by ID number)',
    from_institution_id BIGINT UNSIGNED NULL,
    to_institution_id   BIGINT UNSIGNED NULL,
    reason              VARCHAR(255) NULL COMMENT 'e.g. 离职, 退休',
    created_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_physician_transfer_physician (physician_id, created_at),
    CONSTRAINT fk_physician_transfer_physician FOREIGN KEY (physician_id) REFERENCES physician (id),
    CONSTRAINT fk_physician_transfer_from FOREIGN KEY (from_institution_id) REFERENCES institution (id),
    CONSTRAINT fk_physician_transfer_to FOREIGN KEY (to_institution_id) REFERENCES institution (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='调离 / 调入 history of a physician';

CREATE TABLE IF NOT EXISTS physician_experience (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    physician_id     BIGINT UNSIGNED NOT NULL,
    start_date       DATE         NOT NULL,
    end_date         DATE         NULL COMMENT 'NULL: until now',
    institution_name VARCHAR(128) NOT NULL,
    department       VARCHAR(64)  NULL,
    position         VARCHAR(64)  NULL,
    PRIMARY KEY (id),
    KEY idx_physician_experience_physician (physician_id, start_date),
    CONSTRAINT fk_physician_experience_physician FOREIGN KEY (physician_id) REFERENCES physician (id) ON DELETE CASCADE,
    CONSTRAINT ck_physician_experience_dates CHECK (end_date IS NULL OR end_date >= start_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='执业经历 shown in the 一般程序 review';

CREATE TABLE IF NOT EXISTS conduct_record (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    physician_id     BIGINT UNSIGNED NOT NULL,
    kind             ENUM('良好','不良') NOT NULL COMMENT '良好执业行为记录 / 不良执业行为记录',
    institution_name VARCHAR(128) NOT NULL COMMENT '医疗卫生机构 of the record',
    closed_on        DATE         NULL COMMENT '结案时间',
    outcome          VARCHAR(1000) NULL COMMENT '处理结果',
    source           VARCHAR(32)  NULL COMMENT 'e.g. 不良执业行为记分, 手动',
    created_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_conduct_record_physician (physician_id, kind),
    CONSTRAINT fk_conduct_record_physician FOREIGN KEY (physician_id) REFERENCES physician (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='执业行为记录 (不良记录 table of the review pages)';

-- ---------------------------------------------------------------------------------
-- Enrolments: one physician in one cycle (DESIGN.md §1.1)
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS enrolment (
    id                     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    cycle_id               BIGINT UNSIGNED NOT NULL,
    physician_id           BIGINT UNSIGNED NOT NULL,
    institution_id         BIGINT UNSIGNED NOT NULL COMMENT 'the institution that confirmed participation (参加) and reviews',
    assessor_id            BIGINT UNSIGNED NULL COMMENT 'the 考核机构 that re-reviews (from assessor_assignment when submitted)',
    status                 ENUM('待报名','待报名（被机构驳回）','待医疗卫生机构审核',
                                '待医疗卫生机构审核（被考核机构驳回）','待考核机构复核','待参加考核',
                                '待确认补考','待参加补考','考核完成','退出本周期')
                           NOT NULL DEFAULT '待报名' COMMENT 'DESIGN.md §1.1; every change also goes to audit_log',
    procedure_type         ENUM('简易程序','一般程序') NULL COMMENT '考核程序 chosen by the physician',
    confirmed_at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT '参加 / 批量参加 by the institution',
    submitted_at           DATETIME(3) NULL COMMENT 'last submission by the physician (registration + procedure + self-assessment)',
    -- self-assessment 自评 (工作成绩 / 职业道德)
    sa_patient_visits      INT UNSIGNED NULL COMMENT '接诊病人数 (人次) in the cycle',
    sa_operations          INT UNSIGNED NULL COMMENT '手术量 (例), surgical departments',
    sa_examinations        INT UNSIGNED NULL COMMENT '检验/检查量 (例), medical-technology departments',
    sa_other_workload      VARCHAR(1000) NULL COMMENT 'other work quantity the physician reports',
    sa_work_text           MEDIUMTEXT NULL COMMENT '工作成绩 self-assessment',
    sa_ethics_text         MEDIUMTEXT NULL COMMENT '职业道德 self-assessment',
    sa_report_text         MEDIUMTEXT NULL COMMENT '个人述职报告 (or an attachment)',
    sa_simple_condition    VARCHAR(255) NULL COMMENT 'the 简易程序 condition claimed, e.g. 省级以上卫生行政部门规定的其他情形',
    sa_good_record         TINYINT(1) NULL COMMENT '良好执业行为记录 有(1)/无(0)',
    sa_bad_record          TINYINT(1) NULL COMMENT '不良执业行为记录 有(1)/无(0)',
    -- the institution's evaluation 医疗卫生机构评定意见
    inst_quantity_result   ENUM('合格','不合格') NULL COMMENT '完成工作数量',
    inst_work_result       ENUM('合格','不合格') NULL COMMENT '工作成绩 (工作业绩)',
    inst_work_reason       VARCHAR(1000) NULL COMMENT '不合格理由',
    inst_ethics_result     ENUM('合格','不合格') NULL COMMENT '职业道德',
    inst_ethics_reason     VARCHAR(1000) NULL,
    inst_reviewed_by       VARCHAR(64) NULL COMMENT 'name of the staff member who evaluated (the account is the institution)',
    inst_reviewed_at       DATETIME(3) NULL,
    inst_reject_reason     VARCHAR(1000) NULL COMMENT 'last 驳回 to the physician',
    inst_rejected_at       DATETIME(3) NULL,
    -- the assessment institution's re-review 复核
    assessor_result        ENUM('通过','驳回') NULL,
    assessor_reason        VARCHAR(1000) NULL COMMENT 'required for 驳回',
    assessor_reviewed_at   DATETIME(3) NULL,
    -- the authority's makeup decision 待确认补考 -> 待参加补考
    makeup_decision        ENUM('允许补考','不予补考') NULL,
    makeup_decided_by      BIGINT UNSIGNED NULL,
    makeup_decided_at      DATETIME(3) NULL,
    makeup_reason          VARCHAR(1000) NULL,
    -- withdrawal 退出本周期
    withdrawn_at           DATETIME(3) NULL,
    withdraw_reason        VARCHAR(1000) NULL COMMENT 'why the physician is not due in this cycle',
    -- outcome 考核结果
    result                 ENUM('合格','不合格') NULL COMMENT 'set exactly when status is 考核完成',
    result_reason          VARCHAR(255) NULL COMMENT 'e.g. 工作成绩不合格, 职业道德不合格, 业务水平测评不合格, 认定作弊, 未参加测评',
    completed_at           DATETIME(3) NULL,
    lock_version           INT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'optimistic lock: UPDATE ... WHERE lock_version = ? and bump it',
    created_at             DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at             DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_enrolment_physician_cycle (physician_id, cycle_id),
    KEY idx_enrolment_inst (cycle_id, institution_id, status, procedure_type),
    KEY idx_enrolment_assessor (cycle_id, assessor_id, status),
    KEY idx_enrolment_status (cycle_id, status),
    KEY idx_enrolment_institution (institution_id),
    CONSTRAINT fk_enrolment_cycle FOREIGN KEY (cycle_id) REFERENCES cycle (id),
    CONSTRAINT fk_enrolment_physician FOREIGN KEY (physician_id) REFERENCES physician (id),
    CONSTRAINT fk_enrolment_inst FOREIGN KEY (institution_id) REFERENCES institution (id),
    CONSTRAINT fk_enrolment_assessor FOREIGN KEY (assessor_id) REFERENCES institution (id),
    CONSTRAINT fk_enrolment_makeup_by FOREIGN KEY (makeup_decided_by) REFERENCES authority_account (id),
    CONSTRAINT ck_enrolment_result CHECK ((status = '考核完成') = (result IS NOT NULL)),
    CONSTRAINT ck_enrolment_work_reason CHECK (inst_work_result <> '不合格' OR (inst_work_reason IS NOT NULL AND inst_work_reason <> '')),
    CONSTRAINT ck_enrolment_ethics_reason CHECK (inst_ethics_result <> '不合格' OR (inst_ethics_reason IS NOT NULL AND inst_ethics_reason <> '')),
    CONSTRAINT ck_enrolment_assessor_reason CHECK (assessor_result <> '驳回' OR (assessor_reason IS NOT NULL AND assessor_reason <> '')),
    CONSTRAINT ck_enrolment_workload CHECK (sa_patient_visits < 10000000 AND sa_operations < 10000000 AND sa_examinations < 100000000)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='one physician in one cycle: registration, self-assessment, evaluations, outcome';

CREATE TABLE IF NOT EXISTS enrolment_opinion (
    id                     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    enrolment_id           BIGINT UNSIGNED NOT NULL,
    other_institution_id   BIGINT UNSIGNED NULL COMMENT 'when the other site is in the system',
    other_institution_name VARCHAR(128) NOT NULL,
    opinion                VARCHAR(2000) NOT NULL,
    created_at             DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_enrolment_opinion_enrolment (enrolment_id),
    CONSTRAINT fk_enrolment_opinion_enrolment FOREIGN KEY (enrolment_id) REFERENCES enrolment (id) ON DELETE CASCADE,
    CONSTRAINT fk_enrolment_opinion_inst FOREIGN KEY (other_institution_id) REFERENCES institution (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='多执业机构其它意见: entered by the reviewing institution (新增意见)';

CREATE TABLE IF NOT EXISTS exemption_request (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    enrolment_id        BIGINT UNSIGNED NOT NULL,
    paper               ENUM('公共知识','业务水平') NOT NULL COMMENT 'the test it drops: 公共知识 (人文医学) for 简易程序, 业务水平 for 一般程序',
    exemption_type      VARCHAR(64)  NOT NULL COMMENT '免考条件 claimed (set by the province)',
    reason              VARCHAR(2000) NULL,
    status              ENUM('待医疗卫生机构审核','待考核机构复核','通过','驳回') NOT NULL DEFAULT '待医疗卫生机构审核',
    submitted_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    inst_result         ENUM('通过','驳回') NULL,
    inst_reason         VARCHAR(1000) NULL,
    inst_decided_at     DATETIME(3) NULL,
    assessor_result     ENUM('通过','驳回') NULL,
    assessor_reason     VARCHAR(1000) NULL,
    assessor_decided_at DATETIME(3) NULL,
    updated_at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_exemption_request (enrolment_id, paper),
    KEY idx_exemption_request_status (status),
    CONSTRAINT fk_exemption_request_enrolment FOREIGN KEY (enrolment_id) REFERENCES enrolment (id),
    CONSTRAINT ck_exemption_inst_reason CHECK (inst_result <> '驳回' OR (inst_reason IS NOT NULL AND inst_reason <> '')),
    CONSTRAINT ck_exemption_assessor_reason CHECK (assessor_result <> '驳回' OR (assessor_reason IS NOT NULL AND assessor_reason <> ''))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='免考申请: institution review, then 考核机构 re-review; resubmission after 驳回 updates the row (history in audit_log); files in attachment';

CREATE TABLE IF NOT EXISTS certificate (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    enrolment_id BIGINT UNSIGNED NOT NULL,
    cert_no      VARCHAR(64)  NOT NULL COMMENT '定期考核合格证书 number',
    authority_id BIGINT UNSIGNED NOT NULL COMMENT '发证机关 (its seal makes the certificate valid)',
    issued_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    file_path    VARCHAR(512) NULL COMMENT 'rendered image/PDF, if kept',
    PRIMARY KEY (id),
    UNIQUE KEY uq_certificate_enrolment (enrolment_id),
    UNIQUE KEY uq_certificate_no (cert_no),
    CONSTRAINT fk_certificate_enrolment FOREIGN KEY (enrolment_id) REFERENCES enrolment (id),
    CONSTRAINT fk_certificate_authority FOREIGN KEY (authority_id) REFERENCES authority (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='pass certificate of an enrolment that ended 考核完成 / 合格';

-- ---------------------------------------------------------------------------------
-- Audit log 提交日志 / 操作日志 (also every view of a capture photo)
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS audit_log (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    actor_type  ENUM('physician','institution','assessor','authority','system') NOT NULL COMMENT 'assessor = an institution acting as 考核机构',
    actor_id    BIGINT UNSIGNED NULL COMMENT 'physician / institution / authority_account id; NULL for system',
    role        VARCHAR(32)  NULL COMMENT 'role the actor acted in, as the console names it',
    action      VARCHAR(64)  NOT NULL COMMENT 'e.g. submit, approve, reject, confirm_makeup, mark_suspect, determine_cheating, revoke_cheating, photo_view, reset_password, transfer_in',
    entity_type VARCHAR(32)  NOT NULL COMMENT 'table name of the entity: enrolment, exam_session, physician, ...',
    entity_id   VARCHAR(64)  NOT NULL,
    from_status VARCHAR(64)  NULL,
    to_status   VARCHAR(64)  NULL,
    reason      VARCHAR(2000) NULL,
    detail      JSON         NULL COMMENT 'anything else worth keeping; never passwords, tokens or photos',
    ip          VARCHAR(45)  NULL,
    created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_audit_log_entity (entity_type, entity_id, created_at),
    KEY idx_audit_log_actor (actor_type, actor_id, created_at),
    KEY idx_audit_log_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='append-only: who, when, what, from which status to which, why';

-- ---------------------------------------------------------------------------------
-- Question bank (question-bank/ codes against these names)
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS qb_group (
    id             VARCHAR(32) NOT NULL,
    category       VARCHAR(8)  NOT NULL COMMENT '执业类别: 临床 中医 口腔 公共卫生',
    paper          VARCHAR(8)  NOT NULL COMMENT '公共知识 / 业务水平',
    section        VARCHAR(64) NOT NULL COMMENT 'blueprint section',
    qtype          VARCHAR(4)  NOT NULL COMMENT 'question type, e.g. A3, A4, B1',
    case_text      MEDIUMTEXT  NULL COMMENT 'shared case (病例) of an A3/A4 group',
    shared_options JSON        NULL COMMENT 'shared options of a B1 group',
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='a group of questions sharing a case or options';

CREATE TABLE IF NOT EXISTS qb_question (
    id          VARCHAR(32) NOT NULL,
    category    VARCHAR(8)  NOT NULL,
    paper       VARCHAR(8)  NOT NULL,
    section     VARCHAR(64) NOT NULL,
    qtype       VARCHAR(4)  NOT NULL,
    group_id    VARCHAR(32) NULL,
    group_pos   INT         NULL COMMENT 'position inside its group',
    stem        MEDIUMTEXT  NOT NULL,
    options     JSON        NOT NULL,
    answer      VARCHAR(8)  NOT NULL COMMENT 'answer key; never leaves the server',
    difficulty  TINYINT     NOT NULL DEFAULT 3,
    explanation MEDIUMTEXT  NULL,
    imported_at DATETIME(3) NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_qb_question_draw (category, paper, section, qtype),
    KEY idx_qb_question_group (group_id),
    CONSTRAINT fk_qb_question_group FOREIGN KEY (group_id) REFERENCES qb_group (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='one question of the bank';

CREATE TABLE IF NOT EXISTS qb_blueprint (
    category       VARCHAR(8)  NOT NULL,
    paper          VARCHAR(8)  NOT NULL,
    question_count INT         NULL COMMENT 'seeds: 100',
    duration_min   INT         NULL COMMENT 'seeds: 60',
    pass_mark      INT         NULL,
    sections       JSON        NOT NULL COMMENT 'per section: how many questions of which type',
    updated_at     DATETIME(3) NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (category, paper)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='how a paper is drawn for a category x paper type';

CREATE TABLE IF NOT EXISTS qb_bank_version (
    id         TINYINT     NOT NULL COMMENT 'always 1',
    version    BIGINT      NOT NULL COMMENT 'bumped by every import; sessions record the version they drew from',
    updated_at DATETIME(3) NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    CONSTRAINT ck_qb_bank_version_one CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='the single row saying which bank is loaded';

INSERT IGNORE INTO qb_bank_version (id, version) VALUES (1, 1);

-- ---------------------------------------------------------------------------------
-- Exams (exam-engine/)
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS exam_session (
    id           CHAR(32)    NOT NULL COMMENT 'random hex id made by examd',
    physician_id BIGINT UNSIGNED NOT NULL,
    enrolment_id BIGINT UNSIGNED NOT NULL,
    cycle_id     BIGINT UNSIGNED NOT NULL,
    paper        ENUM('公共知识','业务水平') NOT NULL COMMENT '公共知识 is the 人文医学 test',
    attempt      TINYINT UNSIGNED NOT NULL DEFAULT 1 COMMENT '1 = first sitting, 2 = makeup 补考',
    seed         BIGINT UNSIGNED NOT NULL COMMENT 'drawing seed: the same seed and bank version redraw the same paper',
    bank_version BIGINT      NOT NULL,
    paper_json   JSON        NOT NULL COMMENT 'the drawn paper: question ids and option orders, in question order',
    started_at   DATETIME(3) NOT NULL,
    deadline     DATETIME(3) NOT NULL COMMENT 'min(started_at + duration, window end); the clock never stops',
    submitted_at DATETIME(3) NULL,
    submitted_by ENUM('physician','sweeper') NULL COMMENT 'sweeper: the deadline passed',
    status       ENUM('live','submitted') NOT NULL DEFAULT 'live',
    created_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_exam_session_attempt (physician_id, cycle_id, paper, attempt),
    KEY idx_exam_session_enrolment (enrolment_id),
    KEY idx_exam_session_cycle (cycle_id, paper, status),
    KEY idx_exam_session_deadline (status, deadline),
    CONSTRAINT fk_exam_session_physician FOREIGN KEY (physician_id) REFERENCES physician (id),
    CONSTRAINT fk_exam_session_enrolment FOREIGN KEY (enrolment_id) REFERENCES enrolment (id),
    CONSTRAINT fk_exam_session_cycle FOREIGN KEY (cycle_id) REFERENCES cycle (id),
    CONSTRAINT ck_exam_session_attempt CHECK (attempt IN (1, 2)),
    CONSTRAINT ck_exam_session_deadline CHECK (deadline > started_at),
    CONSTRAINT ck_exam_session_submitted CHECK ((status = 'submitted') = (submitted_at IS NOT NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='one sitting of one paper; live state is in Redis, this is the durable copy';

CREATE TABLE IF NOT EXISTS exam_answer (
    session_id  CHAR(32)    NOT NULL,
    question_no SMALLINT UNSIGNED NOT NULL COMMENT '1-based position in paper_json',
    choice      VARCHAR(8)  NULL COMMENT 'as the physician chose it (in displayed option order); NULL = cleared',
    saved_at    DATETIME(3) NOT NULL COMMENT 'when Redis acknowledged it',
    PRIMARY KEY (session_id, question_no),
    CONSTRAINT fk_exam_answer_session FOREIGN KEY (session_id) REFERENCES exam_session (id) ON DELETE CASCADE,
    CONSTRAINT ck_exam_answer_no CHECK (question_no >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='answers flushed from Redis in batches during the exam and in full at submit';

CREATE TABLE IF NOT EXISTS exam_result (
    session_id         CHAR(32)    NOT NULL,
    score              INT         NOT NULL,
    total              INT         NOT NULL,
    pass_mark          INT         NOT NULL,
    passed             TINYINT(1)  NOT NULL COMMENT 'score >= pass_mark',
    cheating_confirmed TINYINT(1)  NOT NULL DEFAULT 0 COMMENT '认定作弊 by the authority (and not revoked)',
    final_passed       TINYINT(1)  NOT NULL COMMENT 'passed and not cheating_confirmed',
    created_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at         DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (session_id),
    KEY idx_exam_result_final (final_passed),
    CONSTRAINT fk_exam_result_session FOREIGN KEY (session_id) REFERENCES exam_session (id),
    CONSTRAINT ck_exam_result_score CHECK (score BETWEEN 0 AND total),
    CONSTRAINT ck_exam_result_final CHECK (final_passed = (passed AND NOT cheating_confirmed))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='score of a submitted session (测评结果)';

CREATE TABLE IF NOT EXISTS enrolment_test (
    enrolment_id      BIGINT UNSIGNED NOT NULL,
    paper             ENUM('公共知识','业务水平') NOT NULL COMMENT '公共知识 = 人文医学',
    required          TINYINT(1) NOT NULL COMMENT '一般程序: both papers; 简易程序: 公共知识 only',
    exempted          TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'an approved 免考 drops it',
    result            ENUM('合格','不合格') NULL COMMENT 'NULL: not sat yet (测评结果)',
    attempts          TINYINT UNSIGNED NOT NULL DEFAULT 0,
    last_session_id   CHAR(32)   NULL,
    updated_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (enrolment_id, paper),
    KEY idx_enrolment_test_result (paper, result),
    CONSTRAINT fk_enrolment_test_enrolment FOREIGN KEY (enrolment_id) REFERENCES enrolment (id) ON DELETE CASCADE,
    CONSTRAINT fk_enrolment_test_session FOREIGN KEY (last_session_id) REFERENCES exam_session (id),
    CONSTRAINT ck_enrolment_test_attempts CHECK (attempts <= 2)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='the tests of an enrolment: which are required, exempted, passed; a physician may sit required, not exempted, not passed ones';

-- ---------------------------------------------------------------------------------
-- Proctoring (proctor/) and invigilation 监考管理
-- ---------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS proctor_capture (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    session_id       CHAR(32)     NOT NULL,
    physician_id     BIGINT UNSIGNED NOT NULL,
    purpose          ENUM('start','random') NOT NULL DEFAULT 'random' COMMENT 'start: the capture that opens the session (must show one face)',
    taken_at         DATETIME(3)  NOT NULL,
    photo_path       VARCHAR(512) NULL COMMENT 'NULL once deleted after the retention period',
    photo_sha256     CHAR(64)     NULL,
    bytes            INT UNSIGNED NOT NULL,
    width            SMALLINT UNSIGNED NULL,
    height           SMALLINT UNSIGNED NULL,
    faces            TINYINT UNSIGNED NULL COMMENT 'faces detected',
    det_score        DOUBLE       NULL COMMENT 'detector confidence of the best face',
    box              VARCHAR(96)  NULL COMMENT 'best face box [x,y,w,h] in pixels (JSON text)',
    cosine           DOUBLE       NULL COMMENT 'raw recogniser cosine with the registered embedding',
    similarity       DOUBLE       NULL COMMENT 'calibrated percent 0..100 shown to invigilators; < 40 means probably someone else',
    flag             VARCHAR(32)  NULL COMMENT 'low_similarity / no_face / multiple_faces / ... when suspect',
    error            VARCHAR(255) NULL COMMENT 'why it could not be scored (bad JPEG, too large, ...)',
    scored_at        DATETIME(3)  NULL,
    photo_deleted_at DATETIME(3)  NULL,
    PRIMARY KEY (id),
    KEY idx_proctor_capture_session (session_id, taken_at),
    KEY idx_proctor_capture_similarity (similarity),
    KEY idx_proctor_capture_physician (physician_id),
    CONSTRAINT fk_proctor_capture_session FOREIGN KEY (session_id) REFERENCES exam_session (id),
    CONSTRAINT fk_proctor_capture_physician FOREIGN KEY (physician_id) REFERENCES physician (id),
    CONSTRAINT ck_proctor_capture_similarity CHECK (similarity BETWEEN 0 AND 100)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='webcam captures during a session and their scores (监考照片)';

CREATE TABLE IF NOT EXISTS proctor_suspect (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    session_id   CHAR(32)     NOT NULL,
    physician_id BIGINT UNSIGNED NOT NULL,
    capture_id   BIGINT UNSIGNED NULL COMMENT 'the (worst) capture behind it; NULL for missing_captures',
    reason       ENUM('low_similarity','no_face','multiple_faces','missing_captures') NOT NULL,
    score        DOUBLE       NULL COMMENT 'lowest similarity seen, or the number of missed captures',
    occurrences  INT UNSIGNED NOT NULL DEFAULT 1 COMMENT 'INSERT ... ON DUPLICATE KEY UPDATE occurrences = occurrences + 1',
    status       ENUM('open','reviewed') NOT NULL DEFAULT 'open',
    created_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_proctor_suspect (session_id, reason),
    KEY idx_proctor_suspect_status (status, created_at),
    KEY idx_proctor_suspect_physician (physician_id),
    CONSTRAINT fk_proctor_suspect_session FOREIGN KEY (session_id) REFERENCES exam_session (id),
    CONSTRAINT fk_proctor_suspect_physician FOREIGN KEY (physician_id) REFERENCES physician (id),
    CONSTRAINT fk_proctor_suspect_capture FOREIGN KEY (capture_id) REFERENCES proctor_capture (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='sessions the proctor flagged automatically (one row per session and reason)';

CREATE TABLE IF NOT EXISTS invigilation (
    session_id         CHAR(32)     NOT NULL,
    mark_status        ENUM('无','疑似','已认定','已撤销') NOT NULL DEFAULT '无' COMMENT '标记状态: 疑似 by the institution, 已认定 / 已撤销 by the authority',
    first_viewed_at    DATETIME(3)  NULL COMMENT '查看状态: NULL = 未查看 (each view is also in audit_log, action photo_view)',
    last_viewed_at     DATETIME(3)  NULL,
    view_count         INT UNSIGNED NOT NULL DEFAULT 0,
    marked_by          BIGINT UNSIGNED NULL COMMENT 'institution that marked 疑似 (it cannot unmark)',
    marked_at          DATETIME(3)  NULL,
    mark_note          VARCHAR(1000) NULL,
    decided_by         BIGINT UNSIGNED NULL COMMENT 'authority account of the last 认定作弊 / 撤销认定',
    decided_at         DATETIME(3)  NULL,
    lock_version       INT UNSIGNED NOT NULL DEFAULT 0,
    updated_at         DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (session_id),
    KEY idx_invigilation_mark (mark_status),
    CONSTRAINT fk_invigilation_session FOREIGN KEY (session_id) REFERENCES exam_session (id),
    CONSTRAINT fk_invigilation_marked_by FOREIGN KEY (marked_by) REFERENCES institution (id),
    CONSTRAINT fk_invigilation_decided_by FOREIGN KEY (decided_by) REFERENCES authority_account (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='the invigilation state of one session as the 监考管理 list shows it';

CREATE TABLE IF NOT EXISTS cheating_determination (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    session_id   CHAR(32)     NOT NULL,
    decision     ENUM('认定作弊','撤销认定') NOT NULL,
    authority_id BIGINT UNSIGNED NOT NULL,
    decided_by   BIGINT UNSIGNED NOT NULL COMMENT 'authority account',
    reason       VARCHAR(1000) NOT NULL,
    created_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    KEY idx_cheating_determination_session (session_id, created_at),
    CONSTRAINT fk_cheating_determination_session FOREIGN KEY (session_id) REFERENCES exam_session (id),
    CONSTRAINT fk_cheating_determination_authority FOREIGN KEY (authority_id) REFERENCES authority (id),
    CONSTRAINT fk_cheating_determination_by FOREIGN KEY (decided_by) REFERENCES authority_account (id),
    CONSTRAINT ck_cheating_determination_reason CHECK (reason <> '')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='认定作弊 / 撤销认定 by a health authority; the latest row is in force (exam_result.cheating_confirmed)';
