//! Polling upstream feeds: fetch politely and safely, parse what is really out there, and
//! import the items through the one ingest pipeline.

pub mod discover;
pub mod fetch;
pub mod fulltext;
pub mod guard;
pub mod own;
pub mod poller;
pub mod schedule;
pub mod subscribe;
