-- deploy/demo/people.sql - demo organisation: an authority tree, two institutions (one
-- an approved assessment institution), departments, an open cycle whose test window
-- is now, and physicians in several statuses. Idempotent: every row is keyed by its
-- code or account. Needs @pw set to the argon2id hash of the initial password 666666
-- (deploy/demo/load.sh does that). Times are UTC (every connection of ours is).
SET time_zone = '+00:00';

INSERT INTO authority (parent_id, admin_level, code, name, contact_name, contact_phone)
VALUES (NULL, 'province', '140000', '山西省卫生健康委员会', '省医政处', '0351-0000000')
ON DUPLICATE KEY UPDATE name = VALUES(name);
SET @prov = (SELECT id FROM authority WHERE code = '140000');
INSERT INTO authority (parent_id, admin_level, code, name)
VALUES (@prov, 'city', '140100', '太原市卫生健康委员会')
ON DUPLICATE KEY UPDATE name = VALUES(name);
SET @city = (SELECT id FROM authority WHERE code = '140100');
INSERT INTO authority (parent_id, admin_level, code, name)
VALUES (@city, 'county', '140105', '小店区卫生健康局')
ON DUPLICATE KEY UPDATE name = VALUES(name);
SET @county = (SELECT id FROM authority WHERE code = '140105');
UPDATE authority SET path = CONCAT('/', @prov, '/') WHERE id = @prov;
UPDATE authority SET path = CONCAT('/', @prov, '/', @city, '/') WHERE id = @city;
UPDATE authority SET path = CONCAT('/', @prov, '/', @city, '/', @county, '/') WHERE id = @county;

INSERT INTO authority_account (authority_id, username, display_name, password_hash)
VALUES (@prov, 'sx-admin', '山西省卫健委管理员', @pw), (@city, 'ty-admin', '太原市卫健委管理员', @pw),
       (@county, 'xd-admin', '小店区卫健局管理员', @pw)
ON DUPLICATE KEY UPDATE display_name = VALUES(display_name);

INSERT INTO institution (code, name, authority_id, inst_type, inst_level, ownership, contact_name,
                         contact_phone, password_hash, is_assessor, can_apply, next_physician_seq)
VALUES ('140105H00001', '太原市小店区人民医院', @county, '医院', '二级甲等', '公立', '医务科', '0351-1111111', @pw, 0, 0, 7),
       ('140100H00002', '山西省人民医院', @city, '医院', '三级甲等', '公立', '医务处', '0351-2222222', @pw, 1, 1, 1)
ON DUPLICATE KEY UPDATE name = VALUES(name);
SET @inst = (SELECT id FROM institution WHERE code = '140105H00001');
SET @assessor = (SELECT id FROM institution WHERE code = '140100H00002');

INSERT INTO department (institution_id, name)
SELECT @inst, d FROM (SELECT '内科' AS d UNION ALL SELECT '外科' UNION ALL SELECT '中医科'
                      UNION ALL SELECT '口腔科' UNION ALL SELECT '预防保健科') x
WHERE NOT EXISTS (SELECT 1 FROM department WHERE institution_id = @inst AND name = x.d);
SET @d_nk = (SELECT id FROM department WHERE institution_id = @inst AND name = '内科');
SET @d_zy = (SELECT id FROM department WHERE institution_id = @inst AND name = '中医科');
SET @d_kq = (SELECT id FROM department WHERE institution_id = @inst AND name = '口腔科');
SET @d_yf = (SELECT id FROM department WHERE institution_id = @inst AND name = '预防保健科');

-- the cycle: its windows are around now so that a newcomer can sit a test at once
INSERT INTO cycle (authority_id, code, name, length_years, period_start, period_end,
                   assessor_apply_start, assessor_apply_end, registration_start, registration_end,
                   inst_review_start, inst_review_end, assessor_review_start, assessor_review_end,
                   test_start, test_end, makeup_start, makeup_end, withdraw_deadline, status)
VALUES (@prov, '01', '2026—2028 年度医师定期考核', 3, '2026-01-01', '2028-12-31 23:59:59',
        NOW() - INTERVAL 60 DAY, NOW() + INTERVAL 30 DAY, NOW() - INTERVAL 30 DAY, NOW() + INTERVAL 30 DAY,
        NOW() - INTERVAL 30 DAY, NOW() + INTERVAL 45 DAY, NOW() - INTERVAL 30 DAY, NOW() + INTERVAL 50 DAY,
        NOW() - INTERVAL 1 DAY, NOW() + INTERVAL 60 DAY, NOW() - INTERVAL 1 DAY, NOW() + INTERVAL 90 DAY,
        NOW() + INTERVAL 45 DAY, 'open')
ON DUPLICATE KEY UPDATE status = 'open';
SET @cycle = (SELECT id FROM cycle WHERE authority_id = @prov AND code = '01');

INSERT INTO physician (id_number, name, sex, birth_date, account, password_hash, must_change_password,
                       institution_id, department_id, practice_level, practice_category, practice_scope,
                       title, first_registration_date)
VALUES ('140105198001011234', '张伟', '男', '1980-01-01', '140105H0000100001', @pw, 1, @inst, @d_nk, '执业医师', '临床', '内科专业', '中级', '2008-07-01'),
       ('14010519820202234X', '王芳', '女', '1982-02-02', '140105H0000100002', @pw, 1, @inst, @d_zy, '执业医师', '中医', '中医专业', '副高', '2009-07-01'),
       ('140105198503033456', '李娜', '女', '1985-03-03', '140105H0000100003', @pw, 1, @inst, @d_kq, '执业医师', '口腔', '口腔专业', '中级', '2012-07-01'),
       ('140105198804044567', '刘洋', '男', '1988-04-04', '140105H0000100004', @pw, 1, @inst, @d_yf, '执业助理医师', '公共卫生', '公共卫生类别专业', '初级', '2014-07-01'),
       ('140105199005055678', '陈静', '女', '1990-05-05', '140105H0000100005', @pw, 1, @inst, @d_nk, '执业医师', '临床', '内科专业', '初级', '2016-07-01'),
       ('140105199106066789', '杨磊', '男', '1991-06-06', '140105H0000100006', @pw, 1, @inst, @d_nk, '执业医师', '临床', '内科专业', '初级', '2017-07-01')
ON DUPLICATE KEY UPDATE name = VALUES(name);

INSERT INTO assessor_assignment (assessor_id, institution_id, cycle_id)
SELECT @assessor, @inst, @cycle FROM DUAL
WHERE NOT EXISTS (SELECT 1 FROM assessor_assignment WHERE institution_id = @inst AND cycle_id = @cycle);

-- enrolments in several statuses: four may sit their tests now
INSERT INTO enrolment (cycle_id, physician_id, institution_id, assessor_id, status, procedure_type, submitted_at)
SELECT @cycle, p.id, @inst, @assessor, x.st, x.proc, IF(x.st = '待报名', NULL, NOW(3))
FROM physician p JOIN (
    SELECT '140105H0000100001' AS acct, '待参加考核' AS st, '一般程序' AS proc UNION ALL
    SELECT '140105H0000100002', '待参加考核', '简易程序' UNION ALL
    SELECT '140105H0000100003', '待参加考核', '一般程序' UNION ALL
    SELECT '140105H0000100004', '待参加考核', '一般程序' UNION ALL
    SELECT '140105H0000100005', '待报名', NULL UNION ALL
    SELECT '140105H0000100006', '待医疗卫生机构审核', '一般程序') x ON x.acct = p.account
ON DUPLICATE KEY UPDATE cycle_id = cycle_id;
