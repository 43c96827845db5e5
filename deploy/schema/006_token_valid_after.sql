-- 006_token_valid_after.sql - when each account's tokens became valid (issue 12, finding
-- 2): unix milliseconds; a token issued before it is refused on both servers
-- (domain/dom_token.h). A password change, a reset, 离岗, a transfer in, a deletion and a
-- logout move it to now, in the same transaction, and publish it to Redis. 0: never
-- revoked. IF NOT EXISTS: a re-run changes nothing.
ALTER TABLE physician ADD COLUMN IF NOT EXISTS tokens_valid_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE institution ADD COLUMN IF NOT EXISTS tokens_valid_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE authority_account ADD COLUMN IF NOT EXISTS tokens_valid_after BIGINT NOT NULL DEFAULT 0;
