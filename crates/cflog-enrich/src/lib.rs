//! Who visits a CloudFront distribution, and what of it may be stored.
//!
//! Three enrichments of a log entry, each independent of any output:
//!
//! - [`ua`]: the user agent's browser or client family, version, operating
//!   system, device class and whether it is a bot, from the *decoded*
//!   `cs(User-Agent)` ([`ua::AgentParser`]), behind a cache bounded in
//!   bytes ([`ua::AgentCache`]);
//! - [`geoip`]: a country, and an AS number where the database has them,
//!   from a MaxMind DB file ([`geoip::GeoIp`]), for logs that lack
//!   CloudFront's own `c-country` and `asn`, behind a cache of its answers
//!   by network, bounded in bytes ([`geoip::GeoCache`]);
//! - [`privacy`]: client addresses truncated ([`privacy::truncate`]) or
//!   replaced by keyed pseudonyms ([`privacy::Pseudonymizer`]), and named
//!   parameters dropped from a query string ([`privacy::drop_query_params`]).
//!
//! [`keys`] makes each of them a derived key or a transform of cflog-core's
//! contract, which every output writes.
//!
//! Nothing here reads the network, at build or at run time: woothee's and
//! the bot list's rules are compiled in, and the database is a file the
//! caller names.
//!
//! # Example
//!
//! ```
//! use cflog_enrich::ua::{AgentParser, Device};
//!
//! let parser = AgentParser::new();
//! // As CloudFront logs it: percent-encoded.
//! let agent = parser.parse_logged(b"Mozilla/5.0%20(Linux;%20Android%206.0.1;%20Nexus%205X%20Build/MMB29P)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/131.0.6778.139%20Mobile%20Safari/537.36%20(compatible;%20Googlebot/2.1;%20+http://www.google.com/bot.html)");
//! assert_eq!(agent.name.as_deref(), Some("Googlebot"));
//! assert_eq!(agent.device, Device::Bot);
//! assert!(agent.is_bot);
//! ```

#![forbid(unsafe_code)]

mod cache_stats;
pub mod geoip;
pub mod keys;
pub mod privacy;
pub mod ua;

pub use cache_stats::CacheStats;
