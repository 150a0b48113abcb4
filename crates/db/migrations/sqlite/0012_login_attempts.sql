-- Failed password logins in a row (CloudStack's user.login_attempts). A successful login and
-- enableUser reset it; at incorrect.login.attempts.allowed the user is disabled.
ALTER TABLE app_user ADD COLUMN login_attempts BIGINT NOT NULL DEFAULT 0;
