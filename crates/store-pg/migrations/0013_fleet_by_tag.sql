-- The operator's referral card names the truck and company a tag read at the gate belongs
-- to: fleet trucks found by their RFID tag (kept in the body, upper-case hex).
CREATE INDEX fleet_by_tag ON fleet ((body->>'epc'));
