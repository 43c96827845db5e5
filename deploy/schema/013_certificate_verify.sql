-- 013_certificate_verify.sql - the public verification of a pass certificate (定期考核合格证书):
-- each certificate gets a verification code, 20 characters of Crockford's base32 drawn from
-- libsodium (100 bits), printed as the QR code of its PDF and checked by the public page
-- (GET /api/v1/public/certificates/{code}, admin/admin_cert.c). The certificate number
-- (<authority>-<cycle>-<enrolment>) is guessable, so the page never looks a certificate up
-- by it. Certificates issued before this migration get their code the first time they are
-- rendered or verified (domain/dom_tests.c dom_cert_verify_code); new ones when issued.
SET NAMES utf8mb4;

ALTER TABLE certificate
  ADD COLUMN IF NOT EXISTS verify_code CHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'public verification code (QR of the PDF); NULL until first use for certificates before 013';

CREATE UNIQUE INDEX IF NOT EXISTS uq_certificate_verify ON certificate (verify_code);
