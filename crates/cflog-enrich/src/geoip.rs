//! Countries and networks from a MaxMind DB file, for logs that lack
//! CloudFront's own `c-country` and `asn`.
//!
//! [`GeoIp`] reads the two record shapes in common use:
//!
//! - GeoIP2, GeoLite2 and DB-IP: `country.iso_code`, and
//!   `autonomous_system_number` in the ASN editions;
//! - ip-location-db (the npm `@ip-location-db/*-mmdb` packages, DB-IP Lite
//!   among them): `country_code`, and `autonomous_system_number`.
//!
//! A file that is missing, unreadable or not a MaxMind DB is an error when
//! it is opened, naming the file ([`GeoIpError`]); a lookup never panics,
//! and a record that cannot be read is `Err` for that address alone.
//!
//! DB-IP's free databases are licensed CC BY 4.0: an output that shows
//! countries from them credits "IP Geolocation by DB-IP"
//! (<https://db-ip.com>).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{MaxMindDbError, Reader};
use serde::Deserialize;

mod networks;

use networks::Network;
pub use networks::{DEFAULT_NETWORKS_CAPACITY_BYTES, GeoCache};

/// An opened database.
///
/// ```no_run
/// use cflog_enrich::geoip::GeoIp;
///
/// let db = GeoIp::open("dbip-country.mmdb")?;
/// let geo = db.lookup("192.0.2.1".parse()?)?;
/// println!("{:?} {:?}", geo.country(), geo.asn);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
    source: PathBuf,
    size_bytes: usize,
}

/// What the database says about one address; `None` where it says nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geo {
    country: Option<[u8; 2]>,
    /// The autonomous system number, where the database has them.
    pub asn: Option<u32>,
}

impl Geo {
    /// The ISO 3166-1 alpha-2 country code, upper case, as `c_country` holds it.
    pub fn country(&self) -> Option<&str> {
        self.country
            .as_ref()
            .and_then(|code| std::str::from_utf8(code).ok())
    }
}

/// Opening a database failed; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("GeoIP database {}: {problem}", .source_name.display())]
pub struct GeoIpError {
    source_name: PathBuf,
    problem: Problem,
}

impl GeoIpError {
    /// The file (or object) that was being opened.
    pub fn path(&self) -> &Path {
        &self.source_name
    }
}

/// Why a database could not be opened.
#[derive(Debug)]
enum Problem {
    Read(std::io::Error),
    Format(MaxMindDbError),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Read(error) => write!(f, "cannot be read: {error}"),
            Problem::Format(error) => write!(f, "is not a valid MaxMind DB: {error}"),
        }
    }
}

/// Both record shapes at once: serde fills whichever fields the record has.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<CountryRecord<'a>>,
    country_code: Option<&'a str>,
    autonomous_system_number: Option<u32>,
}

#[derive(Deserialize)]
struct CountryRecord<'a> {
    iso_code: Option<&'a str>,
}

impl GeoIp {
    /// Reads the whole file into memory and checks that it is a MaxMind DB.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GeoIpError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|error| GeoIpError {
            source_name: path.to_owned(),
            problem: Problem::Read(error),
        })?;
        Self::from_bytes(path, bytes)
    }

    /// A database already in memory (an S3 object, say); `name` is what
    /// errors call it.
    pub fn from_bytes(name: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Self, GeoIpError> {
        let source = name.into();
        let fail = |problem| GeoIpError {
            source_name: source.clone(),
            problem,
        };
        let size_bytes = bytes.len();
        let reader = Reader::from_source(bytes).map_err(|e| fail(Problem::Format(e)))?;
        Ok(GeoIp {
            reader,
            source,
            size_bytes,
        })
    }

    /// The file it was opened from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The database's type as its metadata gives it, e.g. `DBIP-Country-Lite`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Whether its records hold AS numbers, by its type: GeoLite2-ASN,
    /// GeoIP2-ISP, DBIP-ASN-Lite, ip-location-db's `asn`, or any type
    /// naming `ASN`.
    pub fn has_asns(&self) -> bool {
        let kind = self.database_type().to_ascii_lowercase();
        ["asn", "isp", "enterprise"]
            .iter()
            .any(|word| kind.contains(word))
    }

    /// The bytes the database holds in memory: the file is read whole.
    pub fn size_bytes(&self) -> usize {
        self.size_bytes
    }

    /// The country and AS number of `address`. An IPv4-mapped IPv6 address
    /// is looked up as the IPv4 address it holds: databases keep IPv4 under
    /// `::/96`, and only some alias `::ffff:0:0/96` to it. Any other IPv6
    /// address in an IPv4-only database is found nowhere.
    pub fn lookup(&self, address: IpAddr) -> Result<Geo, MaxMindDbError> {
        match self.searched(address) {
            Some(address) => self.lookup_searched(address).map(|(geo, _)| geo),
            None => Ok(Geo::default()),
        }
    }

    /// The address [`lookup`](GeoIp::lookup) searches the database for:
    /// an IPv4-mapped address as IPv4; `None` for one found nowhere.
    fn searched(&self, address: IpAddr) -> Option<IpAddr> {
        match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Some(IpAddr::V4(v4)),
                None if self.reader.metadata().ip_version == 4 => None,
                None => Some(IpAddr::V6(v6)),
            },
            v4 => Some(v4),
        }
    }

    /// The answer for a [`searched`](GeoIp::searched) address, and the
    /// network of the database's search tree it holds for: every address
    /// in it has the same. No network when the tree's is of the other IP
    /// version (an IPv4 address in a database without IPv4 networks).
    fn lookup_searched(&self, address: IpAddr) -> Result<(Geo, Option<Network>), MaxMindDbError> {
        let found = self.reader.lookup(address)?;
        // A network that cannot be told keeps the answer out of a cache,
        // not out of the output.
        let network = found
            .network()
            .ok()
            .and_then(|network| Network::new(network.ip(), network.prefix()))
            .filter(|network| network.contains(address));
        let Some(record) = found.decode::<Record<'_>>()? else {
            return Ok((Geo::default(), network));
        };
        let code = record
            .country
            .and_then(|country| country.iso_code)
            .or(record.country_code);
        let geo = Geo {
            country: code.and_then(country_code),
            asn: record.autonomous_system_number,
        };
        Ok((geo, network))
    }
}

/// Two ASCII letters, upper-cased; anything else (a database's `ZZ` is
/// kept, an empty or long code is not) is no country.
fn country_code(code: &str) -> Option<[u8; 2]> {
    match code.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoIp")
            .field("source", &self.source)
            .field("database_type", &self.database_type())
            .finish()
    }
}
