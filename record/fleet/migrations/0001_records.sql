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

-- Every entry whose chain does not verify from this table alone: its sum
-- recomputed from prev and its line (the line with its sum left empty is
-- what the appliance hashed), its link to the entry before, and gaps. An
-- empty result means every box's chain verifies.
CREATE VIEW clonebay.chain_breaks AS
SELECT appliance_id, seq,
	CASE
		WHEN seq <> coalesce(before_seq, 0) + 1 THEN format('entries %s..%s are missing', coalesce(before_seq, 0) + 1, seq - 1)
		WHEN computed <> sum THEN 'checksum does not match its content'
		ELSE 'it does not follow the entry before'
	END AS problem
FROM (
	SELECT appliance_id, seq, sum, prev,
		lag(sum) OVER w AS before_sum,
		lag(seq) OVER w AS before_seq,
		encode(sha256(convert_to(prev || regexp_replace(line, '"sum":"[0-9a-f]*"}$', '"sum":""}'), 'UTF8')), 'hex') AS computed
	FROM clonebay.records
	WINDOW w AS (PARTITION BY appliance_id ORDER BY seq)
) r
WHERE seq <> coalesce(before_seq, 0) + 1 OR computed <> sum OR prev <> coalesce(before_sum, '');
