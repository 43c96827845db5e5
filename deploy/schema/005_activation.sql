-- 005_activation.sql - the one-time activation code of institution and authority accounts
-- (domain/dom_account.h, "first login"): a login with the initial password 666666 must
-- also give the code that was shown once to whoever created or reset the account. Only
-- its argon2id hash is kept; NULL means no code is valid (the account needs a reset).
-- Physicians prove their identity with the ID number and name on file instead.
-- A re-run changes nothing.
ALTER TABLE institution
    ADD COLUMN IF NOT EXISTS activation_hash VARCHAR(255) NULL
        COMMENT 'argon2id of the one-time activation code (initial password only); NULL: none';
ALTER TABLE authority_account
    ADD COLUMN IF NOT EXISTS activation_hash VARCHAR(255) NULL
        COMMENT 'argon2id of the one-time activation code (initial password only); NULL: none';
