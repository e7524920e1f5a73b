//! GeoIP lookups in small databases of both record shapes, written by
//! PyPI's mmdb-writer (tests/support/make_geoip_dbs.py, run with the tools
//! venv's Python), and the errors of a missing or corrupt file.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use cflog_enrich::geoip::{DEFAULT_NETWORKS_CAPACITY_BYTES, GeoCache, GeoIp};
use cflog_enrich::privacy::truncate;

/// The directory of the test databases, written once per test process.
fn databases() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/make_geoip_dbs.py");
        let status = std::process::Command::new(cflog_testkit::tools_python())
            .arg(script)
            .arg(&dir)
            .status()
            .expect("run make_geoip_dbs.py");
        assert!(status.success(), "make_geoip_dbs.py failed");
        dir
    })
}

fn open(name: &str) -> GeoIp {
    GeoIp::open(databases().join(name)).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn lookup(db: &GeoIp, address: &str) -> (Option<String>, Option<u32>) {
    let geo = db.lookup(ip(address)).unwrap();
    (geo.country().map(String::from), geo.asn)
}

#[test]
fn geoip2_records_give_the_country_and_the_as_number() {
    let db = open("geoip2.mmdb");
    assert_eq!(lookup(&db, "192.0.2.1"), (Some("DE".into()), Some(64500)));
    assert_eq!(lookup(&db, "192.0.2.200"), (Some("FR".into()), Some(64501)));
    assert_eq!(
        lookup(&db, "198.51.100.7"),
        (Some("US".into()), Some(64502))
    );
    assert_eq!(
        lookup(&db, "2001:db8:1:ffff::1"),
        (Some("JP".into()), Some(64503))
    );
    assert_eq!(
        lookup(&db, "::ffff:192.0.2.129"),
        (Some("FR".into()), Some(64501))
    );
}

#[test]
fn ip_location_db_records_give_the_country() {
    let db = open("ip-location-db.mmdb");
    assert_eq!(lookup(&db, "192.0.2.1"), (Some("DE".into()), None));
    assert_eq!(lookup(&db, "192.0.2.200"), (Some("FR".into()), None));
    // An IPv4-only database: a mapped address is looked up as IPv4, any
    // other IPv6 address is found nowhere.
    assert_eq!(
        lookup(&db, "::ffff:198.51.100.7"),
        (Some("US".into()), None)
    );
    assert_eq!(lookup(&db, "2001:db8:1::1"), (None, None));
}

#[test]
fn addresses_outside_every_network_have_no_country() {
    for name in ["geoip2.mmdb", "ip-location-db.mmdb"] {
        let db = open(name);
        assert_eq!(lookup(&db, "203.0.113.5"), (None, None), "{name}");
        assert_eq!(lookup(&db, "2001:db8:2::1"), (None, None), "{name}");
    }
}

#[test]
fn lookups_go_before_truncation_where_a_24_holds_two_countries() {
    let db = open("geoip2.mmdb");
    let address = ip("192.0.2.200");
    assert_eq!(db.lookup(address).unwrap().country(), Some("FR"));
    // What truncating first would have said.
    assert_eq!(db.lookup(truncate(address)).unwrap().country(), Some("DE"));
}

/// Addresses in and around every network of the test databases, each
/// boundary crossed both ways, and their mapped and IPv4-compatible forms.
fn addresses_across_boundaries() -> Vec<IpAddr> {
    let mut addresses = Vec::new();
    for last in [0, 1, 127, 128, 129, 255, 126, 200, 0, 128, 127] {
        for network in ["192.0.2", "198.51.100", "203.0.113", "192.0.1", "192.0.3"] {
            let v4: std::net::Ipv4Addr = format!("{network}.{last}").parse().unwrap();
            addresses.extend([
                IpAddr::V4(v4),
                IpAddr::V6(v4.to_ipv6_mapped()),
                IpAddr::V6(v4.to_ipv6_compatible()),
            ]);
        }
    }
    for text in [
        "2001:db8:1::1",
        "2001:db8:1:ffff:ffff:ffff:ffff:ffff",
        "2001:db8:0:ffff::1",
        "2001:db8:2::",
        "2001:db8:1::",
        "2001:db8::1",
        "::",
        "::1",
    ] {
        addresses.push(ip(text));
    }
    addresses
}

#[test]
fn cached_answers_are_the_database_s_across_network_boundaries() {
    for name in ["geoip2.mmdb", "ip-location-db.mmdb"] {
        let db = open(name);
        let cache = GeoCache::new(open(name), 1 << 20);
        let addresses = addresses_across_boundaries();
        // Twice: the second pass answers from the cache.
        for address in addresses.iter().chain(&addresses) {
            assert_eq!(
                cache.lookup(*address).unwrap(),
                db.lookup(*address).unwrap(),
                "{name}: {address}"
            );
        }
        let stats = cache.stats();
        assert!(stats.hits > stats.misses, "{name}: {stats:?}");
    }
}

#[test]
fn the_network_cache_stays_within_its_bound() {
    let db = open("geoip2.mmdb");
    // Room for a few networks.
    let bound = 16 * 64;
    let cache = GeoCache::new(open("geoip2.mmdb"), bound);
    assert!(cache.capacity_bytes() <= bound);
    // Many more /24s and /48s than that, in and out of the networks.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for i in 0..5_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let address = match i % 4 {
            0 => IpAddr::V4(std::net::Ipv4Addr::from_bits((state >> 32) as u32)),
            1 => ip(&format!("192.0.2.{}", state >> 56)),
            2 => ip(&format!("2001:db8:{:x}::{:x}", (state >> 62), state >> 48)),
            _ => IpAddr::V6(std::net::Ipv6Addr::from_bits(u128::from(state) << 64)),
        };
        assert_eq!(
            cache.lookup(address).unwrap(),
            db.lookup(address).unwrap(),
            "{address}"
        );
    }
    let stats = cache.stats();
    assert!(stats.bytes <= bound, "{stats:?}");
    assert!(stats.entries > 0, "{stats:?}");
    assert!(stats.hits > 0, "{stats:?}");
}

