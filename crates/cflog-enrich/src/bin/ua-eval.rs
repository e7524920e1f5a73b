//! The user agent measurement behind cflog-enrich's choice (BENCHMARKS.md,
//! "User agents"): woothee, ua-parser (the uap-core regexes) and isbot,
//! alone and as cflog combines them, on real agents from pinned packages.
//!
//! ```text
//! scripts/fetch-ua-corpus
//! cargo run --release -p cflog-enrich --features ua-eval --bin ua-eval [target/ua-corpus]
//! ```
//!
//! Ground truth comes from the packages, not from any parser: agents of
//! `user-agents` (real browser sessions, with their device class) and
//! `top-user-agents` (split into desktop and mobile) are people; the
//! `instances` of `crawler-user-agents` are bots. Names have no independent
//! label, so the report gives how often the parsers agree, with the
//! disagreements printed for a reader to judge. Speed is the mean over
//! every distinct agent, parsed repeatedly in one process.
//!
//! Two more figures, when asked for:
//! - `UA_EVAL_DRAWS=FILE`, one agent per line (e.g. a million draws of
//!   `scripts/ua_corpus.py`'s pool): the cache's hit rate and bytes at its
//!   default bound, and the time per line through it;
//! - `UA_EVAL_GEOIP=FILE.mmdb`: the database's load time and size, and the
//!   time per lookup.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use cflog_enrich::geoip::GeoIp;
use cflog_enrich::ua::{AgentCache, AgentParser, DEFAULT_CAPACITY_BYTES, Device};
use serde_json::Value;

/// A candidate's verdict on one agent.
type Candidate<'a> = Box<dyn Fn(&str) -> Verdict + 'a>;

/// One labelled agent.
struct Labelled {
    agent: String,
    bot: bool,
    /// The device class the data gives, for people.
    device: Option<Device>,
}

/// What one candidate says of an agent.
#[derive(Clone, Debug, Default, PartialEq)]
struct Verdict {
    name: Option<String>,
    device: Option<Device>,
    bot: Option<bool>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir: PathBuf = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/ua-corpus"), PathBuf::from);
    let corpus = load(&dir)?;
    let people = corpus.iter().filter(|l| !l.bot).count();
    println!(
        "corpus: {} distinct agents ({} people, {} bots)",
        corpus.len(),
        people,
        corpus.len() - people
    );

    let regexes = std::fs::read_to_string(dir.join("uap-core/regexes.yaml"))?;
    let began = Instant::now();
    let uap =
        ua_parser::Extractor::try_from(serde_yaml::from_str::<ua_parser::Regexes>(&regexes)?)?;
    let uap_init = began.elapsed();
    let began = Instant::now();
    let woothee = woothee::parser::Parser::new();
    // woothee compiles its regexes on first use.
    let _ = woothee.parse("Mozilla/5.0");
    let woothee_init = began.elapsed();
    let began = Instant::now();
    let isbot = isbot::Bots::default();
    let isbot_init = began.elapsed();
    let began = Instant::now();
    let cflog = AgentParser::new();
    let _ = cflog.parse("Mozilla/5.0");
    let cflog_init = began.elapsed();

    let candidates: Vec<(&str, Duration, Candidate<'_>)> = vec![
        (
            "woothee 0.13",
            woothee_init,
            Box::new(|ua| by_woothee(&woothee, ua)),
        ),
        (
            "ua-parser 0.2 (uap-core 0.18.0)",
            uap_init,
            Box::new(|ua| by_uap(&uap, ua)),
        ),
        (
            "isbot 0.1 (is_bot only)",
            isbot_init,
            Box::new(|ua| Verdict {
                bot: Some(isbot.is_bot(ua)),
                ..Verdict::default()
            }),
        ),
        (
            "cflog: woothee + isbot + extras",
            cflog_init,
            Box::new(|ua| {
                let agent = cflog.parse(ua);
                Verdict {
                    name: agent.name.map(Into::into),
                    device: Some(agent.device),
                    bot: Some(agent.is_bot),
                }
            }),
        ),
    ];

