//! The contract of `--enrich`, `--geoip-db`, `--ip-privacy`,
//! `--drop-fields` and `--drop-query-params`: cflog-enrich's derived keys
//! and transforms on the standard contract.

use std::sync::Arc;

use cflog_core::contract::Contract;
use cflog_enrich::geoip::GeoIp;
use cflog_enrich::keys::{DropQueryParams, GeoKeys, IpPrivacyTransform, UserAgentKeys};
use cflog_enrich::privacy::{IpPrivacy, Pseudonymizer};
use cflog_enrich::ua::{AgentCache, DEFAULT_CAPACITY_BYTES};
use cflog_pipeline::Redact;

use crate::cli::{EnrichArgs, Enrichment, IpPrivacyMode};

/// The contract the options ask for. Errors are the command line's (exit 2):
/// a database or key file that cannot be used, named, or options that do
/// not go together. With `--ip-privacy`, the [`Redact`] that rewrites the
/// addresses of rejected lines' messages, which quote the line.
pub fn contract(args: &EnrichArgs) -> Result<(Contract, Redact), String> {
    let mut contract = Contract::standard();
    if args.enrich.contains(&Enrichment::Ua) {
        let cache = Arc::new(AgentCache::new(DEFAULT_CAPACITY_BYTES));
        contract = contract
            .derive(UserAgentKeys::new(cache))
            .map_err(|e| format!("--enrich ua: {e}"))?;
    }
    if let Some(path) = &args.geoip_db {
        let db = GeoIp::open(path).map_err(|e| format!("--geoip-db: {e}"))?;
        contract = contract
            .derive(GeoKeys::new(db))
            .map_err(|e| format!("--geoip-db: {e}"))?;
    }
    // After the derived keys, which see the whole address: the order of
    // registration is the order the transforms run in, and neither reads
    // the other's fields.
    let privacy = match (args.ip_privacy, &args.ip_hmac_key_file) {
        (None, None) => None,
        (Some(IpPrivacyMode::Truncate), None) => Some(IpPrivacy::Truncate),
        (Some(IpPrivacyMode::Hmac), Some(path)) => Some(IpPrivacy::Hmac(
            Pseudonymizer::from_key_file(path).map_err(|e| format!("--ip-hmac-key-file: {e}"))?,
        )),
        (Some(IpPrivacyMode::Hmac), None) => {
            return Err("--ip-privacy hmac needs --ip-hmac-key-file".into());
        }
        (_, Some(_)) => return Err("--ip-hmac-key-file goes with --ip-privacy hmac".into()),
    };
    let mut redact = Redact::default();
    if let Some(privacy) = privacy {
        contract = contract.transform(IpPrivacyTransform::new(privacy.clone()));
        redact = Redact::new(move |text: &str| privacy.scrub(text));
    }
    if let Some(list) = &args.drop_query_params {
        let names = names(list);
        if names.is_empty() {
            return Err("--drop-query-params: no names given".into());
        }
        contract = contract.transform(DropQueryParams::new(names));
    }
    if let Some(list) = &args.drop_fields {
        let keys = names(list);
        if keys.is_empty() {
            return Err("--drop-fields: no keys given".into());
        }
        contract = contract
            .without(&keys)
            .map_err(|e| format!("--drop-fields: {e}; `cflog --list-fields` prints every key"))?;
    }
    Ok((contract, redact))
}

/// A comma-separated list, trimmed, without empty items.
fn names(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(String::from)
        .collect()
}