#[test]
fn the_two_networks_of_a_split_prefix_are_kept_side_by_side() {
    // 192.0.2.0/25 is DE and 192.0.2.128/25 FR: one /24, so one set.
    let cache = GeoCache::new(open("geoip2.mmdb"), DEFAULT_NETWORKS_CAPACITY_BYTES);
    for _ in 0..10 {
        assert_eq!(cache.lookup(ip("192.0.2.1")).unwrap().country(), Some("DE"));
        assert_eq!(
            cache.lookup(ip("192.0.2.200")).unwrap().country(),
            Some("FR")
        );
    }
    let stats = cache.stats();
    // Each network was looked up in the database once, not once a turn.
    assert_eq!((stats.misses, stats.hits, stats.entries), (2, 18, 2));
}

#[test]
fn each_thread_has_a_table_of_its_own_and_the_stats_count_them_all() {
    let db = open("geoip2.mmdb");
    let cache = GeoCache::new(open("geoip2.mmdb"), DEFAULT_NETWORKS_CAPACITY_BYTES);
    // 16,384 sets of four 16-byte answers: the default's table, as its
    // docs say.
    assert_eq!(cache.capacity_bytes(), 1 << 20);
    let addresses = addresses_across_boundaries();
    let both = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for address in addresses.iter().chain(&addresses) {
                    assert_eq!(
                        cache.lookup(*address).unwrap(),
                        db.lookup(*address).unwrap()
                    );
                }
                // Both threads alive at once: a thread that has ended
                // leaves its table to the next one.
                both.wait();
            });
        }
    });
    let stats = cache.stats();
    assert_eq!(stats.hits + stats.misses, 4 * addresses.len() as u64);
    // Each thread answered most of its second pass from its own table.
    assert!(stats.hits > stats.misses, "{stats:?}");
    assert_eq!(stats.bytes, 2 * cache.capacity_bytes());
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let path = databases().join("no-such.mmdb");
    let message = GeoIp::open(&path).unwrap_err().to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("cannot be read"), "{message}");
}

#[test]
fn a_file_that_is_no_database_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.mmdb", Vec::new()),
        ("text.mmdb", b"country,code\nDE,192.0.2.0/25\n".repeat(100)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let message = GeoIp::open(&path).unwrap_err().to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("not a valid MaxMind DB"), "{message}");
    }
}

#[test]
fn a_damaged_database_fails_lookups_one_by_one_without_panicking() {
    let good = std::fs::read(databases().join("geoip2.mmdb")).unwrap();
    // Every byte of the search tree and data section overwritten in turn
    // (the metadata at the end kept, so that the file still opens).
    let metadata = good
        .windows(14)
        .rposition(|w| w == b"\xAB\xCD\xEFMaxMind.com")
        .unwrap();
    let mut opened = 0;
    for at in (0..metadata).step_by(7) {
        let mut bad = good.clone();
        bad[at] ^= 0xFF;
        let Ok(db) = GeoIp::from_bytes("damaged.mmdb", bad) else {
            continue;
        };
        opened += 1;
        for address in [
            "192.0.2.1",
            "192.0.2.200",
            "198.51.100.7",
            "2001:db8:1::1",
            "203.0.113.5",
        ] {
            // Ok or Err, never a panic.
            let _ = db.lookup(ip(address));
        }
    }
    assert!(opened > 0);
}