    println!();
    println!(
        "| candidate | init | µs/agent, people | µs/agent, bots | bots caught | people called bots | device right (people) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut verdicts = Vec::new();
    for (name, init, parse) in &candidates {
        let (humans, robots): (Vec<&Labelled>, Vec<&Labelled>) =
            corpus.iter().partition(|l| !l.bot);
        let per_person = time_per_agent(&humans, parse);
        let per_bot = time_per_agent(&robots, parse);
        let all: Vec<Verdict> = corpus.iter().map(|l| parse(&l.agent)).collect();
        let (mut caught, mut bots, mut false_bots, mut device_right, mut with_device) =
            (0, 0, 0, 0, 0);
        for (labelled, verdict) in corpus.iter().zip(&all) {
            if labelled.bot {
                bots += 1;
                caught += usize::from(verdict.bot == Some(true));
            } else {
                false_bots += usize::from(verdict.bot == Some(true));
            }
            if let (Some(truth), Some(said)) = (labelled.device, verdict.device) {
                with_device += 1;
                device_right += usize::from(truth == said);
            }
        }
        println!(
            "| {name} | {:.1} ms | {:.2} | {:.2} | {} | {} | {} |",
            init.as_secs_f64() * 1e3,
            per_person.as_secs_f64() * 1e6,
            per_bot.as_secs_f64() * 1e6,
            share(caught, bots),
            share(false_bots, people),
            if with_device == 0 {
                "–".into()
            } else {
                share(device_right, with_device)
            },
        );
        verdicts.push(all);
    }

    // Names: woothee against ua-parser on people, the family each gives.
    let (mut agree, mut both) = (0, 0);
    let mut differ: BTreeMap<(String, String), usize> = BTreeMap::new();
    for ((labelled, w), u) in corpus.iter().zip(&verdicts[0]).zip(&verdicts[1]) {
        if labelled.bot {
            continue;
        }
        both += 1;
        let (w, u) = (
            w.name.clone().unwrap_or_default(),
            u.name.clone().unwrap_or_default(),
        );
        if same_family(&w, &u) {
            agree += 1;
        } else {
            *differ.entry((w, u)).or_default() += 1;
        }
    }
    println!();
    println!(
        "names of people: woothee and ua-parser agree on {}",
        share(agree, both)
    );
    let mut differ: Vec<_> = differ.into_iter().collect();
    differ.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for ((w, u), n) in differ.iter().take(12) {
        println!("  {n:4}  woothee {w:?}  ua-parser {u:?}");
    }

    // What each misses, for the record.
    for (index, (name, _, _)) in candidates.iter().enumerate().skip(1) {
        let missed: BTreeSet<&str> = corpus
            .iter()
            .zip(&verdicts[index])
            .filter(|(l, v)| l.bot && v.bot == Some(false))
            .map(|(l, _)| l.agent.as_str())
            .collect();
        let wrong: BTreeSet<&str> = corpus
            .iter()
            .zip(&verdicts[index])
            .filter(|(l, v)| !l.bot && v.bot == Some(true))
            .map(|(l, _)| l.agent.as_str())
            .collect();
        println!();
        println!("{name}: {} bots missed, e.g.", missed.len());
        for agent in missed.iter().take(8) {
            println!("  {agent}");
        }
        println!("{name}: {} people called bots, e.g.", wrong.len());
        for agent in wrong.iter().take(5) {
            println!("  {agent}");
        }
    }
    if let Some(draws) = std::env::var_os("UA_EVAL_DRAWS") {
        cache_figures(Path::new(&draws))?;
    }
    if let Some(db) = std::env::var_os("UA_EVAL_GEOIP") {
        geoip_figures(Path::new(&db))?;
    }
    let googlebot = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.139 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    println!();
    for (name, _, parse) in &candidates {
        println!("Googlebot smartphone, {name}: {:?}", parse(googlebot));
    }
    Ok(())
}

/// The mean time to parse one agent, over every agent, repeated for at
/// least a second, after one pass to warm the regex engines' caches.
fn time_per_agent(corpus: &[&Labelled], parse: &dyn Fn(&str) -> Verdict) -> Duration {
    for labelled in corpus {
        std::hint::black_box(parse(&labelled.agent));
    }
    let began = Instant::now();
    let mut parsed = 0u32;
    while began.elapsed() < Duration::from_secs(1) {
        for labelled in corpus {
            std::hint::black_box(parse(std::hint::black_box(&labelled.agent)));
        }
        parsed += corpus.len() as u32;
    }
    began.elapsed() / parsed
}

fn share(part: usize, whole: usize) -> String {
    format!(
        "{part}/{whole} ({:.1} %)",
        100.0 * part as f64 / whole.max(1) as f64
    )
}

/// Families named differently by the two rule sets but the same browser.
fn same_family(woothee: &str, uap: &str) -> bool {
    fn alias(name: &str) -> &str {
        match name {
            "Mobile Safari" | "Mobile Safari UI/WKWebView" | "Safari" | "Webview" => "Safari",
            "Chrome Mobile" | "Chrome Mobile iOS" | "Chrome Mobile WebView" | "Chrome" => "Chrome",
            "Firefox Mobile" | "Firefox iOS" | "Firefox" => "Firefox",
            "Edge Mobile" | "Edge" => "Edge",
            "Samsung Internet" | "SamsungBrowser" => "Samsung",
            "Opera Mobile" | "Opera" => "Opera",
            "Yandex Browser" | "YaBrowser" => "Yandex",
            "IE" | "Internet Explorer" => "IE",
            other => other,
        }
    }
    alias(woothee) == alias(uap)
}

fn by_woothee(parser: &woothee::parser::Parser, ua: &str) -> Verdict {
    let Some(found) = parser.parse(ua) else {
        return Verdict {
            bot: Some(false),
            device: Some(Device::Other),
            ..Verdict::default()
        };
    };
    let bot = found.category == "crawler";
    Verdict {
        name: (found.name != "UNKNOWN").then(|| found.name.to_owned()),
        device: Some(match found.category {
            _ if bot => Device::Bot,
            "pc" => Device::Desktop,
            "smartphone" | "mobilephone" => Device::Phone,
            _ => Device::Other,
        }),
        bot: Some(bot),
    }
}

/// uap-core has no device class: a spider is a bot, iPads and families
/// naming tablets are tablets, iOS and Android otherwise phones, desktop
/// systems desktops (the mapping Elastic-style pipelines use).
fn by_uap(extractor: &ua_parser::Extractor<'_>, ua: &str) -> Verdict {
    let (agent, os, device) = extractor.extract(ua);
    let family = device
        .as_ref()
        .map(|d| d.device.to_string())
        .unwrap_or_default();
    let os = os.map(|o| o.os.to_string()).unwrap_or_default();
    let bot = family == "Spider";
    let class = if bot {
        Device::Bot
    } else if family.contains("iPad") || family.contains("Tablet") || family.contains("Kindle") {
        Device::Tablet
    } else if matches!(os.as_str(), "iOS" | "Android") {
        Device::Phone
    } else if matches!(
        os.as_str(),
        "Windows" | "Mac OS X" | "Linux" | "Ubuntu" | "Chrome OS" | "Fedora" | "FreeBSD"
    ) {
        Device::Desktop
    } else {
        Device::Other
    };
    Verdict {
        name: agent.map(|a| a.family.to_string()).filter(|f| f != "Other"),
        device: Some(class),
        bot: Some(bot),
    }
}

/// Every distinct agent of the four packages, labelled.
fn load(dir: &Path) -> Result<Vec<Labelled>, Box<dyn std::error::Error>> {
    let json = |path: &str| -> Result<Value, Box<dyn std::error::Error>> {
        let text = std::fs::read_to_string(dir.join(path)).map_err(|e| {
            format!(
                "{}: {e} (run scripts/fetch-ua-corpus)",
                dir.join(path).display()
            )
        })?;
        Ok(serde_json::from_str(&text)?)
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut push = |agent: &str, bot, device| {
        if seen.insert(agent.to_owned()) {
            out.push(Labelled {
                agent: agent.to_owned(),
                bot,
                device,
            });
        }
    };
    for session in json("user-agents/dist/user-agents.json")?
        .as_array()
        .into_iter()
        .flatten()
    {
        let device = match session["deviceCategory"].as_str() {
            Some("desktop") => Some(Device::Desktop),
            Some("mobile") => Some(Device::Phone),
            Some("tablet") => Some(Device::Tablet),
            _ => None,
        };
        if let Some(agent) = session["userAgent"].as_str() {
            push(agent, false, device);
        }
    }
    for (file, device) in [("desktop", Device::Desktop), ("mobile", Device::Phone)] {
        for agent in json(&format!("top-user-agents/src/{file}.json"))?
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(agent) = agent.as_str() {
                push(agent, false, Some(device));
            }
        }
    }
    for crawler in json("crawler-user-agents/crawler-user-agents.json")?
        .as_array()
        .into_iter()
        .flatten()
    {
        for agent in crawler["instances"].as_array().into_iter().flatten() {
            if let Some(agent) = agent.as_str() {
                push(agent, true, None);
            }
        }
    }
    Ok(out)
}

/// The cache at its default bound on a file of agents, one per line.
fn cache_figures(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let lines: Vec<&str> = text.lines().collect();
    let distinct = lines.iter().collect::<BTreeSet<_>>().len();
    let cache = AgentCache::new(DEFAULT_CAPACITY_BYTES);
    let began = Instant::now();
    let mut bots = 0usize;
    for line in &lines {
        bots += usize::from(cache.parse_logged(line.as_bytes()).is_bot);
    }
    let took = began.elapsed();
    let stats = cache.stats();
    println!();
    println!(
        "cache on {} lines, {distinct} distinct agents, bound {} bytes: hit rate {:.2} %, {} entries in {} bytes, {:.3} µs per line, {:.1} % bots",
        lines.len(),
        DEFAULT_CAPACITY_BYTES,
        100.0 * stats.hit_rate(),
        stats.entries,
        stats.bytes,
        took.as_secs_f64() * 1e6 / lines.len() as f64,
        100.0 * bots as f64 / lines.len() as f64,
    );
    Ok(())
}

/// Load time, size and lookup time of a GeoIP database.
fn geoip_figures(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let began = Instant::now();
    let db = GeoIp::open(path)?;
    let load = began.elapsed();
    // Addresses spread over the whole space, as a CDN's clients are.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let addresses: Vec<IpAddr> = (0..200_000)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if i % 5 == 0 {
                IpAddr::V6(Ipv6Addr::from_bits(
                    (0x2000u128 << 112) | u128::from(state) << 16,
                ))
            } else {
                IpAddr::V4(Ipv4Addr::from_bits(state as u32))
            }
        })
        .collect();
    let began = Instant::now();
    let mut found = 0usize;
    for address in &addresses {
        found += usize::from(db.lookup(*address)?.country().is_some());
    }
    let took = began.elapsed();
    println!();
    println!(
        "GeoIP {} ({}): loaded in {:.1} ms, {} bytes in memory; {:.3} µs per lookup, {:.1} % of addresses with a country",
        path.display(),
        db.database_type(),
        load.as_secs_f64() * 1e3,
        db.size_bytes(),
        took.as_secs_f64() * 1e6 / addresses.len() as f64,
        100.0 * found as f64 / addresses.len() as f64,
    );
    Ok(())
}
