//! The bot rule: which agents `is_bot` marks as automated.
//!
//! An agent is a bot when **any** of these holds, each matched
//! case-insensitively **anywhere** in the decoded agent, so that a crawler
//! dressed as a browser (Googlebot's smartphone agent is Chrome on Android
//! plus `compatible; Googlebot/2.1`) is still caught:
//!
//! 1. woothee classes it as a crawler (its curated list: Googlebot,
//!    bingbot, Baiduspider, Yahoo! Slurp…);
//! 2. it matches one of the 348 patterns of the `isbot` crate: search
//!    crawlers, previewers, feed readers, uptime monitors, SEO tools,
//!    headless Chrome, and HTTP libraries and command-line tools (`curl`,
//!    `Wget`, `python-requests`, `Go-http-client`, `okhttp`, `Java/`…);
//! 3. it matches one of [`EXTRA_PATTERNS`]: what that list lacks, mostly AI
//!    crawlers and assistants that carry no `bot` in their names
//!    (`ChatGPT-User`, `meta-externalagent`, `anthropic-ai`), load balancer
//!    and orchestrator health checks, browser automation, and more HTTP
//!    libraries.
//!
//! An agent-less request (`-`) gets no agent at all: the caller writes
//! nulls, not a guess.
//!
//! ```
//! use cflog_enrich::ua::bots::BotRule;
//!
//! let rule = BotRule::new();
//! assert!(rule.matches("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.139 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));
//! assert!(rule.matches("ELB-HealthChecker/2.0"));
//! assert!(rule.matches("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot)"));
//! assert!(!rule.matches("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"));
//! ```

/// What cflog adds to the `isbot` patterns: regular expressions over the
/// lowercased agent.
pub const EXTRA_PATTERNS: &[&str] = &[
    // AI crawlers, assistants and their fetchers.
    "chatgpt-user",
    "oai-searchbot",
    "anthropic-ai",
    "claude-(user|web|searchbot)",
    "cohere-ai",
    "perplexity-user",
    "mistralai-user",
    "meta-external(agent|fetcher)",
    "google-cloudvertexbot",
    "bytespider",
    "diffbot",
    // Link previewers that say neither bot nor preview.
    "bluesky cardyb",
    "iframely",
    "embedly",
    "vercel-screenshot",
    // Health checks and monitors.
    "elb-healthchecker",
    "route53-health-check",
    "kube-probe",
    "health-?check",
    "googlehc/",
    "betteruptime",
    "updown\\.io",
    "hetrixtools",
    "nagios",
    "prometheus/",
    "blackbox-exporter",
    // Browser automation.
    "headless",
    "puppeteer",
    "playwright",
    "selenium",
    "webdriver",
    "lighthouse",
    // HTTP libraries, command-line and load-testing tools.
    "libcurl",
    "^httpie/",
    "^python/",
    "^python-",
    "^undici",
    "^got ",
    "^node$",
    "^ruby",
    "^faraday",
    "^rest-client",
    "^reqwest",
    "^hyper/",
    "^powershell",
    "windowspowershell",
    "^winhttp",
    "^k6/",
    "jmeter",
    "^wrk",
    "^hey/",
    "^insomnia",
    "^aws-sdk-",
    "^boto",
    "^botocore",
];

/// The compiled bot rule ([module docs](self)), less woothee's part, which
/// [`AgentParser`](super::AgentParser) adds.
#[derive(Debug)]
pub struct BotRule {
    patterns: isbot::Bots,
}

impl BotRule {
    /// Compiles the `isbot` patterns and [`EXTRA_PATTERNS`] into one regex.
    pub fn new() -> Self {
        let mut patterns = isbot::Bots::default();
        patterns.append(EXTRA_PATTERNS);
        BotRule { patterns }
    }

    /// Whether `agent` (decoded) matches any pattern.
    pub fn matches(&self, agent: &str) -> bool {
        self.patterns.is_bot(agent)
    }
}

impl Default for BotRule {
    fn default() -> Self {
        Self::new()
    }
}
