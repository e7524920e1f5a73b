//! IP privacy: truncation keeps the network and zeroes the host, keyed
//! pseudonyms are stable for a key and differ across keys, and no address
//! of a forwarded-for list survives either.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cflog_enrich::privacy::{
    IpPrivacy, PSEUDONYM_HEX_LEN, Pseudonymizer, drop_query_params, truncate,
};
use proptest::prelude::*;

proptest! {
    #[test]
    fn ipv4_keeps_its_24_bit_prefix_and_zeroes_the_rest(bits: u32) {
        let IpAddr::V4(out) = truncate(IpAddr::V4(Ipv4Addr::from_bits(bits))) else {
            panic!("IPv4 in, IPv6 out");
        };
        prop_assert_eq!(out.to_bits() >> 8, bits >> 8);
        prop_assert_eq!(out.to_bits() & 0xFF, 0);
    }

    #[test]
    fn ipv6_keeps_its_48_bit_prefix_and_zeroes_the_rest(bits: u128) {
        let address = Ipv6Addr::from_bits(bits);
        prop_assume!(address.to_ipv4_mapped().is_none());
        let IpAddr::V6(out) = truncate(IpAddr::V6(address)) else {
            panic!("IPv6 in, IPv4 out");
        };
        prop_assert_eq!(out.to_bits() >> 80, bits >> 80);
        prop_assert_eq!(out.to_bits() & ((1u128 << 80) - 1), 0);
    }

    #[test]
    fn mapped_ipv4_keeps_its_mapped_form_and_the_24_bit_prefix_of_its_ipv4(bits: u32) {
        let mapped = Ipv4Addr::from_bits(bits).to_ipv6_mapped();
        let IpAddr::V6(out) = truncate(IpAddr::V6(mapped)) else {
            panic!("the mapped form is kept");
        };
        let inner = out.to_ipv4_mapped().expect("still mapped");
        prop_assert_eq!(inner.to_bits() >> 8, bits >> 8);
        prop_assert_eq!(inner.to_bits() & 0xFF, 0);
    }

    #[test]
    fn a_rewritten_address_is_written_as_the_truncated_address_displays(bits: u128, form in 0..3u8) {
        let address = match form {
            0 => IpAddr::V4(Ipv4Addr::from_bits(bits as u32)),
            1 => IpAddr::V6(Ipv4Addr::from_bits(bits as u32).to_ipv6_mapped()),
            // Zero groups in and around the /48 as well as none.
            _ => IpAddr::V6(Ipv6Addr::from_bits(bits & !(0xFFFF_u128 << (16 * (bits as usize % 8))))),
        };
        let mut out = Vec::new();
        IpPrivacy::Truncate.rewrite_address(address.to_string().as_bytes(), &mut out);
        prop_assert_eq!(String::from_utf8(out).unwrap(), truncate(address).to_string());
    }

    #[test]
    fn truncating_twice_changes_nothing_more(bits: u128, v4: bool) {
        let address = if v4 { IpAddr::V4(Ipv4Addr::from_bits(bits as u32)) } else { IpAddr::V6(Ipv6Addr::from_bits(bits)) };
        prop_assert_eq!(truncate(truncate(address)), truncate(address));
    }

    #[test]
    fn a_pseudonym_is_stable_for_one_key_and_differs_across_keys(
        key in prop::collection::vec(any::<u8>(), 16..64),
        other in prop::collection::vec(any::<u8>(), 16..64),
        bits: u128,
        v4: bool,
    ) {
        prop_assume!(key != other);
        let address = if v4 { IpAddr::V4(Ipv4Addr::from_bits(bits as u32)) } else { IpAddr::V6(Ipv6Addr::from_bits(bits)) };
        let one = Pseudonymizer::from_key(&key).unwrap();
        let first = one.pseudonym(address);
        prop_assert_eq!(&first, &Pseudonymizer::from_key(&key).unwrap().pseudonym(address));
        prop_assert_ne!(&first, &Pseudonymizer::from_key(&other).unwrap().pseudonym(address));
        prop_assert_eq!(first.len(), PSEUDONYM_HEX_LEN);
        prop_assert!(first.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn different_addresses_get_different_pseudonyms(a: u32, b: u32) {
        prop_assume!(a != b);
        let key = Pseudonymizer::from_key(b"a key of sixteen bytes or more").unwrap();
        prop_assert_ne!(
            key.pseudonym(IpAddr::V4(Ipv4Addr::from_bits(a))),
            key.pseudonym(IpAddr::V4(Ipv4Addr::from_bits(b)))
        );
    }

    #[test]
    fn no_address_of_a_forwarded_for_list_survives(
        addresses in prop::collection::vec(any::<u128>(), 1..6),
        separators in prop::collection::vec(prop::sample::select(vec![",", ", ", ",%20"]), 5),
        hmac: bool,
    ) {
        let texts: Vec<String> = addresses
            .iter()
            .map(|&bits| if bits % 2 == 0 { Ipv4Addr::from_bits((bits >> 1) as u32).to_string() } else { Ipv6Addr::from_bits(bits).to_string() })
            .collect();
        let mut logged = texts[0].clone();
        for (text, separator) in texts.iter().skip(1).zip(&separators) {
            logged.push_str(separator);
            logged.push_str(text);
        }
        let privacy = if hmac {
            IpPrivacy::Hmac(Pseudonymizer::from_key(b"0123456789abcdef").unwrap())
        } else {
            IpPrivacy::Truncate
        };
        let mut out = Vec::new();
        privacy.rewrite_list(logged.as_bytes(), &mut out);
        let out = String::from_utf8(out).unwrap();
        prop_assert_eq!(out.matches(',').count(), texts.len() - 1);
        for (item, address) in out.split(',').zip(&addresses) {
            let item = item.trim_start_matches(' ').trim_start_matches("%20");
            let original: IpAddr = if address % 2 == 0 { IpAddr::V4(Ipv4Addr::from_bits((address >> 1) as u32)) } else { IpAddr::V6(Ipv6Addr::from_bits(*address)) };
            match (&privacy, item.parse::<IpAddr>()) {
                (IpPrivacy::Truncate, Ok(written)) => prop_assert_eq!(written, truncate(original)),
                (IpPrivacy::Hmac(_), Err(_)) => prop_assert_eq!(item.len(), PSEUDONYM_HEX_LEN),
                (_, parsed) => prop_assert!(false, "{item:?} read as {parsed:?}"),
            }
        }
    }
}

#[test]
fn a_short_key_is_refused() {
    let message = Pseudonymizer::from_key(b"short").unwrap_err().to_string();
    assert!(message.contains("5 bytes"), "{message}");
}

#[test]
fn a_key_is_never_printed() {
    let key = Pseudonymizer::from_key(b"a secret of 16 bytes!").unwrap();
    assert!(!format!("{key:?}").contains("secret"));
}

#[test]
fn dropped_query_params_are_matched_by_decoded_name_and_others_keep_their_bytes() {
    let names: HashSet<String> = ["token", "e@mail", "two words"].map(String::from).into();
    let cases: &[(&str, &str, usize)] = &[
        ("-", "-", 0),
        ("a=1&b=2", "a=1&b=2", 0),
        ("token=x", "-", 1),
        ("a=1&token=x&b=%2520c", "a=1&b=%2520c", 1),
        ("e%2540mail=x&e%40mail=y&email=z", "email=z", 2),
        ("two+words=1&two%2520words=2&twowords=3", "twowords=3", 2),
        ("token&token=&Token=1", "Token=1", 2),
    ];
    for &(logged, kept, dropped) in cases {
        let mut out = b"prefix:".to_vec();
        assert_eq!(
            drop_query_params(logged.as_bytes(), &names, &mut out),
            dropped,
            "{logged}"
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("prefix:{kept}"),
            "{logged}"
        );
    }
}

proptest! {
    #[test]
    fn a_scrubbed_message_quotes_no_address_of_its_text(
        addresses in prop::collection::vec((any::<u128>(), any::<bool>(), any::<bool>()), 1..4),
        separator in prop::sample::select(vec![",", ", ", ",%20", "%2C", " ", "\t", "\"", "="]),
        hmac: bool,
    ) {
        let mut texts = Vec::new();
        for (bits, v4, port) in &addresses {
            let address = if *v4 { IpAddr::V4(Ipv4Addr::from_bits(*bits as u32)) } else { IpAddr::V6(Ipv6Addr::from_bits(*bits)) };
            let text = match (address, port) {
                (IpAddr::V4(_), true) => format!("{address}:443"),
                (IpAddr::V6(_), true) => format!("[{address}]:443"),
                (_, false) => address.to_string(),
            };
            texts.push((address, text));
        }
        let joined: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
        let message = format!("field sc-status: expected a three-digit status: \"{}\"", joined.join(separator));
        let privacy = if hmac {
            IpPrivacy::Hmac(Pseudonymizer::from_key(b"0123456789abcdef").unwrap())
        } else {
            IpPrivacy::Truncate
        };
        let scrubbed = privacy.scrub(&message).unwrap_or(message.clone());
        prop_assert!(scrubbed.starts_with("field sc-status: expected a three-digit status: "));
        for (address, _) in &texts {
            // An address that truncation leaves as it is (x.y.z.0) is no
            // longer a client's.
            if truncate(*address) == *address && !hmac {
                continue;
            }
            let logged = address.to_string();
            prop_assert!(!scrubbed.contains(&logged), "{} in {}", logged, scrubbed);
        }
    }
}
