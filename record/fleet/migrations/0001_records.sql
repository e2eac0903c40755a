-- The fleet's copy of the production record: one row per entry of every
-- appliance's log, keyed by the appliance's ID and the entry's sequence
-- number. "line" is the entry exactly as the appliance's log holds it, so
-- each box's chain verifies from this table alone (SHA-256 over "prev" and
-- the line with its sum left empty); "entry" is the same as JSONB, and the
-- other columns are what QA filters on.
CREATE TABLE clonebay.records (
	appliance_id  text        NOT NULL,
	seq           bigint      NOT NULL CHECK (seq > 0),
	sum           text        NOT NULL,
	prev          text        NOT NULL,
	time          timestamptz NOT NULL,
	job           text        NOT NULL,
	mode          text        NOT NULL,
	lot           text        NOT NULL DEFAULT '',
	master_kind   text        NOT NULL,
	master_name   text        NOT NULL,
	master_sha256 text        NOT NULL,
	port          integer     NOT NULL,
	label         text        NOT NULL,
	target_model  text        NOT NULL,
	target_serial text        NOT NULL,
	target_size   bigint      NOT NULL,
	result        text        NOT NULL,
	reason        text        NOT NULL,
	bytes         bigint      NOT NULL,
	line          text        NOT NULL,
	entry         jsonb       NOT NULL,
	received      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (appliance_id, seq)
);

CREATE INDEX records_target_serial ON clonebay.records (target_serial);
CREATE INDEX records_lot ON clonebay.records (lot) WHERE lot <> '';
CREATE INDEX records_time ON clonebay.records (time);
CREATE INDEX records_failures ON clonebay.records (reason, appliance_id) WHERE result <> 'PASS';
