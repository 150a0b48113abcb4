-- Follow-ups get a state (Pending, WaitingHost, Stuck, Done), the host their effect needs
-- (NULL when none), and "one pending per (kind, target)" becomes a database fact.
ALTER TABLE followup ADD COLUMN state TEXT NOT NULL DEFAULT 'Pending';
ALTER TABLE followup ADD COLUMN host_id BIGINT;
UPDATE followup SET state = 'Done' WHERE done IS NOT NULL;
-- Rows queued twice by the old select-then-insert: keep the oldest pending one.
UPDATE followup SET state = 'Done', done = created, last_error = 'merged into an older pending follow-up'
 WHERE done IS NULL AND id NOT IN (SELECT MIN(id) FROM followup WHERE done IS NULL GROUP BY kind, target);
CREATE UNIQUE INDEX followup_one_pending ON followup (kind, target) WHERE done IS NULL;
CREATE INDEX followup_host ON followup (host_id) WHERE done IS NULL;
CREATE INDEX followup_state ON followup (state, id);
