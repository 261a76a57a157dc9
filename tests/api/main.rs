//! One integration-test binary: every test spawns the real router on an ephemeral loopback
//! port over a fresh database (a SQLite file, or a PostgreSQL database of its own when
//! `SYNDIC_TEST_DATABASE` names a server), or runs the real `syndic` binary.

mod helpers;

mod boundary;
mod cancel;
mod channels;
mod cli;
mod copydb;
mod docs;
mod durability;
mod errors;
mod fanout;
mod feeds;
mod fulltext;
mod hostile;
mod ingest;
mod instances;
mod limits;
mod memory;
mod openapi;
mod pages;
mod poll;
mod poller_switch;
mod postgres;
mod props;
mod readers;
mod rules;
mod security;
mod seed;
mod story;
mod upstream;
mod validator;
mod websub;
