-- The database every analytics table lives in; the same script runs on chDB and on a ClickHouse server.
CREATE DATABASE IF NOT EXISTS agentstack;
