-- The job that moved a VM to Starting and is carrying the start out. Another flow that finds
-- the VM Starting waits for that job instead of failing, takes the start over when that job
-- is no longer running, and a job resumed after a crash recognises its own start.
ALTER TABLE vm_instance ADD COLUMN start_job TEXT;

-- One live router per network, whatever the engine's isolation: two deploys allocating a
-- network's first router at once must not both insert one.
CREATE UNIQUE INDEX vm_router_of_network ON vm_instance (network_id) WHERE vm_type = 'DomainRouter' AND removed IS NULL;
