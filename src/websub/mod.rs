//! WebSub (W3C Recommendation), hub side: syndic is the hub for its own feeds. Subscribers
//! POST a subscription request; the hub answers 202, verifies the intent with a GET challenge
//! to the callback, and stores the subscription with its lease. Whenever a channel changes,
//! the delivery worker POSTs the feed to every subscriber of it, signed with
//! `X-Hub-Signature: sha256=…` when a secret was given, retrying with backoff, dropping a
//! subscriber on 410 and when its lease ends. What is pending lives in the database (channel
//! version against version delivered), so a restart loses no delivery.
//!
//! The subscriber side (syndic subscribing to upstream hubs) is in [`subscriber`].

mod deliver;
mod hub;
pub mod subscriber;

pub use deliver::run_deliveries;
pub use hub::{Hub, HubError, HubRequest, MAX_CHALLENGE_ANSWER};

pub use crate::formats::HUB_PATH;
/// Where hubs reach syndic as a subscriber: `CALLBACK_PATH/{subscription id}/{token}`.
pub const CALLBACK_PATH: &str = "/websub/callback";

/// Leases: the default, and the bounds a requested lease is kept within (and, as a
/// subscriber, the longest lease syndic records whatever a hub grants).
pub const DEFAULT_LEASE_SECS: i64 = 10 * 24 * 3600;
pub const MIN_LEASE_SECS: i64 = 3600;
pub const MAX_LEASE_SECS: i64 = 30 * 24 * 3600;
