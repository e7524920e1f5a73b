//! The enrichments as the contract's derived keys and transforms, so that
//! every output (NDJSON, CSV/TSV, Parquet and its Glue table, the streams,
//! the tally) writes them with no code of its own.
//!
//! - [`UserAgentKeys`] derives `ua_name`, `ua_version`, `ua_os`,
//!   `ua_os_version`, `ua_device` and `is_bot` from `cs(User-Agent)`.
//! - [`GeoKeys`] derives `c_country`, and `asn` when the database has AS
//!   numbers, from `c-ip`. Both *fill* CloudFront's own fields: where a
//!   line has `c-country` or `asn` (v2 and real-time logs), the logged
//!   value is written and the database is not asked.
//! - [`IpPrivacyTransform`] rewrites `c-ip` and every address of
//!   `x-forwarded-for` (a pseudonym makes `c_ip` text in every output); [`DropQueryParams`] drops parameters from
//!   `cs-uri-query` (and from a real-time line's `cs-uri-stem`, which
//!   carries the query), and so from `query_params`.
//!
//! Derived keys see the line as logged and transforms run after them, so a
//! country is looked up from the whole address even when it is truncated.
//!
//! ```
//! use std::sync::Arc;
//! use cflog_core::contract::Contract;
//! use cflog_core::json::JsonWriter;
//! use cflog_core::{LogLine, Schema};
//! use cflog_enrich::keys::{IpPrivacyTransform, UserAgentKeys};
//! use cflog_enrich::privacy::IpPrivacy;
//! use cflog_enrich::ua::AgentCache;
//!
//! let contract = Contract::standard()
//!     .derive(UserAgentKeys::new(Arc::new(AgentCache::new(1 << 20))))?
//!     .transform(IpPrivacyTransform::new(IpPrivacy::Truncate));
//! let schema = Schema::from_fields_header(b"#Fields: c-ip cs(User-Agent)")?;
//! let mut spans = Vec::new();
//! let line = LogLine::parse(b"192.0.2.77\tcurl/8.5.0", &schema, &mut spans)?;
//! let mut out = Vec::new();
//! JsonWriter::new(contract.select_all()).write(&line, &mut out)?;
//! assert_eq!(
//!     String::from_utf8(out)?,
//!     r#"{"c_ip":"192.0.2.0","cs_user_agent":"curl/8.5.0","ua_name":"curl","ua_version":"8.5.0","ua_os":null,"ua_os_version":null,"ua_device":"bot","is_bot":true}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cflog_core::contract::{Derive, DerivedKey, DerivedValues, KeyKind, Transform};
use cflog_core::{Field, FieldError, LogLine, ValueKind};

use crate::geoip::{DEFAULT_NETWORKS_CAPACITY_BYTES, GeoCache, GeoIp};
use crate::privacy::{IpPrivacy, drop_query_params, drop_query_params_in_uri};
use crate::ua::AgentCache;

/// The keys of [`UserAgentKeys`], in order.
pub const USER_AGENT_KEYS: [DerivedKey; 6] = [
    DerivedKey {
        name: "ua_name",
        kind: KeyKind::Text,
    },
    DerivedKey {
        name: "ua_version",
        kind: KeyKind::Text,
    },
    DerivedKey {
        name: "ua_os",
        kind: KeyKind::Text,
    },
    DerivedKey {
        name: "ua_os_version",
        kind: KeyKind::Text,
    },
    DerivedKey {
        name: "ua_device",
        kind: KeyKind::Text,
    },
    DerivedKey {
        name: "is_bot",
        kind: KeyKind::Boolean,
    },
];

/// `ua_*` and `is_bot` from the decoded `cs(User-Agent)`, through a shared
/// cache. A line without an agent (`-`) gets nulls.
#[derive(Debug)]
pub struct UserAgentKeys {
    cache: Arc<AgentCache>,
}

impl UserAgentKeys {
    /// The keys, parsed through `cache` (kept by the caller for its
    /// [stats](AgentCache::stats)).
    pub fn new(cache: Arc<AgentCache>) -> Self {
        UserAgentKeys { cache }
    }
}

impl Derive for UserAgentKeys {
    fn keys(&self) -> &[DerivedKey] {
        &USER_AGENT_KEYS
    }

    fn derive(&self, line: &LogLine<'_>, values: &mut DerivedValues) -> Result<(), FieldError> {
        let Some(logged) = line.get(Field::UserAgent) else {
            return Ok(());
        };
        self.cache.with_agent(logged.raw(), |agent| {
            let texts = [&agent.name, &agent.version, &agent.os, &agent.os_version];
            for (key, text) in texts.into_iter().enumerate() {
                if let Some(text) = text {
                    values.set_text(key, text);
                }
            }
            values.set_text(4, agent.device.as_str());
            values.set_boolean(5, agent.is_bot);
        });
        Ok(())
    }
}

