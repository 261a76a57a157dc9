//! syndic: ingest articles into SQLite and republish them as RSS 2.0, Atom 1.0 and JSON Feed
//! 1.1. Data flows one way: input -> `formats` (parse) -> `ingest` -> `store` -> `render` ->
//! `http`. `cli` ties the commands to those pieces; `main` only dispatches.
#![forbid(unsafe_code)]

pub mod boundary;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod copydb;
pub mod draft;
pub mod formats;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod poll;
pub mod render;
pub mod retention;
pub mod rules;
pub mod server;
pub mod store;
pub mod story;
pub mod text;
pub mod token;
pub mod tracking;
pub mod views;
pub mod websub;
