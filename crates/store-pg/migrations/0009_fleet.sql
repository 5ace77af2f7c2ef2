-- Companies' trucks: plate, tag and driver (name, mobile number), one row per company and
-- plate.
CREATE TABLE fleet (
    company TEXT NOT NULL,
    plate   TEXT NOT NULL,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL,
    PRIMARY KEY (company, plate)
);
