-- The secret a host agent shares with the management server (hypervisors whose agents
-- authenticate, such as KVM): derived from addHost's username and password, which are never
-- stored. Read only to open the host's link; never part of a host listing.
ALTER TABLE host ADD COLUMN agent_key TEXT;
