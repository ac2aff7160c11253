-- Sessions are recorded here; Redis only caches whether one is live. Redis keeps nothing on
-- disk, so a restart or FLUSHALL must not sign every buyer out (nor bring back a session that
-- was ended), and with Redis down tokens are still checked against this table.
CREATE TABLE user_sessions (
    session_id  UUID PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    CONSTRAINT user_sessions_expiry_check CHECK (expires_at > created_at)
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX user_sessions_expires_idx ON user_sessions (expires_at);
