"""Writes the small MaxMind DB files the GeoIP tests read, with mmdb-writer.

    python make_geoip_dbs.py OUT_DIR

- geoip2.mmdb: GeoIP2/GeoLite2/DB-IP records, `country.iso_code` and
  `autonomous_system_number`, IPv6 tree with IPv4 inside;
- ip-location-db.mmdb: ip-location-db's records, `country_code` alone,
  IPv4 only.

Both hold the same networks, among them a /24 split between two countries,
so that a lookup after truncation would be wrong for half of it:

    192.0.2.0/25      DE  AS64500
    192.0.2.128/25    FR  AS64501
    198.51.100.0/24   US  AS64502
    2001:db8:1::/48   JP  AS64503   (geoip2.mmdb only)

203.0.113.0/24 and 2001:db8:2::/48 are in neither.
"""

import sys
from pathlib import Path

from mmdb_writer import MMDBWriter, MmdbU32
from netaddr import IPSet

NETWORKS = [
    ("192.0.2.0/25", "DE", 64500),
    ("192.0.2.128/25", "FR", 64501),
    ("198.51.100.0/24", "US", 64502),
    ("2001:db8:1::/48", "JP", 64503),
]


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    geoip2 = MMDBWriter(ip_version=6, database_type="cflog-test-Country-ASN", languages=["en"],
                        description="cflog test GeoIP2-shaped database", ipv4_compatible=True)
    for network, country, asn in NETWORKS:
        geoip2.insert_network(IPSet([network]), {
            "country": {"iso_code": country, "names": {"en": country}},
            "autonomous_system_number": MmdbU32(asn),
        })
    geoip2.to_db_file(str(out / "geoip2.mmdb"))

    location = MMDBWriter(ip_version=4, database_type="ip-location-db-country",
                          description="cflog test ip-location-db-shaped database")
    for network, country, _ in NETWORKS:
        if ":" not in network:
            location.insert_network(IPSet([network]), {"country_code": country})
    location.to_db_file(str(out / "ip-location-db.mmdb"))


if __name__ == "__main__":
    main(sys.argv[1])