const COUNTRY: DerivedKey = DerivedKey {
    name: "c_country",
    kind: KeyKind::Text,
};
const ASN: DerivedKey = DerivedKey {
    name: "asn",
    kind: KeyKind::Integer,
};

/// `c_country`, and `asn` where the database has AS numbers, from `c-ip`,
/// for lines that lack CloudFront's own, through a cache of the database's
/// answers by network ([`GeoCache`]).
#[derive(Debug)]
pub struct GeoKeys {
    geo: Arc<GeoCache>,
    keys: Vec<DerivedKey>,
    failed_lookups: AtomicU64,
}

impl GeoKeys {
    /// The keys of `db`: `c_country`, and `asn` if
    /// [`has_asns`](GeoIp::has_asns), behind a cache of
    /// [`DEFAULT_NETWORKS_CAPACITY_BYTES`].
    pub fn new(db: GeoIp) -> Self {
        Self::cached(Arc::new(GeoCache::new(db, DEFAULT_NETWORKS_CAPACITY_BYTES)))
    }

    /// The keys of the database behind `geo` (kept by the caller for its
    /// [stats](GeoCache::stats)).
    pub fn cached(geo: Arc<GeoCache>) -> Self {
        let keys = if geo.db().has_asns() {
            vec![COUNTRY, ASN]
        } else {
            vec![COUNTRY]
        };
        GeoKeys {
            geo,
            keys,
            failed_lookups: AtomicU64::new(0),
        }
    }

    /// Lookups whose record could not be read (a damaged database): their
    /// entries have no country.
    pub fn failed_lookups(&self) -> u64 {
        self.failed_lookups.load(Ordering::Relaxed)
    }
}

impl Derive for GeoKeys {
    fn keys(&self) -> &[DerivedKey] {
        &self.keys
    }

    fn derive(&self, line: &LogLine<'_>, values: &mut DerivedValues) -> Result<(), FieldError> {
        let Some(address) = line.client_ip()? else {
            return Ok(());
        };
        match self.geo.lookup(address) {
            Ok(geo) => {
                if let Some(country) = geo.country() {
                    values.set_text(0, country);
                }
                if let (Some(asn), 2) = (geo.asn, self.keys.len()) {
                    values.set_integer(1, u64::from(asn));
                }
            }
            Err(_) => {
                self.failed_lookups.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// Truncates or pseudonymises `c-ip` and every address of
/// `x-forwarded-for` ([`IpPrivacy`]).
#[derive(Debug)]
pub struct IpPrivacyTransform {
    privacy: IpPrivacy,
}

impl IpPrivacyTransform {
    /// The transform of `privacy`.
    pub fn new(privacy: IpPrivacy) -> Self {
        IpPrivacyTransform { privacy }
    }
}

impl Transform for IpPrivacyTransform {
    fn fields(&self) -> &[Field] {
        &[Field::ClientIp, Field::ForwardedFor]
    }

    fn rewrite(&self, field: Field, raw: &[u8], out: &mut Vec<u8>) {
        if raw == b"-" {
            out.push(b'-');
        } else if field == Field::ForwardedFor {
            self.privacy.rewrite_list(raw, out);
        } else {
            self.privacy.rewrite_address(raw, out);
        }
    }

    /// A pseudonym is text: `c_ip` is then a string in every output (and
    /// `x_forwarded_for` already is). A truncated address stays an address.
    fn output_kind(&self, _: Field) -> Option<ValueKind> {
        match self.privacy {
            IpPrivacy::Truncate => None,
            IpPrivacy::Hmac(_) => Some(ValueKind::Text),
        }
    }
}

/// Drops named parameters from `cs-uri-query`, and from the query a
/// real-time line keeps in `cs-uri-stem`.
#[derive(Debug)]
pub struct DropQueryParams {
    names: HashSet<String>,
}

impl DropQueryParams {
    /// Drops the parameters named `names` (decoded, compared exactly).
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        DropQueryParams {
            names: names.into_iter().collect(),
        }
    }
}

impl Transform for DropQueryParams {
    fn fields(&self) -> &[Field] {
        &[Field::UriQuery, Field::UriStem]
    }

    fn rewrite(&self, field: Field, raw: &[u8], out: &mut Vec<u8>) {
        if field == Field::UriStem {
            drop_query_params_in_uri(raw, &self.names, out);
        } else {
            drop_query_params(raw, &self.names, out);
        }
    }
}
