-- An accounts database made by tanzhang release 0.1.0 (commit b89bb27, package `accounts`):
-- its create_schema (accounts.db and access.models) on SQLite, then rows written through that
-- release's own functions by tests/ledger/data/make_release_dump.py; dumped with Python's
-- sqlite3.Connection.iterdump(). Loaded and upgraded by tests/ledger/test_migrations.py.
BEGIN TRANSACTION;
CREATE TABLE account (
	id INTEGER NOT NULL, 
	entity_id VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	parent VARCHAR(64), 
	name VARCHAR(200), 
	booking_period VARCHAR(8) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (entity_id)
);
INSERT INTO "account" VALUES(1,'factory-a','factory',NULL,'Factory A','day','2025-11-05 08:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "account" VALUES(2,'line-a1','line','factory-a',NULL,'day','2025-11-05 08:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "account" VALUES(3,'orchard-1','orchard',NULL,'胡柚园 1','day','2025-11-05 08:00:00.000000','2025-11-05 08:00:00.000000');
CREATE TABLE api_key (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	role VARCHAR(32) NOT NULL, 
	entities JSON NOT NULL, 
	prefix VARCHAR(16) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	development_only BOOLEAN DEFAULT '0' NOT NULL, 
	lender_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(lender_id) REFERENCES lender (id)
);
INSERT INTO "api_key" VALUES(1,'ops','operator','[]','0a1b2c3d','e8c2f599ee6b8e9d096308b5a79eb9568a6297a130abc528bf524b1f0cdb578c','2025-11-05 08:00:00.000000',NULL,0,NULL);
INSERT INTO "api_key" VALUES(2,'Changshan Rural Bank','lender','[]','4e5f6a7b','a70b3c85c9b55bba420c405b9e21461df8f2ec755e83e1f192e06c134c5b5ff3','2025-11-05 08:00:00.000000',NULL,0,1);
CREATE TABLE factor_set (
	digest VARCHAR(64) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	version VARCHAR(40), 
	ref JSON NOT NULL, 
	first_seen DATETIME NOT NULL, 
	PRIMARY KEY (digest)
);
INSERT INTO "factor_set" VALUES('9999999999999999999999999999999999999999999999999999999999999999','cn-grid-2023','1','{"name": "cn-grid-2023", "version": "1", "digest": "9999999999999999999999999999999999999999999999999999999999999999", "sources": [{"title": "MEE 2023 grid emission factor", "value": 0.5703}]}','2025-11-05 08:00:00.000000');
CREATE TABLE ledger_entry (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	statement_id INTEGER, 
	redemption_id INTEGER, 
	reverses_id INTEGER, 
	kind VARCHAR(16) NOT NULL, 
	amount_t BIGINT NOT NULL, 
	effective_at DATETIME NOT NULL, 
	posted_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(account_id) REFERENCES account (id), 
	FOREIGN KEY(statement_id) REFERENCES posted_statement (id), 
	FOREIGN KEY(redemption_id) REFERENCES redemption (id), 
	FOREIGN KEY(reverses_id) REFERENCES ledger_entry (id)
);
INSERT INTO "ledger_entry" VALUES(1,3,1,NULL,NULL,'emission_debit',-500000,'2025-11-02 00:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "ledger_entry" VALUES(2,3,1,NULL,NULL,'removal_credit',5250000,'2025-11-02 00:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "ledger_entry" VALUES(3,3,2,NULL,1,'reversal',500000,'2025-11-02 00:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "ledger_entry" VALUES(4,3,2,NULL,2,'reversal',-5250000,'2025-11-02 00:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "ledger_entry" VALUES(5,3,2,NULL,NULL,'emission_debit',-500000,'2025-11-02 00:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "ledger_entry" VALUES(6,3,2,NULL,NULL,'removal_credit',6000000,'2025-11-02 00:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "ledger_entry" VALUES(7,2,3,NULL,NULL,'emission_debit',-3200000,'2025-11-02 00:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "ledger_entry" VALUES(8,2,3,NULL,NULL,'removal_credit',0,'2025-11-02 00:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "ledger_entry" VALUES(9,3,NULL,1,NULL,'redemption',-1500000,'2025-11-05 08:00:00.000000','2025-11-05 08:00:00.000000');
CREATE TABLE lender (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
INSERT INTO "lender" VALUES(1,'Changshan Rural Bank','2025-11-05 08:00:00.000000');
CREATE TABLE posted_statement (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	period_kind VARCHAR(8) NOT NULL, 
	period_start DATETIME NOT NULL, 
	period_end DATETIME NOT NULL, 
	version INTEGER NOT NULL, 
	is_current BOOLEAN NOT NULL, 
	emissions_t BIGINT NOT NULL, 
	removals_t BIGINT NOT NULL, 
	net_t BIGINT NOT NULL, 
	statement JSON NOT NULL, 
	digest VARCHAR(64) NOT NULL, 
	factor_set JSON, 
	data_window JSON, 
	coverage FLOAT, 
	booked BOOLEAN NOT NULL, 
	reason TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	superseded_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (account_id, period_kind, period_start, version), 
	FOREIGN KEY(account_id) REFERENCES account (id)
);
INSERT INTO "posted_statement" VALUES(1,3,'day','2025-11-01 00:00:00.000000','2025-11-02 00:00:00.000000',1,0,500000,5250000,4750000,'{"emissions_t": 0.5, "removals_t": 5.25, "factor_set": {"name": "cn-grid-2023", "version": "1", "digest": "9999999999999999999999999999999999999999999999999999999999999999"}}','78e5c3607d98067da334390323edf9a2fc94dc65d16dae29d9265f4b580a1e13','{"name": "cn-grid-2023", "version": "1", "digest": "9999999999999999999999999999999999999999999999999999999999999999"}','null',NULL,1,'scheduled close','2025-11-05 08:00:00.000000','2025-11-05 08:00:00.000000');
INSERT INTO "posted_statement" VALUES(2,3,'day','2025-11-01 00:00:00.000000','2025-11-02 00:00:00.000000',2,1,500000,6000000,5500000,'{"emissions_t": 0.5, "removals_t": 6.0, "factor_set": {"name": "cn-grid-2023", "version": "1", "digest": "9999999999999999999999999999999999999999999999999999999999999999"}}','da8afd285a2d927bce8c68d2c62bac73378c69a598a7931df3750b2c945a2cb2','{"name": "cn-grid-2023", "version": "1", "digest": "9999999999999999999999999999999999999999999999999999999999999999"}','null',NULL,1,'late reading','2025-11-05 08:00:00.000000',NULL);
INSERT INTO "posted_statement" VALUES(3,2,'day','2025-11-01 00:00:00.000000','2025-11-02 00:00:00.000000',1,1,3200000,0,-3200000,'{"emissions_t": 3.2, "removals_t": 0.0}','980aa7f4f82f4e646601075468b4c201f38ea34f1dd2c03b805372886a09d00c','null','null',NULL,1,'close','2025-11-05 08:00:00.000000',NULL);
CREATE TABLE redemption (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	"key" VARCHAR(128) NOT NULL, 
	amount_t BIGINT NOT NULL, 
	ratio FLOAT NOT NULL, 
	fertiliser_amount FLOAT NOT NULL, 
	fertiliser_unit VARCHAR(32) NOT NULL, 
	reference TEXT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_redemption_account_key UNIQUE (account_id, "key"), 
	FOREIGN KEY(account_id) REFERENCES account (id)
);
INSERT INTO "redemption" VALUES(1,3,'voucher-1',1500000,1.0,1.5,'t','depot 7','2025-11-05 08:00:00.000000');
CREATE TABLE report_access (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	entity_id VARCHAR(128) NOT NULL, 
	lender_id INTEGER, 
	key_id INTEGER NOT NULL, 
	granted BOOLEAN NOT NULL, 
	consent_id INTEGER, 
	path VARCHAR(300) NOT NULL, 
	reason VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "report_access" VALUES(1,'2025-11-05 08:00:00.000000','orchard-1',1,2,1,1,'/v1/reports/orchard-1','');
CREATE TABLE report_consent (
	id INTEGER NOT NULL, 
	entity_id VARCHAR(128) NOT NULL, 
	lender_id INTEGER NOT NULL, 
	purpose VARCHAR(500) NOT NULL, 
	valid_from DATETIME NOT NULL, 
	valid_until DATETIME NOT NULL, 
	granted_at DATETIME NOT NULL, 
	granted_by_key_id INTEGER NOT NULL, 
	revoked_at DATETIME, 
	revoked_by_key_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(lender_id) REFERENCES lender (id)
);
INSERT INTO "report_consent" VALUES(1,'orchard-1',1,'working-capital loan review','2025-11-05 08:00:00.000000','2026-11-05 00:00:00.000000','2025-11-05 08:00:00.000000',1,NULL,NULL);
CREATE INDEX ix_account_parent ON account (parent);
CREATE INDEX ix_posted_statement_period ON posted_statement (account_id, period_kind, period_start);
CREATE UNIQUE INDEX ux_posted_statement_current ON posted_statement (account_id, period_kind, period_start) WHERE is_current;
CREATE INDEX ix_redemption_account_id ON redemption (account_id);
CREATE INDEX ix_ledger_entry_statement_id ON ledger_entry (statement_id);
CREATE INDEX ix_ledger_entry_account_effective ON ledger_entry (account_id, effective_at);
CREATE INDEX ix_report_access_entity_at ON report_access (entity_id, at);
CREATE UNIQUE INDEX ix_api_key_key_hash ON api_key (key_hash);
CREATE INDEX ix_report_consent_entity_lender ON report_consent (entity_id, lender_id);
COMMIT;
