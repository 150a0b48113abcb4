-- The job that moved a VM to Starting and is carrying the start out. Another flow that finds
-- the VM Starting waits for that job instead of failing, takes the start over when that job
-- is no longer running, and a job resumed after a crash recognises its own start.
ALTER TABLE vm_instance ADD COLUMN start_job TEXT;
