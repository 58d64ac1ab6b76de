-- Runs once, when the postgres volume is first initialised.
-- One database per service: a service owns its tables (outbox, inbox, its own state) and reaches other
-- services only through Kafka. Each database has its own login role as owner, so one service's
-- credentials cannot open another service's data. The passwords are for the local dev stack only.

CREATE ROLE monolith LOGIN PASSWORD 'monolith';
CREATE DATABASE monolith OWNER monolith;
REVOKE ALL ON DATABASE monolith FROM PUBLIC;

CREATE ROLE logging LOGIN PASSWORD 'logging';
CREATE DATABASE logging OWNER logging;
REVOKE ALL ON DATABASE logging FROM PUBLIC;

CREATE ROLE analytics LOGIN PASSWORD 'analytics';
CREATE DATABASE analytics OWNER analytics;
REVOKE ALL ON DATABASE analytics FROM PUBLIC;

CREATE ROLE notification LOGIN PASSWORD 'notification';
CREATE DATABASE notification OWNER notification;
REVOKE ALL ON DATABASE notification FROM PUBLIC;
