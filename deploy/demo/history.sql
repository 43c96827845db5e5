-- deploy/demo/history.sql - a finished window for the item analysis (issue 17 item 6): the
-- province's previous cycle (code 00, 2023—2025, closed, its windows in the past), a
-- separate synthetic institution (so the demo institution's lists stay as they are) and
-- @n synthetic physicians (default 300) enrolled in it with a procedure and 考核完成.
-- `qbank sim-sittings` then writes their sittings and `qbank analyse` their statistics
-- (deploy/demo/load.sh). Needs people.sql first and @pw set. Idempotent: keyed by codes
-- and accounts. ID numbers 99… are not real ones (99 is no province code).
-- bench/item_bench.sh sets the variables below to make a cycle of its own.
SET time_zone = '+00:00';
-- an unset variable is a binary string: the text ones are converted, so that COLLATE applies
SET @n = IFNULL(@n, 300);
SET @hcode = CONVERT(IFNULL(@hcode, '00') USING utf8mb4);
SET @hinst_code = CONVERT(IFNULL(@hinst_code, '140105S00009') USING utf8mb4);
SET @hname = CONVERT(IFNULL(@hname, '示例历史测评医院（模拟数据）') USING utf8mb4);
SET @idp = CONVERT(IFNULL(@idp, '9900001970') USING utf8mb4);

SET @prov = (SELECT id FROM authority WHERE code = '140000');
SET @county = (SELECT id FROM authority WHERE code = '140105');

INSERT INTO cycle (authority_id, code, name, length_years, period_start, period_end,
                   assessor_apply_start, assessor_apply_end, registration_start, registration_end,
                   inst_review_start, inst_review_end, assessor_review_start, assessor_review_end,
                   test_start, test_end, makeup_start, makeup_end, withdraw_deadline, status)
VALUES (@prov, @hcode, IF(@hcode = '00', '2023—2025 年度医师定期考核', CONCAT('基准测试周期 ', @hcode)), 3, '2023-01-01', '2025-12-31 23:59:59',
        '2025-03-01', '2025-03-31', '2025-04-01', '2025-04-30', '2025-04-01', '2025-05-15',
        '2025-04-01', '2025-05-31', '2025-06-10 00:00:00', '2025-06-20 23:59:59',
        '2025-07-10 00:00:00', '2025-07-20 23:59:59', '2025-05-15', 'closed')
ON DUPLICATE KEY UPDATE name = VALUES(name);
SET @hcycle = (SELECT id FROM cycle WHERE authority_id = @prov AND code = @hcode COLLATE utf8mb4_unicode_ci);

INSERT INTO institution (code, name, authority_id, inst_type, inst_level, ownership, contact_name,
                         contact_phone, password_hash, is_assessor, can_apply, next_physician_seq)
VALUES (@hinst_code, @hname, @county, '医院', '二级乙等', '公立', '医务科',
        '0351-9999999', @pw, 0, 0, 1)
ON DUPLICATE KEY UPDATE name = VALUES(name);
SET @hinst = (SELECT id FROM institution WHERE code = @hinst_code COLLATE utf8mb4_unicode_ci);

INSERT INTO physician (id_number, name, sex, birth_date, account, password_hash, must_change_password,
                       institution_id, practice_level, practice_category, title,
                       first_registration_date)
SELECT CONCAT(@idp, LPAD(seq, 8, '0')), CONCAT('模拟医师', seq), IF(seq % 2, '男', '女'),
       '1970-01-01' + INTERVAL (seq * 37) % 9000 DAY, CONCAT(@hinst_code, LPAD(seq, 5, '0')),
       @pw, 1, @hinst, '执业医师',
       CASE WHEN seq % 20 < 12 THEN '临床' WHEN seq % 20 < 15 THEN '中医'
            WHEN seq % 20 < 18 THEN '口腔' ELSE '公共卫生' END,
       '中级', '2005-07-01'
FROM seq_1_to_100000 WHERE seq <= @n
ON DUPLICATE KEY UPDATE name = VALUES(name);

INSERT INTO enrolment (cycle_id, physician_id, institution_id, status, procedure_type, submitted_at,
                       result, completed_at)
SELECT @hcycle, p.id, @hinst, '考核完成', IF(p.id % 5 = 0, '简易程序', '一般程序'),
       '2025-04-20', '合格', '2025-06-21'
FROM physician p WHERE p.institution_id = @hinst
ON DUPLICATE KEY UPDATE cycle_id = cycle_id;

SELECT @hcycle AS history_cycle;
