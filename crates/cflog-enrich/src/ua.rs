//! User agents: the browser or client family, its version, the operating
//! system, the device class, and whether it is a bot.
//!
//! [`AgentParser`] reads the *decoded* `cs(User-Agent)`: CloudFront
//! percent-encodes it, and files of about 2013 to 2019 encode it twice
//! ([`AgentParser::parse_logged`], [`AgentParser::parse_legacy_logged`]).
//! It combines two compiled-in rule sets, chosen on the measurements in
//! BENCHMARKS.md ("User agents"):
//!
//! - woothee's rules give the name, version, OS and device class: about
//!   six times as fast as the uap-core regexes, and as accurate on the
//!   names and device classes a site owner asks for;
//! - the bot rule of [`bots`] decides `is_bot`.
//!
//! Agents repeat heavily in a log, so [`AgentCache`] keeps parsed agents
//! keyed by the value as logged, bounded in bytes.

mod agent;
pub mod bots;
mod cache;
mod parser;

pub use crate::CacheStats;
pub use agent::{Agent, Device};
pub use cache::{AgentCache, DEFAULT_CAPACITY_BYTES};
pub use parser::AgentParser;
