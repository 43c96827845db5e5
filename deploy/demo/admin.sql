-- deploy/demo/admin.sql - demo rows for the admin console on top of people.sql (load it
-- after people.sql, with @pw set the same way): the institution's required information,
-- departments linked to 诊疗科目, self-assessments, and three more physicians so that
-- every role has something in its queue:
--   140105H0000100007  待考核机构复核 (the 考核机构 140100H00002 re-reviews it)
--   140105H0000100008  待确认补考     (the province confirms or refuses the makeup)
--   140105H0000100009  简易程序 with a 免考 request waiting for the institution
-- Idempotent: keyed by codes, accounts and (enrolment, paper). Times are UTC.
SET time_zone = '+00:00';

SET @inst = (SELECT id FROM institution WHERE code = '140105H00001');
SET @assessor = (SELECT id FROM institution WHERE code = '140100H00002');
SET @cycle = (SELECT c.id FROM cycle c JOIN authority a ON a.id = c.authority_id
              WHERE a.code = '140000' AND c.code = '01');

UPDATE institution SET legal_representative = '王院长', address = '山西省太原市小店区示例路 1 号',
       postcode = '030000', info_completed_at = IFNULL(info_completed_at, NOW(3))
WHERE id = @inst AND legal_representative IS NULL;
UPDATE institution SET legal_representative = '李院长', address = '山西省太原市迎泽区示例路 2 号',
       postcode = '030001', info_completed_at = IFNULL(info_completed_at, NOW(3))
WHERE id = @assessor AND legal_representative IS NULL;
UPDATE institution SET next_physician_seq = GREATEST(next_physician_seq, 10) WHERE id = @inst;

-- 关联诊疗科目 of the demo departments
INSERT IGNORE INTO department_subject (department_id, subject_id)
SELECT d.id, s.id FROM department d JOIN subject s ON s.code = CASE d.name
    WHEN '内科' THEN '03' WHEN '外科' THEN '04' WHEN '中医科' THEN '50' WHEN '口腔科' THEN '12'
    WHEN '预防保健科' THEN '01' END
WHERE d.institution_id = @inst;
SET @d_nk = (SELECT id FROM department WHERE institution_id = @inst AND name = '内科');
SET @d_wk = (SELECT id FROM department WHERE institution_id = @inst AND name = '外科');

INSERT INTO physician (id_number, name, sex, birth_date, account, password_hash, must_change_password,
                       institution_id, department_id, practice_level, practice_category, practice_scope,
                       specialty, title, first_registration_date, photo_path)
VALUES ('140105198607073455', '赵强', '男', '1986-07-07', '140105H0000100007', @pw, 1, @inst, @d_wk,
        '执业医师', '临床', '外科专业', '普通外科', '中级', '2011-07-01', NULL),
       ('140105198708084567', '孙丽', '女', '1987-08-08', '140105H0000100008', @pw, 1, @inst, @d_nk,
        '执业医师', '临床', '内科专业', '心血管内科', '中级', '2012-07-01', NULL),
       ('140105198909095676', '周杰', '男', '1989-09-09', '140105H0000100009', @pw, 1, @inst, @d_nk,
        '执业医师', '临床', '内科专业', '呼吸内科', '副高', '2013-07-01', NULL)
ON DUPLICATE KEY UPDATE name = VALUES(name);

INSERT INTO enrolment (cycle_id, physician_id, institution_id, assessor_id, status, procedure_type,
                       submitted_at, sa_patient_visits, sa_operations, sa_work_text, sa_ethics_text,
                       sa_simple_condition, inst_quantity_result, inst_work_result, inst_ethics_result,
                       inst_reviewed_by, inst_reviewed_at)
SELECT @cycle, p.id, @inst, @assessor, x.st, x.proc, NOW(3), x.visits, x.ops,
       '考核周期内完成门诊、病房及手术工作，无医疗事故。', '遵守医德规范，廉洁行医，尊重患者。',
       IF(x.proc = '简易程序', '省级以上卫生行政部门规定的其他情形', NULL),
       IF(x.st = '待医疗卫生机构审核', NULL, IF(x.proc = '一般程序', '合格', NULL)),
       IF(x.st = '待医疗卫生机构审核', NULL, '合格'), IF(x.st = '待医疗卫生机构审核', NULL, '合格'),
       IF(x.st = '待医疗卫生机构审核', NULL, '医务科'), IF(x.st = '待医疗卫生机构审核', NULL, NOW(3))
FROM physician p JOIN (
    SELECT '140105H0000100007' AS acct, '待考核机构复核' AS st, '一般程序' AS proc, 2200 AS visits, 1500 AS ops UNION ALL
    SELECT '140105H0000100008', '待确认补考', '简易程序', 1800, 0 UNION ALL
    SELECT '140105H0000100009', '待医疗卫生机构审核', '简易程序', 2100, 0) x ON x.acct = p.account
ON DUPLICATE KEY UPDATE cycle_id = cycle_id;

-- the physician already waiting in people.sql gets a self-assessment to review
UPDATE enrolment e JOIN physician p ON p.id = e.physician_id
SET e.sa_patient_visits = 2000, e.sa_work_text = '完成门诊 2000 人次，参与科室质控。',
    e.sa_ethics_text = '遵守职业道德，无不良执业记录。'
WHERE p.account = '140105H0000100006' AND e.cycle_id = @cycle AND e.sa_work_text IS NULL;

-- 140105H0000100008 failed 人文医学 at its first sitting (no session row: the demo has no
-- papers sat); 140105H0000100009 asks to be exempted from it
INSERT INTO enrolment_test (enrolment_id, paper, required, exempted, result, attempts)
SELECT e.id, x.paper, x.req, 0, IF(x.paper = '公共知识', '不合格', NULL), IF(x.paper = '公共知识', 1, 0)
FROM enrolment e JOIN physician p ON p.id = e.physician_id
JOIN (SELECT '公共知识' AS paper, 1 AS req UNION ALL SELECT '业务水平', 0) x
WHERE p.account = '140105H0000100008' AND e.cycle_id = @cycle
ON DUPLICATE KEY UPDATE enrolment_id = enrolment_id;

INSERT INTO exemption_request (enrolment_id, paper, exemption_type, reason)
SELECT e.id, '公共知识', '省级以上卫生行政部门规定的其他情形', '已取得高级职称，申请免考人文医学'
FROM enrolment e JOIN physician p ON p.id = e.physician_id
WHERE p.account = '140105H0000100009' AND e.cycle_id = @cycle
ON DUPLICATE KEY UPDATE enrolment_id = enrolment_id;
