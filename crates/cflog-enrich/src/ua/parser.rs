//! One user agent in, an [`Agent`] out.

use std::borrow::Cow;

use cflog_core::escape::{decode, decode_legacy_double};
use woothee::parser::{Parser as Woothee, WootheeResult};
use woothee::woothee::VALUE_UNKNOWN;

use super::agent::{Agent, Device};
use super::bots::BotRule;

/// Parses user agents: woothee's rules for the name, version, OS and device
/// class, and the [bot rule](super::bots) for `is_bot`.
///
/// Compiling the rules takes a few milliseconds (woothee's on first use);
/// make one parser and keep it.
///
/// ```
/// use cflog_enrich::ua::{AgentParser, Device};
///
/// let parser = AgentParser::new();
/// let agent = parser.parse("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1");
/// assert_eq!(agent.name.as_deref(), Some("Safari"));
/// assert_eq!(agent.version.as_deref(), Some("17.5"));
/// assert_eq!(agent.device, Device::Tablet);
/// assert!(!agent.is_bot);
///
/// let curl = parser.parse("curl/8.5.0");
/// assert_eq!((curl.name.as_deref(), curl.version.as_deref()), (Some("curl"), Some("8.5.0")));
/// assert_eq!(curl.device, Device::Bot);
/// ```
#[derive(Default)]
pub struct AgentParser {
    woothee: Woothee,
    bots: BotRule,
}

impl AgentParser {
    /// Compiles the bot rule.
    pub fn new() -> Self {
        AgentParser {
            woothee: Woothee::new(),
            bots: BotRule::new(),
        }
    }

    /// Parses a `cs(User-Agent)` as CloudFront logs it: percent-encoded
    /// once. Bytes that are not UTF-8 after decoding are read lossily.
    pub fn parse_logged(&self, logged: &[u8]) -> Agent {
        self.parse(&String::from_utf8_lossy(&decode(logged)))
    }

    /// Parses a `cs(User-Agent)` from a file of about 2013 to 2019, which
    /// CloudFront percent-encoded twice (`%2520` for a space).
    pub fn parse_legacy_logged(&self, logged: &[u8]) -> Agent {
        self.parse(&String::from_utf8_lossy(&decode_legacy_double(logged)))
    }

    /// Parses a decoded user agent.
    pub fn parse(&self, agent: &str) -> Agent {
        let agent = agent.trim();
        let found = self.woothee.parse(agent);
        let crawler = found.as_ref().is_some_and(|w| w.category == "crawler");
        let is_bot = crawler || self.bots.matches(agent);
        // A bot's own product token names it best (`facebookexternalhit`
        // where woothee says `facebook`); woothee's name is the fallback.
        let (name, version) = match is_bot.then(|| bot_product(agent)).flatten() {
            Some((name, version)) => (Some(name), version),
            None => woothee_name(found.as_ref()),
        };
        let device = if is_bot {
            Device::Bot
        } else {
            found
                .as_ref()
                .map_or(Device::Other, |w| device_class(w, agent))
        };
        let (os, os_version) = found
            .as_ref()
            .map_or((None, None), |w| (known(w.os), known(&w.os_version)));
        Agent {
            name: name.map(Into::into),
            version: version.map(Into::into),
            os: os.map(Into::into),
            os_version: os_version.map(Into::into),
            device,
            is_bot,
        }
    }
}

impl std::fmt::Debug for AgentParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentParser").finish_non_exhaustive()
    }
}

/// woothee's names of classes, not of clients.
const GENERIC: [&str; 4] = ["misc crawler", "HTTP Library", "RSSReader", VALUE_UNKNOWN];

/// woothee's name and version, where it knows them.
fn woothee_name<'a>(found: Option<&WootheeResult<'a>>) -> (Option<&'a str>, Option<&'a str>) {
    found
        .filter(|w| !GENERIC.contains(&w.name))
        .map_or((None, None), |w| (known(w.name), known(w.version)))
}

/// A woothee value, unless it is its "unknown" marker or empty.
fn known(value: &str) -> Option<&str> {
    (!value.is_empty() && value != VALUE_UNKNOWN).then_some(value)
}

