-- An accounts database made by tanzhang release 0.1.0 (commit b89bb27, package `accounts`):
-- its create_schema (accounts.db and access.models) on PostgreSQL 15, then rows written through
-- that release's own functions by tests/ledger/data/make_release_dump.py; dumped with
-- `pg_dump --no-owner --no-privileges`. Loaded and upgraded by tests/ledger/test_migrations.py.
--
-- PostgreSQL database dump
--

\restrict Mbv9RsKcjQnGYv9zKETuBvoOsoGUxKiR6YyfdanQ4mpHpTKpdQa5At2AzH6R6Dq

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: account; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.account (
    id integer NOT NULL,
    entity_id character varying(64) NOT NULL,
    kind character varying(16) NOT NULL,
    parent character varying(64),
    name character varying(200),
    booking_period character varying(8) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: account_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.account_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: account_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.account_id_seq OWNED BY public.account.id;


--
-- Name: api_key; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_key (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    role character varying(32) NOT NULL,
    entities json NOT NULL,
    prefix character varying(16) NOT NULL,
    key_hash character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    development_only boolean DEFAULT false NOT NULL,
    lender_id integer
);


--
-- Name: api_key_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.api_key_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: api_key_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.api_key_id_seq OWNED BY public.api_key.id;


--
-- Name: factor_set; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.factor_set (
    digest character varying(64) NOT NULL,
    name character varying(100) NOT NULL,
    version character varying(40),
    ref jsonb NOT NULL,
    first_seen timestamp with time zone NOT NULL
);


--
-- Name: ledger_entry; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_entry (
    id integer NOT NULL,
    account_id integer NOT NULL,
    statement_id integer,
    redemption_id integer,
    reverses_id integer,
    kind character varying(16) NOT NULL,
    amount_t bigint NOT NULL,
    effective_at timestamp with time zone NOT NULL,
    posted_at timestamp with time zone NOT NULL
);


--
-- Name: ledger_entry_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.ledger_entry_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: ledger_entry_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.ledger_entry_id_seq OWNED BY public.ledger_entry.id;


--
-- Name: lender; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.lender (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: lender_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.lender_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: lender_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.lender_id_seq OWNED BY public.lender.id;


--
-- Name: posted_statement; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.posted_statement (
    id integer NOT NULL,
    account_id integer NOT NULL,
    period_kind character varying(8) NOT NULL,
    period_start timestamp with time zone NOT NULL,
    period_end timestamp with time zone NOT NULL,
    version integer NOT NULL,
    is_current boolean NOT NULL,
    emissions_t bigint NOT NULL,
    removals_t bigint NOT NULL,
    net_t bigint NOT NULL,
    statement jsonb NOT NULL,
    digest character varying(64) NOT NULL,
    factor_set jsonb,
    data_window jsonb,
    coverage double precision,
    booked boolean NOT NULL,
    reason text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    superseded_at timestamp with time zone
);


--
-- Name: posted_statement_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.posted_statement_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: posted_statement_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.posted_statement_id_seq OWNED BY public.posted_statement.id;


--
-- Name: redemption; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.redemption (
    id integer NOT NULL,
    account_id integer NOT NULL,
    key character varying(128) NOT NULL,
    amount_t bigint NOT NULL,
    ratio double precision NOT NULL,
    fertiliser_amount double precision NOT NULL,
    fertiliser_unit character varying(32) NOT NULL,
    reference text,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: redemption_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.redemption_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: redemption_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.redemption_id_seq OWNED BY public.redemption.id;


--
-- Name: report_access; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.report_access (
    id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    entity_id character varying(128) NOT NULL,
    lender_id integer,
    key_id integer NOT NULL,
    granted boolean NOT NULL,
    consent_id integer,
    path character varying(300) NOT NULL,
    reason character varying(64) NOT NULL
);


--
-- Name: report_access_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.report_access_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: report_access_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.report_access_id_seq OWNED BY public.report_access.id;


--
-- Name: report_consent; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.report_consent (
    id integer NOT NULL,
    entity_id character varying(128) NOT NULL,
    lender_id integer NOT NULL,
    purpose character varying(500) NOT NULL,
    valid_from timestamp with time zone NOT NULL,
    valid_until timestamp with time zone NOT NULL,
    granted_at timestamp with time zone NOT NULL,
    granted_by_key_id integer NOT NULL,
    revoked_at timestamp with time zone,
    revoked_by_key_id integer
);


--
-- Name: report_consent_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.report_consent_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: report_consent_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.report_consent_id_seq OWNED BY public.report_consent.id;


--
-- Name: account id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.account ALTER COLUMN id SET DEFAULT nextval('public.account_id_seq'::regclass);


--
-- Name: api_key id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_key ALTER COLUMN id SET DEFAULT nextval('public.api_key_id_seq'::regclass);


--
-- Name: ledger_entry id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry ALTER COLUMN id SET DEFAULT nextval('public.ledger_entry_id_seq'::regclass);


--
-- Name: lender id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lender ALTER COLUMN id SET DEFAULT nextval('public.lender_id_seq'::regclass);


--
-- Name: posted_statement id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posted_statement ALTER COLUMN id SET DEFAULT nextval('public.posted_statement_id_seq'::regclass);


--
-- Name: redemption id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.redemption ALTER COLUMN id SET DEFAULT nextval('public.redemption_id_seq'::regclass);


--
-- Name: report_access id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_access ALTER COLUMN id SET DEFAULT nextval('public.report_access_id_seq'::regclass);


--
-- Name: report_consent id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_consent ALTER COLUMN id SET DEFAULT nextval('public.report_consent_id_seq'::regclass);


--
-- Data for Name: account; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.account (id, entity_id, kind, parent, name, booking_period, created_at, updated_at) FROM stdin;
1	factory-a	factory	\N	Factory A	day	2025-11-05 08:00:00+00	2025-11-05 08:00:00+00
2	line-a1	line	factory-a	\N	day	2025-11-05 08:00:00+00	2025-11-05 08:00:00+00
3	orchard-1	orchard	\N	胡柚园 1	day	2025-11-05 08:00:00+00	2025-11-05 08:00:00+00
\.


--
-- Data for Name: api_key; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.api_key (id, name, role, entities, prefix, key_hash, created_at, revoked_at, development_only, lender_id) FROM stdin;
1	ops	operator	[]	0a1b2c3d	e8c2f599ee6b8e9d096308b5a79eb9568a6297a130abc528bf524b1f0cdb578c	2025-11-05 08:00:00+00	\N	f	\N
2	Changshan Rural Bank	lender	[]	4e5f6a7b	a70b3c85c9b55bba420c405b9e21461df8f2ec755e83e1f192e06c134c5b5ff3	2025-11-05 08:00:00+00	\N	f	1
\.


--
-- Data for Name: factor_set; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.factor_set (digest, name, version, ref, first_seen) FROM stdin;
9999999999999999999999999999999999999999999999999999999999999999	cn-grid-2023	1	{"name": "cn-grid-2023", "digest": "9999999999999999999999999999999999999999999999999999999999999999", "sources": [{"title": "MEE 2023 grid emission factor", "value": 0.5703}], "version": "1"}	2025-11-05 08:00:00+00
\.


--
-- Data for Name: ledger_entry; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.ledger_entry (id, account_id, statement_id, redemption_id, reverses_id, kind, amount_t, effective_at, posted_at) FROM stdin;
1	3	1	\N	\N	emission_debit	-500000	2025-11-02 00:00:00+00	2025-11-05 08:00:00+00
2	3	1	\N	\N	removal_credit	5250000	2025-11-02 00:00:00+00	2025-11-05 08:00:00+00
3	3	2	\N	1	reversal	500000	2025-11-02 00:00:00+00	2025-11-05 08:00:00+00
4	3	2	\N	2	reversal	-5250000	2025-11-02 00:00:00+00	2025-11-05 08:00:00+00
5	3	2	\N	\N	emission_debit	-500000	2025-11-02 00:00:00+00	2025-11-05 08:00:00+00
6	3	2	\N	\N	removal_credit	6000000	2025-11-02 00:00:00+00	2025-11-05 08:00:00+00
7	2	3	\N	\N	emission_debit	-3200000	2025-11-02 00:00:00+00	2025-11-05 08:00:00+00
8	2	3	\N	\N	removal_credit	0	2025-11-02 00:00:00+00	2025-11-05 08:00:00+00
9	3	\N	1	\N	redemption	-1500000	2025-11-05 08:00:00+00	2025-11-05 08:00:00+00
\.


--
-- Data for Name: lender; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.lender (id, name, created_at) FROM stdin;
1	Changshan Rural Bank	2025-11-05 08:00:00+00
\.


--
-- Data for Name: posted_statement; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.posted_statement (id, account_id, period_kind, period_start, period_end, version, is_current, emissions_t, removals_t, net_t, statement, digest, factor_set, data_window, coverage, booked, reason, created_at, superseded_at) FROM stdin;
1	3	day	2025-11-01 00:00:00+00	2025-11-02 00:00:00+00	1	f	500000	5250000	4750000	{"factor_set": {"name": "cn-grid-2023", "digest": "9999999999999999999999999999999999999999999999999999999999999999", "version": "1"}, "removals_t": 5.25, "emissions_t": 0.5}	78e5c3607d98067da334390323edf9a2fc94dc65d16dae29d9265f4b580a1e13	{"name": "cn-grid-2023", "digest": "9999999999999999999999999999999999999999999999999999999999999999", "version": "1"}	null	\N	t	scheduled close	2025-11-05 08:00:00+00	2025-11-05 08:00:00+00
2	3	day	2025-11-01 00:00:00+00	2025-11-02 00:00:00+00	2	t	500000	6000000	5500000	{"factor_set": {"name": "cn-grid-2023", "digest": "9999999999999999999999999999999999999999999999999999999999999999", "version": "1"}, "removals_t": 6.0, "emissions_t": 0.5}	da8afd285a2d927bce8c68d2c62bac73378c69a598a7931df3750b2c945a2cb2	{"name": "cn-grid-2023", "digest": "9999999999999999999999999999999999999999999999999999999999999999", "version": "1"}	null	\N	t	late reading	2025-11-05 08:00:00+00	\N
3	2	day	2025-11-01 00:00:00+00	2025-11-02 00:00:00+00	1	t	3200000	0	-3200000	{"removals_t": 0.0, "emissions_t": 3.2}	980aa7f4f82f4e646601075468b4c201f38ea34f1dd2c03b805372886a09d00c	null	null	\N	t	close	2025-11-05 08:00:00+00	\N
\.


--
-- Data for Name: redemption; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.redemption (id, account_id, key, amount_t, ratio, fertiliser_amount, fertiliser_unit, reference, created_at) FROM stdin;
1	3	voucher-1	1500000	1	1.5	t	depot 7	2025-11-05 08:00:00+00
\.


--
-- Data for Name: report_access; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.report_access (id, at, entity_id, lender_id, key_id, granted, consent_id, path, reason) FROM stdin;
1	2025-11-05 08:00:00+00	orchard-1	1	2	t	1	/v1/reports/orchard-1	
\.


--
-- Data for Name: report_consent; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.report_consent (id, entity_id, lender_id, purpose, valid_from, valid_until, granted_at, granted_by_key_id, revoked_at, revoked_by_key_id) FROM stdin;
1	orchard-1	1	working-capital loan review	2025-11-05 08:00:00+00	2026-11-05 00:00:00+00	2025-11-05 08:00:00+00	1	\N	\N
\.


--
-- Name: account_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.account_id_seq', 3, true);


--
-- Name: api_key_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.api_key_id_seq', 2, true);


--
-- Name: ledger_entry_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.ledger_entry_id_seq', 9, true);


--
-- Name: lender_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.lender_id_seq', 1, true);


--
-- Name: posted_statement_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.posted_statement_id_seq', 3, true);


--
-- Name: redemption_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.redemption_id_seq', 1, true);


--
-- Name: report_access_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.report_access_id_seq', 1, true);


--
-- Name: report_consent_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.report_consent_id_seq', 1, true);


--
-- Name: account account_entity_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.account
    ADD CONSTRAINT account_entity_id_key UNIQUE (entity_id);


--
-- Name: account account_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.account
    ADD CONSTRAINT account_pkey PRIMARY KEY (id);


--
-- Name: api_key api_key_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_key
    ADD CONSTRAINT api_key_pkey PRIMARY KEY (id);


--
-- Name: factor_set factor_set_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.factor_set
    ADD CONSTRAINT factor_set_pkey PRIMARY KEY (digest);


--
-- Name: ledger_entry ledger_entry_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry
    ADD CONSTRAINT ledger_entry_pkey PRIMARY KEY (id);


--
-- Name: lender lender_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lender
    ADD CONSTRAINT lender_name_key UNIQUE (name);


--
-- Name: lender lender_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lender
    ADD CONSTRAINT lender_pkey PRIMARY KEY (id);


--
-- Name: posted_statement posted_statement_account_id_period_kind_period_start_versio_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posted_statement
    ADD CONSTRAINT posted_statement_account_id_period_kind_period_start_versio_key UNIQUE (account_id, period_kind, period_start, version);


--
-- Name: posted_statement posted_statement_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posted_statement
    ADD CONSTRAINT posted_statement_pkey PRIMARY KEY (id);


--
-- Name: redemption redemption_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.redemption
    ADD CONSTRAINT redemption_pkey PRIMARY KEY (id);


--
-- Name: report_access report_access_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_access
    ADD CONSTRAINT report_access_pkey PRIMARY KEY (id);


--
-- Name: report_consent report_consent_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_consent
    ADD CONSTRAINT report_consent_pkey PRIMARY KEY (id);


--
-- Name: redemption uq_redemption_account_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.redemption
    ADD CONSTRAINT uq_redemption_account_key UNIQUE (account_id, key);


--
-- Name: ix_account_parent; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_account_parent ON public.account USING btree (parent);


--
-- Name: ix_api_key_key_hash; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_api_key_key_hash ON public.api_key USING btree (key_hash);


--
-- Name: ix_ledger_entry_account_effective; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_ledger_entry_account_effective ON public.ledger_entry USING btree (account_id, effective_at);


--
-- Name: ix_ledger_entry_statement_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_ledger_entry_statement_id ON public.ledger_entry USING btree (statement_id);


--
-- Name: ix_posted_statement_period; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_posted_statement_period ON public.posted_statement USING btree (account_id, period_kind, period_start);


--
-- Name: ix_redemption_account_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_redemption_account_id ON public.redemption USING btree (account_id);


--
-- Name: ix_report_access_entity_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_report_access_entity_at ON public.report_access USING btree (entity_id, at);


--
-- Name: ix_report_consent_entity_lender; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_report_consent_entity_lender ON public.report_consent USING btree (entity_id, lender_id);


--
-- Name: ux_posted_statement_current; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ux_posted_statement_current ON public.posted_statement USING btree (account_id, period_kind, period_start) WHERE is_current;


--
-- Name: api_key api_key_lender_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_key
    ADD CONSTRAINT api_key_lender_id_fkey FOREIGN KEY (lender_id) REFERENCES public.lender(id);


--
-- Name: ledger_entry ledger_entry_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry
    ADD CONSTRAINT ledger_entry_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.account(id);


--
-- Name: ledger_entry ledger_entry_redemption_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry
    ADD CONSTRAINT ledger_entry_redemption_id_fkey FOREIGN KEY (redemption_id) REFERENCES public.redemption(id);


--
-- Name: ledger_entry ledger_entry_reverses_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry
    ADD CONSTRAINT ledger_entry_reverses_id_fkey FOREIGN KEY (reverses_id) REFERENCES public.ledger_entry(id);


--
-- Name: ledger_entry ledger_entry_statement_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entry
    ADD CONSTRAINT ledger_entry_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES public.posted_statement(id);


--
-- Name: posted_statement posted_statement_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posted_statement
    ADD CONSTRAINT posted_statement_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.account(id);


--
-- Name: redemption redemption_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.redemption
    ADD CONSTRAINT redemption_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.account(id);


--
-- Name: report_consent report_consent_lender_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.report_consent
    ADD CONSTRAINT report_consent_lender_id_fkey FOREIGN KEY (lender_id) REFERENCES public.lender(id);


--
-- PostgreSQL database dump complete
--

\unrestrict Mbv9RsKcjQnGYv9zKETuBvoOsoGUxKiR6YyfdanQ4mpHpTKpdQa5At2AzH6R6Dq

