-- 003_certificates.sql - the pass certificate (定期考核合格证书) is issued when an enrolment
-- reaches 考核完成 合格, in the transaction that writes that status (examd's scoring,
-- admind's workflow: common/dk_enrol.c dk_enrol_issue_certificate). Before, admind issued
-- it on the first GET of the certificate. This file issues the certificates that were
-- never viewed: every 考核完成 合格 enrolment without one gets the number the code makes,
-- <authority code>-<cycle code>-<enrolment id, 8 digits> (keep the two alike), dated when
-- the enrolment was completed, each with its audit_log row. DML only, in one
-- transaction, and a re-run issues nothing twice.
SET NAMES utf8mb4;

START TRANSACTION;

INSERT INTO audit_log (actor_type, role, action, entity_type, entity_id, reason, detail)
SELECT 'system', '系统', 'issue_certificate', 'enrolment', CAST(e.id AS CHAR),
       '003_certificates.sql: 考核完成 合格 before certificates were issued at completion',
       JSON_OBJECT('cert_no', CONCAT(au.code, '-', c.code, '-',
                                     IF(e.id < 100000000, LPAD(e.id, 8, '0'), CAST(e.id AS CHAR))))
FROM enrolment e
JOIN cycle c ON c.id = e.cycle_id
JOIN institution i ON i.id = e.institution_id
JOIN authority au ON au.id = i.authority_id
WHERE e.status = '考核完成' AND e.result = '合格'
  AND NOT EXISTS (SELECT 1 FROM certificate x WHERE x.enrolment_id = e.id);

INSERT IGNORE INTO certificate (enrolment_id, cert_no, authority_id, issued_at)
SELECT e.id, CONCAT(au.code, '-', c.code, '-',
                    IF(e.id < 100000000, LPAD(e.id, 8, '0'), CAST(e.id AS CHAR))),
       i.authority_id, IFNULL(e.completed_at, NOW(3))
FROM enrolment e
JOIN cycle c ON c.id = e.cycle_id
JOIN institution i ON i.id = e.institution_id
JOIN authority au ON au.id = i.authority_id
WHERE e.status = '考核完成' AND e.result = '合格'
  AND NOT EXISTS (SELECT 1 FROM certificate x WHERE x.enrolment_id = e.id);

COMMIT;
