//! What may be stored: client addresses truncated or pseudonymised, and
//! named query parameters dropped.
//!
//! These are rewrites of the values as logged, meant to run once per entry
//! before any output sees it, and *after* geolocation, so that the country
//! comes from the exact address.
//!
//! - [`truncate`] keeps an IPv4 address's /24 and an IPv6 address's /48
//!   and zeroes the rest; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
//!   counts as IPv4 and keeps its /24.
//! - [`Pseudonymizer`] replaces an address with a keyed HMAC-SHA256
//!   pseudonym, stable for one key and unrelated across keys. There is no
//!   unkeyed mode: a plain hash of an IPv4 address is reversed by hashing
//!   all 2³² of them.
//! - [`IpPrivacy::rewrite_list`] applies either to every address of an
//!   `x-forwarded-for` list, and [`drop_query_params`] removes parameters
//!   by name from a query string.

mod ip;
mod query;

pub use ip::{IpPrivacy, KeyError, MIN_KEY_BYTES, PSEUDONYM_HEX_LEN, Pseudonymizer, truncate};
pub use query::{drop_query_params, drop_query_params_in_uri};