/// The class of a non-bot agent. woothee has no tablets: it calls iPads and
/// Android tablets smartphones, so the markers tablets send decide.
fn device_class(found: &WootheeResult<'_>, agent: &str) -> Device {
    match found.category {
        "pc" => Device::Desktop,
        "smartphone" if is_tablet(agent) => Device::Tablet,
        "smartphone" | "mobilephone" => Device::Phone,
        _ => Device::Other,
    }
}

/// iPads, Kindles and Android devices without `Mobile` (Google's rule for
/// telling Android tablets from phones), and anything saying `Tablet`.
fn is_tablet(agent: &str) -> bool {
    agent.contains("iPad")
        || agent.contains("Tablet")
        || agent.contains("Kindle")
        || agent.contains("Silk/")
        || (agent.contains("Android") && !agent.contains("Mobile"))
}

/// The product a bot names itself by, and its version: the name after
/// `compatible;` (`Googlebot/2.1`, `GPTBot/1.2`), else the first product
/// token whose name says what it is (`HeadlessChrome/…`,
/// `Slackbot-LinkExpanding …`), else the first product token with a version
/// that no browser sends (`curl/8.5.0`, `PhantomJS/2.1.1`), else the first
/// bare word that is not a browser's (`Ruby`).
fn bot_product(agent: &str) -> Option<(&str, Option<&str>)> {
    if let Some(product) = after_compatible(agent) {
        return Some(product);
    }
    let own = |(name, _): &(&str, Option<&str>)| !BROWSER_TOKENS.contains(name);
    products(agent)
        .find(|(name, _)| says_bot(name))
        .or_else(|| {
            products(agent)
                .filter(own)
                .find(|(_, version)| version.is_some())
        })
        .or_else(|| products(agent).find(own))
}

/// Product tokens every browser-like agent carries, which name no bot.
const BROWSER_TOKENS: [&str; 9] = [
    "Mozilla",
    "AppleWebKit",
    "KHTML",
    "like",
    "Gecko",
    "Safari",
    "Chrome",
    "Version",
    "Mobile",
];

/// The product after `compatible;` in a comment, unless it is MSIE's or
/// `Mozilla/5.0` (as in `LinkedInBot/1.0 (compatible; Mozilla/5.0; …)`).
fn after_compatible(agent: &str) -> Option<(&str, Option<&str>)> {
    let at = agent.find("compatible;")?;
    let rest = agent[at + "compatible;".len()..].trim_start();
    let end = rest.find([';', ')']).unwrap_or(rest.len());
    let product = split_product(rest[..end].trim())?;
    (!product.0.starts_with("MSIE") && product.0 != "Mozilla").then_some(product)
}

/// The `name/version` tokens of an agent, comments included, in order.
fn products(agent: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    agent
        .split([' ', ';', '(', ')', ','])
        .filter_map(split_product)
}

/// `name/version` or a bare `name` (letters first), as a pair.
fn split_product(token: &str) -> Option<(&str, Option<&str>)> {
    let (name, version) = match token.split_once('/') {
        Some((name, version)) => (name, Some(version).filter(|v| !v.is_empty())),
        None => (token, None),
    };
    // A URL or a `+http://…` contact is no product.
    let plausible = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with(':')
        && !name.contains("://");
    plausible.then_some((name, version))
}

/// Whether a product name says it is automated.
fn says_bot(name: &str) -> bool {
    let name: Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    };
    [
        "bot",
        "crawl",
        "spider",
        "headless",
        "lighthouse",
        "preview",
        "fetch",
        "check",
        "probe",
        "monitor",
        "expanding",
    ]
    .iter()
    .any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_skip_urls_and_keep_versions() {
        let agent = "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)";
        assert_eq!(after_compatible(agent), Some(("UptimeRobot", Some("2.0"))));
        let tokens: Vec<_> =
            products("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)")
                .collect();
        assert_eq!(tokens, [("facebookexternalhit", Some("1.1"))]);
    }

    #[test]
    fn msie_compatible_is_no_bot_name() {
        assert_eq!(
            after_compatible("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"),
            None
        );
    }
}
