-- The webhook dispatcher's lease: one replica delivers the companies' events at a time.
INSERT INTO leases (name, holder, until) VALUES ('webhooks', '', '1970-01-01T00:00:00Z')
ON CONFLICT DO NOTHING;
